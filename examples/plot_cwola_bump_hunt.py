"""
A weakly supervised bump hunt with CWoLa
========================================

Classification Without Labels (CWoLa hunting) looks for a resonance without
a signal model: a classifier learns to tell events in a signal region of the
dijet mass from events in the sidebands. If the signal region contains a
resonance whose jets differ from QCD jets, the classifier finds it, and a cut
on its (out-of-fold) score enhances the bump. :meth:`CWoLaClassifier.bump_hunt
<skhep_ml.CWoLaClassifier.bump_hunt>` repeats this for windows along the mass,
fits the dijet function to the sidebands and computes the local significance;
:class:`~skhep_ml.plotting.BumpHuntDisplay` draws the result.
"""

# %%
# Dijet events with a hidden resonance
# ------------------------------------
# 600 W' → XY events at 3.5 TeV under 20,000 QCD dijets. The truth labels
# ``y`` are only used at the end, to check what the cut kept.
import numpy as np

from skhep_ml import CWoLaClassifier, XGBoostBaseline
from skhep_ml.datasets import make_dijet_resonance
from skhep_ml.plotting import BumpHuntDisplay

X, y = make_dijet_resonance(20_000, 600, mjj_range=(2.8, 4.4), random_state=0)
print(X.head())

# %%
# The scan
# --------
# Small boosted trees and three folds keep the example fast. Three windows of
# two bins each are scanned; each window trains its own classifier on the
# unlabelled events.
cwola = CWoLaClassifier(
    mass="mjj",
    estimator=XGBoostBaseline(n_estimators=30, n_jobs=1),
    n_folds=3,
    random_state=0,
)
bins = np.linspace(2.8, 4.4, 17)
result = cwola.bump_hunt(
    X, (1.0, 0.1, 0.02), bins=bins, windows=[(3.1, 3.3), (3.4, 3.6), (3.7, 3.9)]
)
print(result.table.round(3).to_string())

# %%
# The most significant window after the tightest cut
# --------------------------------------------------
# Points: the events passing the cut; line: the dijet-function fit to the
# sidebands; shaded: the window.
display = BumpHuntDisplay.from_result(result, xlabel="$m_{jj}$ [TeV]")

# %%
# What the cut kept
# -----------------
# The signal fraction of the events passing each cut in the window around the
# true mass (the truth is only used here).
window_clf = result.estimators[1]
for eff in (0.1, 0.02):
    passed = window_clf.select(efficiency=eff)
    print(f"efficiency {eff}: signal fraction {y.mean():.3f} -> {y[passed].mean():.3f}")
