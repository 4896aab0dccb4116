"""
Tuning FSE with GridSearchCV
============================

Every skhep_ml estimator is a scikit-learn estimator, so the usual model
selection tools work unchanged. This example tunes two parameters of
:class:`~skhep_ml.FSEAttentionClassifier` with
:class:`~sklearn.model_selection.GridSearchCV` on a tiny grid with two folds,
then draws the learning curve of the best model from its ``history_``.
"""

# %%
# A tiny grid
# -----------
# The grid and the data are small so that the example runs in seconds; the
# parameters are the same as for a real search.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV

from skhep_ml import FSEAttentionClassifier
from skhep_ml.datasets import make_pid_tracks

X, y = make_pid_tracks(1500, random_state=0, return_X_y=True)

search = GridSearchCV(
    FSEAttentionClassifier(max_epochs=3, batch_size=128, random_state=0),
    param_grid={"lr": [1e-3, 5e-3], "d_model": [16, 32]},
    cv=2,
    scoring="accuracy",
)
search.fit(X, y)

results = pd.DataFrame(search.cv_results_)
print(results[["param_lr", "param_d_model", "mean_test_score", "std_test_score"]])
print("best:", search.best_params_)

# %%
# The best model's training history
# ---------------------------------
# ``refit=True`` (the default) retrains the best parameters on all rows;
# ``history_`` holds the per-epoch losses (a skorch History).
best = search.best_estimator_
epochs = best.history_[:, "epoch"]
fig, ax = plt.subplots()
ax.plot(epochs, best.history_[:, "train_loss"], "o-", label="train")
ax.plot(epochs, best.history_[:, "valid_loss"], "s-", label="validation")
ax.set_xlabel("epoch")
ax.set_ylabel("loss")
ax.legend()
