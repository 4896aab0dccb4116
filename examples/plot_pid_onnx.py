"""
Particle identification with missing signals, exported to ONNX
==============================================================

Tracks in ALICE do not all have every detector signal: a track below the TOF
acceptance has no time of flight, and only some tracks reach the TRD. The
:class:`~skhep_ml.FSEAttentionClassifier` (Feature Set Embedding with a
Transformer) treats a missing signal (``NaN``) as an absent token instead of
imputing it. This example trains it on a pandas DataFrame of simulated tracks,
exports it to ONNX with :func:`skhep_ml.export.to_onnx`, and checks that ONNX
Runtime gives the same probabilities as ``predict_proba``.
"""

# %%
# Simulated tracks
# ----------------
# :func:`~skhep_ml.datasets.make_pid_tracks` returns a DataFrame in which
# ``NaN`` means "no signal in this detector". The labels are PDG codes
# (211 = π⁺, -321 = K⁻, ...).
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from sklearn.model_selection import train_test_split

from skhep_ml import FSEAttentionClassifier
from skhep_ml.datasets import make_pid_tracks
from skhep_ml.export import to_onnx
from skhep_ml.metrics import pid_report

tracks = make_pid_tracks(3000, random_state=0)
X, y = tracks.data, tracks.target
print(X.isna().mean().round(2)[lambda s: s > 0])  # fraction of missing signals

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# A few epochs of FSE
# -------------------
# The network is small and trained for a few epochs only, to keep this example
# fast; a real model trains on far more tracks.
clf = FSEAttentionClassifier(max_epochs=4, batch_size=128, lr=3e-3, random_state=0)
clf.fit(X_train, y_train)
print(pid_report(y_test, clf.predict(X_test)))

# %%
# Export to ONNX and check parity
# -------------------------------
# ``layout="single"`` (the default) writes one model with raw float32 features
# (``NaN`` = missing) in and the class probabilities out, plus a JSON file with
# the feature names, classes and F1-optimal thresholds.
workdir = Path(tempfile.mkdtemp())
files = to_onnx(clf, workdir / "fse_pid.onnx")
print([f.name for f in files])

session = ort.InferenceSession(str(files[0]))
p_onnx = session.run(None, {"features": X_test.to_numpy(np.float32)})[0]
p_torch = clf.predict_proba(X_test)
print(f"largest difference ONNX vs predict_proba: {np.abs(p_onnx - p_torch).max():.2e}")

# %%
# Using the model in ALICE O2Physics
# ----------------------------------
# O2Physics evaluates such models in C++ with ONNX Runtime (its
# ``PidONNXModel`` helper). That helper expects one model per species, each
# with a single ``certainty`` output, its inputs standardised with the numbers
# of a ``scaling_params.json`` file, and the list of input columns in
# ``columns_for_training.json``. ``to_onnx(..., layout="o2physics")`` writes
# exactly this layout into a directory, together with ``thresholds.json``
# (the minimal certainty per species). It needs a classifier with
# ``multi_class="ovr"`` (one sigmoid head per species, the default) and
# integer PDG labels, as here.
o2_files = to_onnx(clf, workdir / "o2physics", layout="o2physics")
print(sorted(f.name for f in o2_files))
