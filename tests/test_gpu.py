"""Every neural estimator trains on a CUDA device, and its pickle loads and
predicts on a CPU-only process. Skipped without a GPU (see conftest.py)."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import OutlierMixin, clone
from sklearn.datasets import make_classification

from skhep_ml._base import BaseNeuralEstimator
from tests.test_common import ESTIMATORS

NEURAL = [e for e in ESTIMATORS if isinstance(e, BaseNeuralEstimator)]

_RELOAD = """
import pickle, sys, numpy as np, torch
assert not torch.cuda.is_available()
model = pickle.loads(open(sys.argv[1], "rb").read())
X, expected = np.load(sys.argv[2]), np.load(sys.argv[3])
out = model.score_samples(X) if hasattr(model, "score_samples") else model.predict_proba(X)
np.testing.assert_allclose(out, expected, atol=1e-4)
print("ok")
"""


@pytest.mark.gpu
@pytest.mark.parametrize("estimator", NEURAL, ids=lambda e: type(e).__name__)
def test_cuda_fit_and_cpu_reload(estimator, tmp_path):
    import torch

    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    # a clone: ESTIMATORS is shared with test_common.py, and fit sets state on it
    est = clone(estimator).set_params(device="cuda", random_state=0)
    if isinstance(est, OutlierMixin):
        est.fit(X)
        out = est.score_samples(X)
    else:
        est.fit(X, y)
        out = est.predict_proba(X)
    assert next(est.net_.module_.parameters()).device.type == "cuda"
    assert all(p.dtype == torch.float32 for p in est.net_.module_.parameters())
    paths = [tmp_path / "model.pkl", tmp_path / "X.npy", tmp_path / "out.npy"]
    paths[0].write_bytes(pickle.dumps(est))
    np.save(paths[1], X)
    np.save(paths[2], out)
    run = subprocess.run(
        [sys.executable, "-c", _RELOAD, *map(str, paths)],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
    )
    assert run.stdout.strip().endswith("ok"), run.stderr[-3000:]
