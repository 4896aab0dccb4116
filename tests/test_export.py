"""ONNX export: ONNX Runtime agrees with the estimators' predict_proba / score_samples."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import skhep_ml
from skhep_ml import (
    AutoencoderAnomalyDetector,
    CWoLaClassifier,
    DNNClassifier,
    FSEAttentionClassifier,
    MDAClassifier,
    PivotClassifier,
    RandomForestBaseline,
    XGBoostBaseline,
)

ort = pytest.importorskip("onnxruntime")
from skhep_ml.export import SUPPORTED, to_onnx  # noqa: E402

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
    with pytest.raises(NotFittedError):
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
    # float64 inside the graph as in score_samples: only the output is rounded to float32
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    meta = json.loads(files[1].read_text())
    assert meta["context"] == ["m"] and meta["feature_names"] == ["m", "a", "k"]
    assert meta["offset"] == pytest.approx(flow.offset_)
    with pytest.raises(ValueError, match="layout='single'"):
        to_onnx(flow, tmp_path / "o2", layout="o2physics")


# -- every exportable estimator: one shared parity test ---------------------------

COLS = ["a", "b", "c", "d", "e", "f"]


def _table(n=240, seed=0, nan=False):
    """Columns on very different scales (the scaling must be in the graph), 3 classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)) * [1.0, 10.0, 100.0, 0.1, 1.0, 5.0] + [0, 50, 1e3, 0, 3, -2]
    y = np.array(["pi", "K", "p"])[(X[:, 0] + X[:, 1] / 10 > 5).astype(int) + (X[:, 4] > 3.5)]
    if nan:
        X[rng.random(X.shape) < 0.2] = np.nan
    return pd.DataFrame(X, columns=COLS), y


def _mda(X, y):
    # one GNN, one CNN and one MLP modality; column "f" in none of them; data rows
    # (y = -1) train a domain classifier, which the export leaves out
    mods = {"hits": ["a", "b", "c", "d"], "grid": ["a", "c", "d", "e"], "flat": ["b", "e"]}
    clf = MDAClassifier(
        mods, {"hits": "gnn", "grid": "cnn"}, graph_shape=(2, 1, 2, 1), cnn_shape=(2, 2),
        embed_dim=4, n_heads=2, hidden_layers=(4,), gnn_hidden=4, cnn_channels=2,
        head_hidden=(4,), max_epochs=1, random_state=0,
    )  # fmt: skip
    X_target, _ = _table(80, seed=5)
    return clf.fit(X, y, X_target=X_target)


def _xgboost(X, y):
    clf = XGBoostBaseline(
        n_estimators=60, learning_rate=0.5, max_depth=3, early_stopping_rounds=2, random_state=0
    )
    clf.fit(X, y)
    # the converter must keep the rounds up to best_iteration_ only
    assert clf.best_iteration_ + 1 < clf.booster_.num_boosted_rounds()
    return clf


def _pivot(X, y):
    clf = PivotClassifier(
        protected="c", hidden_layers=(8,), adversary_hidden_layers=(4,), max_epochs=1,
        pretrain_epochs=1, adversary_pretrain_epochs=1, random_state=0,
    )  # fmt: skip
    return clf.fit(X, y == "p")


def _detector(**params):
    return lambda X, y: AutoencoderAnomalyDetector(max_epochs=2, random_state=0, **params).fit(X)


# name -> (fit on (X, y), takes NaN, output); tiny models, 1-2 epochs
CASES = {
    "DNNClassifier": (
        lambda X, y: DNNClassifier(hidden_layers=(8,), max_epochs=2, random_state=0).fit(X, y),
        False,
        "predict_proba",
    ),
    "PivotClassifier": (_pivot, False, "predict_proba"),
    "MDAClassifier": (_mda, False, "predict_proba"),
    "RandomForestBaseline": (
        lambda X, y: RandomForestBaseline(n_estimators=8, random_state=0).fit(X, y),
        True,
        "predict_proba",
    ),
    "XGBoostBaseline": (_xgboost, True, "predict_proba"),
    "AutoencoderAnomalyDetector": (_detector(), False, "score_samples"),
    # the negative ELBO, the quantile map, and a GELU (its erf is float32-only in ONNX Runtime)
    "VAE-elbo-quantile-gelu": (
        _detector(
            hidden_layers=(8, 2, 8),
            variational=True,
            score_type="elbo",
            preprocessing="quantile",
            activation="gelu",
        ),
        False,
        "score_samples",
    ),
    "AE-minmax-elu": (
        _detector(hidden_layers=(8, 2, 8), preprocessing="minmax", activation="elu"),
        False,
        "score_samples",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_onnx_runtime_agrees_with_the_estimator(case, tmp_path):
    """Raw float32 features in (NaN where the estimator takes NaN), the estimator's
    predict_proba / score_samples out, for a batch and for single rows; metadata in
    the JSON file and in the model itself."""
    import onnx

    fit, takes_nan, method = CASES[case]
    X, y = _table(nan=takes_nan)
    est = fit(X, y)
    onnx_file, meta_file = to_onnx(est, tmp_path / "model.onnx")
    meta = json.loads(meta_file.read_text())
    inputs = [c for c in COLS if c != meta.get("protected")]
    assert meta["feature_names"] == inputs
    assert meta["estimator"] == type(est).__name__
    assert meta["skhep_ml_version"] == skhep_ml.__version__
    assert meta["missing_value"] == "NaN" if takes_nan else meta["missing_value"].startswith("not")
    model = onnx.load(str(onnx_file))
    stored = {p.key: p.value for p in model.metadata_props}
    assert json.loads(stored["feature_names"]) == inputs and stored["output"] == meta["output"]
    (graph_input,) = model.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert not dims[0].dim_value and dims[1].dim_value == len(inputs)  # dynamic batch

    X_new, _ = _table(60, seed=7, nan=takes_nan)
    X_new.iloc[0, 1] = 1e4  # far outside the training range
    ref = getattr(est, method)(X_new)
    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    Xf = X_new[inputs].to_numpy(np.float32)
    (out,) = sess.run(None, {"features": Xf})
    assert out.shape == ref.shape and np.isfinite(out).all()
    if method == "predict_proba":
        assert meta["classes"] == est.classes_.tolist()
        assert np.abs(out - ref).max() < 1e-5
    else:
        # the score is computed in float64 in the graph and rounded to float32 at the
        # end: equal to score_samples up to float32's relative precision (the
        # far-out row scores about -1e4, where float32's spacing is 1e-3)
        assert np.abs(out[0]) > 100
        assert (np.abs(out - ref) / np.maximum(np.abs(ref), 1.0)).max() < 1e-6
        assert meta["offset"] == pytest.approx(est.offset_)
    for i in (0, 1):
        (one,) = sess.run(None, {"features": Xf[i : i + 1]})
        np.testing.assert_allclose(one[0], ref[i], rtol=1e-6, atol=1e-6)


def test_pivot_and_mda_layouts_and_no_adversary(tmp_path):
    X, y = _table()
    clf = _mda(X, y)
    assert clf.domain_adapted_
    onnx_file, meta_file = to_onnx(clf, tmp_path / "mda.onnx")
    import onnx

    assert not any("adversary" in i.name for i in onnx.load(str(onnx_file)).graph.initializer)
    meta = json.loads(meta_file.read_text())
    assert meta["modalities"]["grid"] == ["a", "c", "d", "e"]
    assert meta["branch_types"] == {"hits": "gnn", "grid": "cnn", "flat": "mlp"}
    assert meta["unused_features"] == ["f"]
    with pytest.raises(ValueError, match="layout='single'"):
        to_onnx(clf, tmp_path / "o2", layout="o2physics")


def test_unsupported_estimator_lists_what_is_supported(tmp_path):
    from sklearn.linear_model import LogisticRegression

    for est in (CWoLaClassifier(), LogisticRegression()):
        with pytest.raises(ValueError, match=type(est).__name__) as info:
            to_onnx(est, tmp_path / "x.onnx")
        assert all(name in str(info.value) for name in SUPPORTED)
    assert set(SUPPORTED) == {
        "AutoencoderAnomalyDetector", "DNNClassifier", "FSEAttentionClassifier",
        "FlowAnomalyDetector", "MDAClassifier", "PivotClassifier", "RandomForestBaseline",
        "XGBoostBaseline",
    }  # fmt: skip
