"""Export fitted skhep_ml estimators to ONNX.

:func:`to_onnx` writes a fitted estimator as one ONNX model that takes the raw
float32 features ``[N, n_features]`` (dynamic batch size; the estimator's
feature scaling or transform is in the graph) and returns what the estimator
computes in Python, plus a JSON file with the metadata (feature names,
classes, the input layout, the skhep_ml version, ...), which are also stored
in the model's own metadata (``metadata_props``: ONNX Runtime reads them with
``GetModelMetadata()`` in C++ or ``get_modelmeta().custom_metadata_map`` in
Python). ALICE O2Physics runs ONNX Runtime in C++.

==============================  =================  ============================================
estimator                       output             equal to
==============================  =================  ============================================
``DNNClassifier``               ``probabilities``  ``predict_proba``
``PivotClassifier``             ``probabilities``  ``predict_proba`` (protected column not in)
``MDAClassifier``               ``probabilities``  ``predict_proba`` (all columns of ``X`` in)
``FSEAttentionClassifier``      ``probabilities``  ``predict_proba``; NaN = missing
``RandomForestBaseline``        ``probabilities``  ``predict_proba``; NaN = missing (skl2onnx)
``XGBoostBaseline``             ``probabilities``  ``predict_proba``; NaN = missing (onnxmltools)
``AutoencoderAnomalyDetector``  ``score_samples``  ``score_samples`` (float64 inside the graph)
``FlowAnomalyDetector``         ``log_density``    ``score_samples`` (float64 inside the graph)
==============================  =================  ============================================

A domain-adapted or pivoted classifier is exported without its adversary (a
training device); an ``MDAClassifier`` takes the columns of ``X`` as its
``predict_proba`` does and splits them into its modalities in the graph; an
``FSEAttentionClassifier`` can also be written in ALICE O2Physics'
``PidONNXModel`` layout (``layout="o2physics"``). Needs the ``onnx`` extra
(``pip install skhep_ml[onnx]``: onnx, onnxruntime, skl2onnx, onnxmltools).
"""

from __future__ import annotations

import copy
import io
import json
import math
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

import skhep_ml
from skhep_ml.nn import AdversarialModel, classifier_of, gaussian_kl
from skhep_ml.utils import feature_names

__all__ = ["SUPPORTED", "to_onnx"]

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
CERTAINTY_NAME = "certainty"
LOG_DENSITY_NAME = "log_density"
SCORE_NAME = "score_samples"

#: ONNX-ML opset of the tree ensembles (TreeEnsembleClassifier with NaN routing).
_ML_OPSET = 3


# -- torch pieces of the graphs ---------------------------------------------------


class _PiecewiseLinear(nn.Module):
    """Per feature, the piecewise-linear map of :class:`skhep_ml._scaling.FeatureTransform`.

    Comparisons and gathers only (no searchsorted), so that every ONNX runtime
    runs it; the end segments continue beyond the first and last knot. The
    knots are kept in float64, as the transform computes.
    """

    def __init__(self, knots, values):
        super().__init__()
        knots = torch.as_tensor(np.asarray(knots).T, dtype=torch.float64)  # (F, K)
        values = torch.as_tensor(np.asarray(values).T, dtype=torch.float64)
        self.n_knots = knots.shape[1]
        self.register_buffer("knots", knots)
        self.register_buffer("flat_knots", knots.reshape(-1))
        self.register_buffer("flat_values", values.reshape(-1))
        self.register_buffer("offsets", torch.arange(knots.shape[0]) * self.n_knots)

    def forward(self, x):
        i = (x.unsqueeze(-1) > self.knots.unsqueeze(0)).sum(-1)  # knots below x
        i = i.clamp(1, self.n_knots - 1) + self.offsets
        x0, x1 = self.flat_knots[i - 1], self.flat_knots[i]
        f0, f1 = self.flat_values[i - 1], self.flat_values[i]
        return f0 + (x - x0) * (f1 - f0) / (x1 - x0)


class _Affine(nn.Module):
    """``(x - shift) / scale``, the ``"standard"`` and ``"minmax"`` transforms, in float64."""

    def __init__(self, shift, scale):
        super().__init__()
        self.register_buffer("shift", torch.as_tensor(np.asarray(shift), dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=torch.float64))

    def forward(self, x):
        return (x - self.shift) / self.scale


def _transform_module(transform):
    """A fitted ``FeatureTransform`` as a torch module, with its own arithmetic."""
    if transform.kind == "quantile":
        return _PiecewiseLinear(*transform.knots())
    return _Affine(transform.shift_, transform.scale_)


class _ELU64(nn.Module):
    """ELU without ONNX's ``Elu``, which ONNX Runtime has in float32 only."""

    def forward(self, x):
        return torch.where(x > 0, x, torch.exp(x) - 1.0)


class _GELU64(nn.Module):
    """GELU in a float64 graph; ONNX Runtime's ``Erf`` is float32-only, so erf is rounded."""

    def forward(self, x):
        erf = torch.erf((x * (1.0 / math.sqrt(2.0))).float()).to(x.dtype)
        return 0.5 * x * (1.0 + erf)


def _float64_copy(module):
    """A float64 copy of ``module`` whose activations ONNX Runtime runs in float64."""
    module = copy.deepcopy(module).cpu().double().eval()
    swaps = {nn.ELU: _ELU64, nn.GELU: _GELU64}
    for child in list(module.modules()):
        for sub_name, sub in list(child.named_children()):
            if type(sub) in swaps:
                setattr(child, sub_name, swaps[type(sub)]())
    return module


class _DetectorScore(nn.Module):
    """Raw float32 features -> ``score_samples`` of a neural outlier detector, [N] float32.

    As the estimator computes it: the feature transform in float64, rounded
    to float32 (what ``transform_.transform`` returns), then a float64 copy of
    the network and the score (a reconstruction error subtracts two close
    numbers, so float32 rounding inside would be amplified); only the final
    score is rounded to float32.
    """

    def __init__(self, transform, net, score):
        super().__init__()
        self.transform = transform
        self.net = _float64_copy(net)
        self.score = score

    def forward(self, x):
        xt = self.transform(x.double()).float().double()
        return self.score(self.net(xt), xt).float()


class _LogDensity(nn.Module):
    """The flow's output is the log-density itself."""

    def forward(self, output, xt):
        return output


class _NegativeReconstructionError(nn.Module):
    """``-MSE`` over features, or ``-(sum of squares + beta KL)`` (the negative ELBO)."""

    def __init__(self, elbo, beta):
        super().__init__()
        self.elbo = elbo
        self.beta = float(beta)

    def forward(self, output, xt):
        recon = output[0] if isinstance(output, (tuple, list)) else output
        sq = (recon - xt) ** 2
        if self.elbo:
            return -(sq.sum(dim=1) + self.beta * gaussian_kl(output[1], output[2]))
        return -sq.mean(dim=1)


class _Probabilities(nn.Module):
    """The network followed by the estimator's ``predict_proba`` transform."""

    def __init__(self, net, multi_class="softmax", binary=False):
        super().__init__()
        self.net = net
        self.multi_class = multi_class
        self.binary = binary

    def forward(self, x):
        logits = AdversarialModel.logits(self.net(x))  # MDANet also returns its fusion
        if self.multi_class == "softmax":
            return torch.softmax(logits, dim=1)
        c = torch.sigmoid(logits)
        if self.binary:
            return torch.cat([1.0 - c, c], dim=1)
        return c / c.sum(dim=1, keepdim=True)


class _Certainty(nn.Module):
    """Certainty (sigmoid of one species head) of pre-standardised input, [N, 1]."""

    def __init__(self, net, column):
        super().__init__()
        self.net = net
        self.column = column

    def forward(self, x):
        return torch.sigmoid(self.net(x)[:, self.column : self.column + 1])


# -- writing ------------------------------------------------------------------------


class _Graph(NamedTuple):
    """What an estimator's builder gives :func:`_write`."""

    model: object  # a torch module (traced here) or an onnx.ModelProto (converters)
    n_inputs: int
    output: str
    meta: dict


def _json_value(v):
    return v.item() if isinstance(v, np.generic) else v


def _trace(module, n_features, output_name, opset):
    """The ONNX model of ``module`` on float32 ``[batch, n_features]``."""
    import onnx

    module = module.eval().cpu()
    example = torch.zeros(2, n_features, dtype=torch.float32)
    buffer = io.BytesIO()
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        # nn.MultiheadAttention's fused inference kernel has no ONNX form
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter is deprecated but needs no onnxscript; the
            # torch.export one does not trace this graph's boolean masks any better
            warnings.simplefilter("ignore", DeprecationWarning)
            # tracing a zuko flow: shape-dependent Python branches are constant per model
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=".*(Constant folding|as_tensor).*")
            torch.onnx.export(
                module,
                (example,),
                buffer,
                input_names=[INPUT_NAME],
                output_names=[output_name],
                dynamic_axes={INPUT_NAME: {0: "batch"}, output_name: {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return onnx.load_from_string(buffer.getvalue())


def _save(model, path, meta):
    """Write ``model`` with ``meta`` in its ``metadata_props`` (JSON-encoded values)."""
    import onnx

    model.producer_name, model.producer_version = "skhep_ml", skhep_ml.__version__
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value if isinstance(value, str) else json.dumps(value)
    onnx.save(model, str(path))


def _write(estimator, graph, path, opset):
    """The one path of every ``layout="single"`` export: model and JSON metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model = graph.model
    if isinstance(model, nn.Module):
        model = _trace(model, graph.n_inputs, graph.output, opset)
    meta = {
        "input": INPUT_NAME,
        "input_shape": ["batch", graph.n_inputs],
        "input_type": "float32",
        "output": graph.output,
        **graph.meta,
        "estimator": type(estimator).__name__,
        "skhep_ml_version": skhep_ml.__version__,
    }
    _save(model, path, meta)
    meta_path = path.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=1))
    return [path, meta_path]


# -- one builder per estimator ------------------------------------------------------


def _classifier_net(estimator):
    # the classifier alone: a domain classifier or pivot adversary is a training device
    return copy.deepcopy(classifier_of(estimator.net_.module_)).cpu().eval()


def _classes(estimator):
    return [_json_value(c) for c in estimator.classes_]


_NO_NAN = (
    "not accepted (the estimator refuses NaN; the graph does not check: a NaN it reads "
    "makes the output NaN)"
)


def _softmax_classifier(estimator, inputs, **meta):
    """A classifier whose ``predict_proba`` is the softmax of its network's logits."""
    meta = {"feature_names": inputs, **meta}
    meta.update(classes=_classes(estimator), missing_value=_NO_NAN)
    return _Graph(_Probabilities(_classifier_net(estimator)), len(inputs), OUTPUT_NAME, meta)


def _dnn(estimator, opset):
    return _softmax_classifier(estimator, feature_names(estimator))


def _pivot(estimator, opset):
    names = feature_names(estimator)
    protected = estimator.protected_index_
    if protected is None:  # Z was given to fit as z=
        return _softmax_classifier(estimator, names, input_layout="the columns of X")
    return _softmax_classifier(
        estimator,
        [n for j, n in enumerate(names) if j != protected],
        input_layout=f"the columns of X without the protected column {names[protected]!r}",
        protected=names[protected],
    )


def _mda(estimator, opset):
    names = feature_names(estimator)
    columns = estimator.modality_columns_
    used = {int(j) for cols in columns.values() for j in cols}
    return _softmax_classifier(
        estimator,
        names,
        input_layout="the columns of X; each modality takes its columns in the graph",
        modalities={m: [names[j] for j in columns[m]] for m in estimator.modality_names_},
        branch_types=dict(estimator.branch_types_),
        unused_features=[n for j, n in enumerate(names) if j not in used],
    )


def _fse(estimator, opset):
    net = _classifier_net(estimator)
    classes = _classes(estimator)
    module = _Probabilities(net, estimator.multi_class, binary=net.n_outputs == 1)
    meta = {
        "missing_value": "NaN",
        "feature_names": feature_names(estimator),
        "classes": classes,
        "multi_class": estimator.multi_class,
        "thresholds": [float(t) for t in estimator.thresholds_],
        "thresholds_apply_to": (
            "certainty of classes[1]" if len(classes) == 2 else "certainty of each class"
        ),
        "feature_mean": [float(v) for v in estimator.feature_mean_],
        "feature_scale": [float(v) for v in estimator.feature_scale_],
    }
    return _Graph(module, estimator.n_features_in_, OUTPUT_NAME, meta)


def _detector_meta(estimator):
    return {
        "feature_names": feature_names(estimator),
        "missing_value": _NO_NAN,
        "preprocessing": estimator.preprocessing,
        "offset": float(estimator.offset_),
        "outlier_if": "score_samples < offset",
    }


def _autoencoder(estimator, opset):
    elbo = estimator.score_type == "elbo"
    score = _NegativeReconstructionError(elbo, estimator.beta)
    module = _DetectorScore(_transform_module(estimator.transform_), estimator.net_.module_, score)
    meta = {
        **_detector_meta(estimator),
        "score_samples": (
            "-(sum of squared errors + beta KL), the ELBO"
            if elbo
            else "-(mean squared reconstruction error over features)"
        ),
        "anomaly_score": (
            "tanh(-score_samples)" if estimator.score_transform == "tanh" else "-score_samples"
        ),
    }
    return _Graph(module, estimator.n_features_in_, SCORE_NAME, meta)


def _flow(estimator, opset):
    names = feature_names(estimator)
    module = _DetectorScore(
        _transform_module(estimator.transform_), estimator.net_.module_, _LogDensity()
    )
    meta = {**_detector_meta(estimator), "context": [names[i] for i in estimator.context_index_]}
    meta["outlier_if"] = "log_density < offset"
    return _Graph(module, len(names), LOG_DENSITY_NAME, meta)


def _tree_ensemble(estimator, opset):
    """skl2onnx's model of the wrapped forest or booster, probabilities only."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = estimator.estimator_
    if type(model).__name__ == "XGBClassifier":
        _register_xgboost()
    names = feature_names(estimator)
    proto = convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(names)]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": opset, "ai.onnx.ml": _ML_OPSET},
    )
    if hasattr(model, "estimators_"):
        _route_missing_values(proto, model.estimators_)
    # the class index output: classes are in the metadata, as for the networks
    keep = [o for o in proto.graph.output if o.name == OUTPUT_NAME]
    del proto.graph.output[:]
    proto.graph.output.extend(keep)
    meta = {"feature_names": names, "classes": _classes(estimator), "missing_value": "NaN"}
    return _Graph(proto, len(names), OUTPUT_NAME, meta)


def _route_missing_values(proto, trees):
    """NaN down the branch scikit-learn's trees learned (``tree_.missing_go_to_left``).

    skl2onnx sends NaN down the false branch of every split (it reads the
    missing-value direction of HistGradientBoosting only); ONNX's true branch
    of ``BRANCH_LEQ`` is scikit-learn's left child.
    """
    from onnx import helper

    (node,) = [n for n in proto.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attrs = {a.name: a for a in node.attribute}
    tree_ids, node_ids = attrs["nodes_treeids"].ints, attrs["nodes_nodeids"].ints
    left = [
        int(trees[t].tree_.children_left[i] >= 0 and trees[t].tree_.missing_go_to_left[i])
        for t, i in zip(tree_ids, node_ids)
    ]
    node.attribute.remove(attrs["nodes_missing_value_tracks_true"])
    node.attribute.append(helper.make_attribute("nodes_missing_value_tracks_true", left))


def _register_xgboost():
    """onnxmltools' XGBoost converter in skl2onnx (idempotent)."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from xgboost import XGBClassifier

    update_registered_converter(
        XGBClassifier,
        "XGBoostXGBClassifier",
        calculate_linear_classifier_output_shapes,
        convert_xgboost,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )


#: Estimator name -> builder of its graph; the order of :func:`to_onnx`'s error message.
_BUILDERS = {
    "AutoencoderAnomalyDetector": _autoencoder,
    "DNNClassifier": _dnn,
    "FSEAttentionClassifier": _fse,
    "FlowAnomalyDetector": _flow,
    "MDAClassifier": _mda,
    "PivotClassifier": _pivot,
    "RandomForestBaseline": _tree_ensemble,
    "XGBoostBaseline": _tree_ensemble,
}

#: The estimators :func:`to_onnx` exports.
SUPPORTED = tuple(_BUILDERS)


def _builder(estimator):
    for name, build in _BUILDERS.items():
        if isinstance(estimator, getattr(skhep_ml, name)):
            return build
    raise ValueError(
        f"to_onnx exports {', '.join(SUPPORTED)}; got {type(estimator).__name__}. "
        "(A meta-estimator's fitted members, e.g. CWoLaClassifier.estimators_, can be "
        "exported one by one when they are of these.)"
    )


def _o2_name(pdg):
    """PidONNXModel's file name: ``attention_model_<pdg>``, ``0<|pdg|>`` if negative."""
    pdg = int(pdg)
    return f"attention_model_{pdg}.onnx" if pdg >= 0 else f"attention_model_0{-pdg}.onnx"


def to_onnx(estimator, path, *, layout="single", opset=17):
    """Write a fitted estimator as an ONNX model (see the table of :mod:`skhep_ml.export`).

    Parameters
    ----------
    estimator : estimator
        Fitted; one of ``SUPPORTED``: ``AutoencoderAnomalyDetector``,
        ``DNNClassifier``, ``FSEAttentionClassifier``,
        ``FlowAnomalyDetector``, ``MDAClassifier``, ``PivotClassifier``,
        ``RandomForestBaseline``, ``XGBoostBaseline``.
    path : str or Path
        ``layout="single"``: the ``.onnx`` file to write; the metadata go to
        the same name with ``.json``. ``layout="o2physics"``: a directory.
    layout : {"single", "o2physics"}, default="single"
        ``"single"``: one model. Input ``features``: float32
        ``[N, n_inputs]``, the raw columns of ``X`` in their order (a
        ``PivotClassifier`` without its protected column; an
        ``MDAClassifier`` with every column of ``X``, each modality takes its
        own in the graph); NaN marks a missing value for
        ``FSEAttentionClassifier`` and the tree baselines (the others refuse
        NaN, and the graph gives NaN for such a row). Output:

        - classifiers: ``probabilities`` ``[N, n_classes]``, columns ordered
          as ``classes_``, equal to ``predict_proba``;
        - ``AutoencoderAnomalyDetector``: ``score_samples`` ``[N]`` (the
          negative reconstruction error, or negative ELBO), and
          ``FlowAnomalyDetector``: ``log_density`` ``[N]``, both equal to
          ``score_samples`` and computed in float64 inside the graph as the
          estimator does (rounded to float32 at the end); a row is an
          outlier when its score is below the metadata's ``offset``.

        The metadata (JSON file and the model's ``metadata_props``) hold
        ``feature_names`` (the inputs, in order), ``input_layout``,
        ``input_shape``, ``missing_value``, ``output``, ``classes``,
        ``estimator``, ``skhep_ml_version`` and per estimator: an FSE
        model's ``thresholds`` (on the class certainty), ``multi_class`` and
        standardisation; a pivot's ``protected`` column; an MDA model's
        ``modalities``, ``branch_types`` and ``unused_features``; a detector's
        ``offset``, ``preprocessing`` and the flow's ``context`` columns.

        ``"o2physics"`` (``FSEAttentionClassifier`` with
        ``multi_class="ovr"`` and integer PDG labels): per class one
        ``attention_model_<pdg>.onnx`` (``0<|pdg|>`` for a negative code),
        input ``features`` already standardised as in
        ``scaling_params.json`` (``PidONNXModel`` standardises its inputs
        itself; NaN = missing, as it passes), output ``certainty``
        ``[N, 1]``, the sigmoid of that species' head; plus
        ``columns_for_training.json`` (``{"columns_for_training": [...]}``),
        ``scaling_params.json`` (``{"data": [[name, mean, std], ...]}``) and
        ``thresholds.json`` (``{pdg: minimal certainty}``, the F1-optimal
        ``thresholds_``).
    opset : int, default=17
        ONNX opset of the graph (the tree ensembles also use ONNX-ML opset 3).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        For an estimator not in ``SUPPORTED`` (the message lists them) or a
        layout it does not have.

    Examples
    --------
    A model with missing values, and the metadata stored in the model:

    >>> import tempfile, numpy as np, onnxruntime as ort
    >>> from sklearn.datasets import make_classification
    >>> from skhep_ml import FSEAttentionClassifier, RandomForestBaseline
    >>> from skhep_ml.export import to_onnx
    >>> X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    >>> clf = FSEAttentionClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> X[0, 1] = np.nan
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = to_onnx(clf, f"{d}/fse.onnx")
    ...     sess = ort.InferenceSession(str(files[0]))
    ...     p = sess.run(None, {"features": X[:5].astype(np.float32)})[0]
    ...     meta = sess.get_modelmeta().custom_metadata_map
    >>> bool(np.abs(p - clf.predict_proba(X[:5])).max() < 1e-5)
    True
    >>> meta["feature_names"], meta["classes"]
    ('["x0", "x1", "x2", "x3"]', '[0, 1]')

    The tree baselines go through skl2onnx (and onnxmltools for XGBoost):

    >>> forest = RandomForestBaseline(n_estimators=5, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = to_onnx(forest, f"{d}/forest.onnx")
    ...     sess = ort.InferenceSession(str(files[0]))
    ...     p = sess.run(None, {"features": X[:5].astype(np.float32)})[0]
    >>> bool(np.abs(p - forest.predict_proba(X[:5])).max() < 1e-5)
    True
    """
    build = _builder(estimator)
    check_is_fitted(estimator)
    if layout not in ("single", "o2physics"):
        raise ValueError(f"layout must be 'single' or 'o2physics'; got {layout!r}.")
    path = Path(path)
    if layout == "single":
        return _write(estimator, build(estimator, opset), path, opset)
    if build is not _fse:
        raise ValueError(
            f"A {type(estimator).__name__} is exported with layout='single' "
            "(layout='o2physics' is the PidONNXModel layout of FSEAttentionClassifier)."
        )
    return _o2physics(estimator, path, opset)


def _o2physics(estimator, path, opset):
    if estimator.multi_class != "ovr":
        raise ValueError("layout='o2physics' needs multi_class='ovr' (one certainty per species).")
    classes = _classes(estimator)
    try:
        pdgs = [int(c) for c in classes]
    except (TypeError, ValueError):
        raise ValueError(
            f"layout='o2physics' needs integer PDG codes as classes; got {classes}."
        ) from None
    net = _classifier_net(estimator)
    names = feature_names(estimator)
    path.mkdir(parents=True, exist_ok=True)
    net.scale = nn.Identity()  # PidONNXModel standardises the inputs itself
    written = []
    species = pdgs[1:] if len(pdgs) == 2 else pdgs
    for column, pdg in enumerate(species):
        out = path / _o2_name(pdg)
        model = _trace(_Certainty(net, column), estimator.n_features_in_, CERTAINTY_NAME, opset)
        meta = {"pdg": pdg, "feature_names": names, "skhep_ml_version": skhep_ml.__version__}
        _save(model, out, meta)
        written.append(out)
    files = {
        "columns_for_training.json": {"columns_for_training": names},
        "scaling_params.json": {
            "data": [
                [n, float(m), float(s)]
                for n, m, s in zip(names, estimator.feature_mean_, estimator.feature_scale_)
            ]
        },
        "thresholds.json": {str(pdg): float(t) for pdg, t in zip(species, estimator.thresholds_)},
    }
    for name, content in files.items():
        (path / name).write_text(json.dumps(content, indent=1))
        written.append(path / name)
    return written
