"""
Rare species: a resampling pipeline with imbalanced-learn
=========================================================

Kaons are about 15 % of the tracks of
:func:`~skhep_ml.datasets.make_pid_tracks`. A classifier of kaons versus the
rest can be trained on a balanced sample by undersampling the majority class.
imbalanced-learn's :class:`~imblearn.pipeline.Pipeline` applies the sampler
only in ``fit``, never in ``predict``, so the whole pipeline works with
``cross_val_score`` and ``GridSearchCV`` like any scikit-learn estimator.
"""

# %%
# Kaons versus everything else
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.model_selection import cross_val_score, train_test_split

from skhep_ml import XGBoostBaseline
from skhep_ml.datasets import make_pid_tracks
from skhep_ml.plotting import RejectionCurveDisplay

X, pdg = make_pid_tracks(6000, random_state=0, return_X_y=True)
y = (np.abs(pdg) == 321).astype(int)
print(f"kaon fraction: {y.mean():.3f}")
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Two pipelines
# -------------
# XGBoost handles the missing signals (``NaN``) natively. The resampled
# pipeline trains on as many "rest" tracks as kaons.
xgb = dict(n_estimators=100, n_jobs=1, random_state=0)
plain = XGBoostBaseline(**xgb)
resampled = Pipeline(
    [("undersample", RandomUnderSampler(random_state=0)), ("xgb", XGBoostBaseline(**xgb))]
)
for name, model in [("plain", plain), ("undersampled", resampled)]:
    auc = cross_val_score(model, X_train, y_train, cv=3, scoring="roc_auc")
    print(f"{name:12s} ROC AUC {auc.mean():.3f} ± {auc.std():.3f}")
    model.fit(X_train, y_train)

# %%
# Background rejection
# --------------------
# Undersampling changes the classifier's calibration (its probabilities refer
# to a balanced sample) more than its ranking, so the rejection curves are
# close; it mainly speeds up training on very imbalanced samples.
fig, ax = plt.subplots()
for name, model in [("plain", plain), ("undersampled", resampled)]:
    RejectionCurveDisplay.from_estimator(model, X_test, y_test, name=name, ax=ax)
ax.set_yscale("log")
