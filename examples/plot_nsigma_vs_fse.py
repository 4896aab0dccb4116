"""
nσ selection versus FSE: purity and efficiency versus pT
========================================================

The standard ALICE particle identification cuts on the number of standard
deviations (nσ) of the TPC and TOF signals from the expected value of each
species. :class:`~skhep_ml.NSigmaClassifier` is this selection as a
scikit-learn classifier (nothing is learned). Here it is compared with a
(briefly trained) :class:`~skhep_ml.FSEAttentionClassifier` on the kaon
purity and efficiency in bins of transverse momentum, drawn with
:class:`~skhep_ml.plotting.PurityEfficiencyDisplay`.
"""

# %%
# Data and the two classifiers
# ----------------------------
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from skhep_ml import FSEAttentionClassifier, NSigmaClassifier
from skhep_ml.datasets import make_pid_tracks
from skhep_ml.plotting import PurityEfficiencyDisplay

tracks = make_pid_tracks(4000, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    tracks.data, tracks.target, test_size=0.5, random_state=0
)

# The nσ defaults match the columns of make_pid_tracks; it has no electron
# columns, so fit warns that electrons are never predicted.
nsigma = NSigmaClassifier(cut=3.0).fit(X_train, y_train)
fse = FSEAttentionClassifier(max_epochs=5, batch_size=128, lr=3e-3, random_state=0)
fse.fit(X_train, y_train)

# %%
# Positive kaons (PDG 321) versus pT
# ----------------------------------
# Purity is the fraction of tracks selected as K⁺ that are K⁺; efficiency the
# fraction of K⁺ that are selected. The error bars are binomial.
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, (name, clf) in zip(axes, [("nσ < 3", nsigma), ("FSE", fse)]):
    PurityEfficiencyDisplay.from_estimator(
        clf,
        X_test,
        y_test,
        variable="pt",
        bins=6,
        range=(0.2, 3.0),
        pos_label=321,
        name=name,
        xlabel="$p_T$ [GeV]",
        ax=ax,
    )
    ax.set_title(name)
plt.tight_layout()

# %%
# The nσ selection is pure where the TPC separates kaons from pions (low pT)
# and where TOF is present; the network combines all signals, including the
# ones the nσ selection does not use (ITS, TRD, DCA), and deals with a missing
# TOF signal without a separate selection branch. With more tracks and epochs
# the FSE curves improve further.
