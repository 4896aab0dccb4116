"""
Reading ROOT files and predicting on a dask cluster
===================================================

Real data come in ROOT files, often more of them than fit in memory. This
example writes simulated ALICE-like tracks to two ROOT files with uproot (a
missing detector signal stored as -999, as in many analysis trees), reads
them back with :func:`skhep_ml.io.read_root` (the -999 becoming ``NaN``) and
chunk by chunk with :func:`skhep_ml.io.iter_root`, trains a
:class:`~skhep_ml.FSEAttentionClassifier`, and predicts on a lazily read dask
DataFrame with dask-ml's ``ParallelPostFit`` on a local dask cluster.
"""

# %%
# Two ROOT files of tracks
# ------------------------
# uproot writes a TTree with ``mktree`` and ``extend``. The label is the
# species (absolute PDG code: 11 e, 211 π, 321 K, 2212 p).
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import uproot

from skhep_ml.datasets import make_pid_tracks

FEATURES = ["pt", "tpc_signal", "its_signal", "tof_beta", "trd_signal"]
folder = Path(tempfile.mkdtemp())
for run, seed in enumerate([0, 1]):
    X, y = make_pid_tracks(3000, random_state=seed, return_X_y=True)
    columns = {name: X[name].fillna(-999).to_numpy(np.float32) for name in FEATURES}
    columns["species"] = y.abs().to_numpy(np.int32)
    with uproot.recreate(folder / f"run{run}.root") as file:
        tree = file.mktree("tracks", {name: values.dtype for name, values in columns.items()})
        tree.extend(columns)
print(sorted(p.name for p in folder.glob("*.root")))

# %%
# Read them into pandas
# ---------------------
# A glob pattern reads every file, in order; ``missing=-999`` turns the
# sentinel into ``NaN``, which the FSE network reads as "this detector saw
# nothing" (no token), not as a value. The index is the entry number across
# the files.
from skhep_ml.io import iter_root, read_root

tracks = read_root(folder / "run*.root", "tracks", missing=-999)
print(tracks.shape)
print(tracks[FEATURES].isna().mean().round(2))  # fraction of missing signals

# %%
# Files larger than memory: ``iter_root`` yields chunks (here of 2000
# entries; a memory size such as ``"100 MB"`` works too), which concatenate to
# the same DataFrame.
sizes = [len(chunk) for chunk in iter_root(folder / "run*.root", "tracks", step_size=2000)]
print(sizes)

# %%
# Train on the first file
# -----------------------
# A small network and a few epochs, to keep the example fast.
from skhep_ml import FSEAttentionClassifier

train = tracks.loc[:2999]
clf = FSEAttentionClassifier(max_epochs=4, batch_size=128, lr=3e-3, random_state=0)
clf.fit(train[FEATURES], train["species"])

# %%
# Predict on a dask cluster
# -------------------------
# ``read_root(..., library="dask")`` opens the files only to count their
# entries; each partition (here 1500 entries) is read, and its -999 replaced,
# on a worker when the result is computed. ``ParallelPostFit`` sends the
# fitted estimator to the workers and predicts partition by partition. Inside
# a worker the estimator runs torch with at most the worker's threads, so
# workers do not compete for the cores. The workers are threads here, to
# keep the example light; a script starting process workers
# (``processes=True``, the default) puts this under
# ``if __name__ == "__main__":``.
from dask.distributed import Client, LocalCluster
from dask_ml.wrappers import ParallelPostFit

with (
    LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster,
    Client(cluster),
):
    lazy = read_root(folder / "run*.root", "tracks", missing=-999, library="dask", step_size=1500)
    print(f"{lazy.npartitions} partitions")
    proba = ParallelPostFit(clf).predict_proba(lazy[FEATURES]).compute()

same = np.abs(proba - clf.predict_proba(tracks[FEATURES])).max()
print(f"largest difference to predict_proba in this process: {same:.1e}")
test = tracks.index >= 3000  # the second file, not seen in training
accuracy = np.mean(clf.classes_[proba[test].argmax(axis=1)] == tracks["species"][test])
print(f"accuracy on the second file: {accuracy:.3f}")

# %%
# The probability of the true species, per species, on the second file:
# electrons and kaons, rare and overlapping with pions at some momenta, are
# the hard ones.
true = tracks["species"].to_numpy()[test]
p_true = proba[test][np.arange(test.sum()), np.searchsorted(clf.classes_, true)]
fig, ax = plt.subplots(figsize=(5, 3.5))
names = {11: "e", 211: "π", 321: "K", 2212: "p"}
for code, name in names.items():
    ax.hist(p_true[true == code], bins=20, range=(0, 1), histtype="step", density=True, label=name)
ax.set_xlabel("predicted probability of the true species")
ax.set_ylabel("density")
ax.legend(title="species")
fig.tight_layout()
plt.show()
