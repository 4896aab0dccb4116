"""
Multimodal input from a DataFrame: the MDA classifier
=====================================================

:class:`~skhep_ml.MDAClassifier` combines several detector modalities of an
AMS-02-like nucleus event, each with its own branch: a graph network over the
tracker hits, a CNN over the calorimeter-like cluster grid and small MLPs for
the rigidity and time-of-flight variables. An attention layer fuses the
branches, and ``fusion_weights`` tells how much each modality counted per
event. Unlabelled "data" rows (``y = -1``) train its domain classifier.
"""

# %%
# Modalities as lists of column names
# -----------------------------------
# :func:`~skhep_ml.datasets.make_multimodal_nuclei` returns labelled
# simulation, mis-modelled data and a ``modalities`` dict mapping each branch
# to its column names. With a DataFrame, ``modalities`` may name the columns
# directly.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skhep_ml import MDAClassifier
from skhep_ml.datasets import make_multimodal_nuclei

d = make_multimodal_nuclei(600, 600, random_state=0)
print({name: len(cols) for name, cols in d.modalities.items()})

X = pd.concat([d.X_mc, d.X_data], ignore_index=True)
y = np.concatenate([d.y_mc, np.full(len(d.X_data), -1)])  # data rows unlabelled

# %%
# Branch types and training
# -------------------------
clf = MDAClassifier(
    modalities=d.modalities,
    branch_types={"tracker_hits": "gnn", "clusters": "cnn"},
    embed_dim=16,
    gnn_hidden=16,
    max_epochs=4,
    random_state=0,
)
clf.fit(X, y)
print(f"accuracy on the data domain: {clf.score(d.X_data, d.y_data):.3f}")

# %%
# Which modality counts
# ---------------------
# ``fusion_weights`` returns, per event, the attention weight of each branch
# (rows sum to one).
w = clf.fusion_weights(d.X_data)
w = pd.DataFrame(np.asarray(w), columns=list(d.modalities))
fig, ax = plt.subplots()
ax.bar(w.columns, w.mean(), yerr=w.std())
ax.set_ylabel("mean fusion weight")
