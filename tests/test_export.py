"""ONNX export of FSEAttentionClassifier: ONNX Runtime agrees with torch."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from skhep_ml import DNNClassifier, FSEAttentionClassifier

ort = pytest.importorskip("onnxruntime")
from skhep_ml.export import to_onnx  # noqa: E402

SMALL = dict(
    d_model=8, embed_hidden=16, dim_feedforward=16, pool_hidden=8, head_hidden=8, n_layers=2
)
NAMES = ["tpc_signal", "its_signal", "tof_beta", "trd_signal", "pt"]
PDG = np.array([211, -211, 321, 2212])


def _tracks(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = PDG[rng.integers(0, 4, n)]
    X = rng.normal(size=(n, 5)) * 50.0 + 100.0 + (y[:, None] % 7) * 20.0
    X[rng.random(X.shape) < 0.3] = np.nan
    return pd.DataFrame(X, columns=NAMES), y


def _every_pattern(seed=1):
    """All 2**5 missingness patterns, including the all-missing row, in one batch."""
    pats = np.array(list(itertools.product([False, True], repeat=5)))
    X = (np.random.default_rng(seed).normal(size=pats.shape) * 50.0 + 100.0).astype(np.float32)
    X[pats] = np.nan
    assert np.isnan(X).all(axis=1).any()
    return X


@pytest.fixture(scope="module", params=["ovr", "softmax"])
def fitted(request):
    X, y = _tracks()
    clf = FSEAttentionClassifier(
        **SMALL, multi_class=request.param, max_epochs=3, lr=1e-2, random_state=0
    )
    return clf.fit(X, y)


def test_onnx_runtime_agrees_with_torch_on_every_pattern(fitted, tmp_path):
    onnx_file, meta_file = to_onnx(fitted, tmp_path / "fse.onnx")
    Xb = _every_pattern()
    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (p_onnx,) = sess.run(None, {"features": Xb})
    p_torch = fitted.predict_proba(pd.DataFrame(Xb, columns=NAMES))
    assert np.isfinite(p_onnx).all()
    assert np.abs(p_onnx - p_torch).max() < 1e-5
    # dynamic batch: one row at a time gives the same answer
    for i in (0, len(Xb) - 1):
        (p1,) = sess.run(None, {"features": Xb[i : i + 1]})
        np.testing.assert_allclose(p1, p_onnx[i : i + 1], atol=1e-6)
    meta = json.loads(meta_file.read_text())
    assert meta["feature_names"] == NAMES
    assert meta["classes"] == sorted(PDG.tolist())
    np.testing.assert_allclose(meta["thresholds"], fitted.thresholds_)


def test_onnx_graph_has_no_nan_reaching_a_matmul(fitted, tmp_path):
    """The IsNaN mask is taken and NaN replaced (Where) before the first MatMul."""
    import onnx

    (onnx_file, _) = to_onnx(fitted, tmp_path / "fse.onnx")
    ops = [n.op_type for n in onnx.load(str(onnx_file)).graph.node]
    assert "IsNaN" in ops
    assert ops.index("Where") < min(ops.index(o) for o in ("MatMul", "Gemm") if o in ops)


def test_o2physics_layout(tmp_path):
    X, y = _tracks()
    clf = FSEAttentionClassifier(**SMALL, max_epochs=2, random_state=0).fit(X, y)
    files = to_onnx(clf, tmp_path / "o2", layout="o2physics")
    names = sorted(f.name for f in files)
    assert names == sorted(
        [
            "attention_model_211.onnx",
            "attention_model_0211.onnx",
            "attention_model_321.onnx",
            "attention_model_2212.onnx",
            "columns_for_training.json",
            "scaling_params.json",
            "thresholds.json",
        ]
    )
    cols = json.loads((tmp_path / "o2" / "columns_for_training.json").read_text())
    assert cols == {"columns_for_training": NAMES}
    scaling = json.loads((tmp_path / "o2" / "scaling_params.json").read_text())["data"]
    mean = np.array([s[1] for s in scaling], dtype=np.float32)
    std = np.array([s[2] for s in scaling], dtype=np.float32)
    # PidONNXModel standardises with scaling_params.json, passes NaN for missing,
    # and reads the first output value, the certainty of its species
    Xb = _every_pattern()
    sess = ort.InferenceSession(str(tmp_path / "o2" / "attention_model_0211.onnx"))
    (cert,) = sess.run(None, {"features": ((Xb - mean) / std).astype(np.float32)})
    k = list(clf.classes_).index(-211)
    expected = clf._certainty(Xb)[:, k]
    assert cert.shape == (len(Xb), 1)
    assert np.abs(cert[:, 0] - expected).max() < 1e-5
    thr = json.loads((tmp_path / "o2" / "thresholds.json").read_text())
    assert thr["-211"] == pytest.approx(clf.thresholds_[k])


def test_refusals(tmp_path):
    X, y = _tracks(n=100)
    with pytest.raises(ValueError, match="FSEAttentionClassifier"):
        to_onnx(DNNClassifier(), tmp_path / "x.onnx")
    soft = FSEAttentionClassifier(**SMALL, multi_class="softmax", max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="ovr"):
        to_onnx(soft, tmp_path / "o2", layout="o2physics")
    with pytest.raises(ValueError, match="layout"):
        to_onnx(soft, tmp_path / "x.onnx", layout="tf")


@pytest.mark.parametrize("preprocessing", ["quantile", "standard"])
def test_flow_detector_onnx_gives_score_samples(tmp_path, preprocessing):
    """Raw features (context column included, values far outside the training range)
    in, the log-density of score_samples out, with the transform in the graph."""
    import onnxruntime as ort

    from skhep_ml import FlowAnomalyDetector

    rng = np.random.default_rng(0)
    m = rng.uniform(1, 2, 1500)
    X = pd.DataFrame(
        {"m": m, "a": m + rng.normal(0, 0.1, 1500), "k": rng.integers(0, 4, 1500) * 1.0}
    )
    flow = FlowAnomalyDetector(
        context="m", preprocessing=preprocessing, n_transforms=2, hidden_layers=(16,),
        max_epochs=3, random_state=0, verbose=0,
    ).fit(X)  # fmt: skip
    files = to_onnx(flow, tmp_path / "flow.onnx")
    X_new = pd.concat([X.iloc[:200], pd.DataFrame({"m": [5.0, -1.0], "a": [9.0, 0.0], "k": 7.0})])
    sess = ort.InferenceSession(str(files[0]))
    out = sess.run(None, {"features": X_new.to_numpy(np.float32)})[0]
    ref = flow.score_samples(X_new)
    assert out.shape == (202,)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    meta = json.loads(files[1].read_text())
    assert meta["context"] == ["m"] and meta["feature_names"] == ["m", "a", "k"]
    assert meta["offset"] == pytest.approx(flow.offset_)
    with pytest.raises(ValueError, match="layout='single'"):
        to_onnx(flow, tmp_path / "o2", layout="o2physics")
