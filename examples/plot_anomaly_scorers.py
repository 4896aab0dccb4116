"""
Anomaly detection: autoencoder, flow and isolation forest
=========================================================

:class:`~skhep_ml.AutoencoderAnomalyDetector` and
:class:`~skhep_ml.FlowAnomalyDetector` follow scikit-learn's outlier-detector
API (``score_samples``: higher = more normal), like
:class:`~sklearn.ensemble.IsolationForest`. They are trained on unlabelled
events; a small labelled set is only used to evaluate them. The scorers of
:mod:`skhep_ml.metrics` (``get_scorer("anomaly_roc_auc")``,
``anomaly_scorer``) take care of the sign of ``score_samples``, so the same
scorer works for every detector (and in ``GridSearchCV``).
"""

# %%
# Events with a rare anomalous class
# ----------------------------------
# :func:`~skhep_ml.datasets.make_anomaly_events`: charge-confused helium
# backgrounds and 2 % anomalous events (label 1).
import matplotlib.pyplot as plt
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import train_test_split

from skhep_ml import AutoencoderAnomalyDetector, FlowAnomalyDetector
from skhep_ml.datasets import make_anomaly_events
from skhep_ml.metrics import anomaly_score, anomaly_scorer, get_scorer
from skhep_ml.plotting import RejectionCurveDisplay

X, y = make_anomaly_events(6000, contamination=0.02, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

detectors = {
    "autoencoder": AutoencoderAnomalyDetector(max_epochs=20, random_state=0),
    "flow (MAF)": FlowAnomalyDetector(max_epochs=10, random_state=0),
    "isolation forest": IsolationForest(random_state=0),
}
for det in detectors.values():
    det.fit(X_train)  # no labels

# %%
# Scoring with the anomaly scorers
# --------------------------------
roc_auc = get_scorer("anomaly_roc_auc")
rejection = anomaly_scorer("background_rejection", signal_efficiency=0.3)
for name, det in detectors.items():
    print(
        f"{name:17s} AUC = {roc_auc(det, X_test, y_test):.3f}   "
        f"1/ε_B at ε_S = 0.3: {rejection(det, X_test, y_test):.1f}"
    )

# %%
# Rejection curves
# ----------------
# :func:`~skhep_ml.metrics.anomaly_score` turns each detector's output into a
# score in which larger means more anomalous.
fig, ax = plt.subplots()
for name, det in detectors.items():
    RejectionCurveDisplay.from_predictions(y_test, anomaly_score(det, X_test), name=name, ax=ax)
ax.set_yscale("log")
