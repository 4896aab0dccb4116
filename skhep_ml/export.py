"""Export fitted skhep_ml networks to ONNX.

:func:`to_onnx` writes a :class:`~skhep_ml.FlowAnomalyDetector` as a model
that takes the raw float32 features and returns ``score_samples`` (the
log-density; the feature transform is in the graph), or a model of
:class:`~skhep_ml.FSEAttentionClassifier`
that takes the raw float32 features ``[N, n_features]`` with NaN for a missing
value (the standardisation and the missing-value masks are in the graph, and
NaN is replaced by 0 after the masks are built, so no NaN reaches a matrix
product) and returns the class probabilities of ``predict_proba``, with a
dynamic batch size, plus a JSON file with the feature names, classes and
thresholds. ``layout="o2physics"`` writes instead one model per species in
the layout that ALICE O2Physics' ``PidONNXModel`` (``Tools/PIDML``) loads.

Needs the ``onnx`` extra (``pip install skhep_ml[onnx]``).
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from skhep_ml.nn import classifier_of
from skhep_ml.utils import feature_names

__all__ = ["to_onnx"]

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
CERTAINTY_NAME = "certainty"
LOG_DENSITY_NAME = "log_density"


class _PiecewiseLinear(nn.Module):
    """Per feature, the piecewise-linear map of :class:`skhep_ml._scaling.FeatureTransform`.

    Comparisons and gathers only (no searchsorted), so that every ONNX runtime
    runs it; the end segments continue beyond the first and last knot.
    """

    def __init__(self, knots, values):
        super().__init__()
        knots = torch.as_tensor(np.asarray(knots).T, dtype=torch.float32)  # (F, K)
        values = torch.as_tensor(np.asarray(values).T, dtype=torch.float32)
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


class _LogDensity(nn.Module):
    """Raw features -> feature transform -> log-density of the flow, [N]."""

    def __init__(self, transform, flow):
        super().__init__()
        self.transform = transform
        self.flow = flow

    def forward(self, x):
        return self.flow(self.transform(x))


class _Probabilities(nn.Module):
    """The network followed by the estimator's ``predict_proba`` transform."""

    def __init__(self, net, multi_class):
        super().__init__()
        self.net = net
        self.multi_class = multi_class
        self.binary = net.n_outputs == 1

    def forward(self, x):
        logits = self.net(x)
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


def _json_value(v):
    return v.item() if isinstance(v, np.generic) else v


def _export(module, path, n_features, output_name, opset):
    module = module.eval().cpu()
    example = torch.zeros(2, n_features, dtype=torch.float32)
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
            str(path),
            input_names=[INPUT_NAME],
            output_names=[output_name],
            dynamic_axes={INPUT_NAME: {0: "batch"}, output_name: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )


def _o2_name(pdg):
    """PidONNXModel's file name: ``attention_model_<pdg>``, ``0<|pdg|>`` if negative."""
    pdg = int(pdg)
    return f"attention_model_{pdg}.onnx" if pdg >= 0 else f"attention_model_0{-pdg}.onnx"


def to_onnx(estimator, path, *, layout="single", opset=17):
    """Write a fitted :class:`~skhep_ml.FSEAttentionClassifier` or
    :class:`~skhep_ml.FlowAnomalyDetector` as ONNX.

    Parameters
    ----------
    estimator : FSEAttentionClassifier or FlowAnomalyDetector
        Fitted. A flow is written as one model (``layout="single"``): input
        ``features`` (raw float32 ``[N, n_features]``, context columns
        included, in the order of ``X``), output ``log_density`` (``[N]``,
        ``score_samples`` computed in float32), plus a JSON file with the
        feature names, the context columns and ``offset_`` (an event is an
        outlier when ``log_density < offset``).
    path : str or Path
        ``layout="single"``: the ``.onnx`` file to write; the metadata go to
        the same name with ``.json``. ``layout="o2physics"``: a directory.
    layout : {"single", "o2physics"}, default="single"
        ``"single"``: one model, input ``features`` (raw float32
        ``[N, n_features]``, NaN = missing), output ``probabilities``
        (``[N, n_classes]``, columns ordered as ``classes_``, equal to
        ``predict_proba``). The JSON holds ``feature_names``, ``classes``,
        ``thresholds`` (on the class certainty, see
        ``FSEAttentionClassifier``), ``multi_class``, the input and output
        names and the standardisation.

        ``"o2physics"`` (``multi_class="ovr"`` with integer PDG labels): per
        class one ``attention_model_<pdg>.onnx`` (``0<|pdg|>`` for a negative
        code), input ``features`` already standardised as in
        ``scaling_params.json`` (``PidONNXModel`` standardises its inputs
        itself; NaN = missing, as it passes), output ``certainty``
        ``[N, 1]``, the sigmoid of that species' head; plus
        ``columns_for_training.json`` (``{"columns_for_training": [...]}``),
        ``scaling_params.json`` (``{"data": [[name, mean, std], ...]}``) and
        ``thresholds.json`` (``{pdg: minimal certainty}``, the F1-optimal
        ``thresholds_``).
    opset : int, default=17

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import tempfile, numpy as np, onnxruntime as ort
    >>> from sklearn.datasets import make_classification
    >>> from skhep_ml import FSEAttentionClassifier
    >>> from skhep_ml.export import to_onnx
    >>> X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    >>> clf = FSEAttentionClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> X[0, 1] = np.nan
    >>> with tempfile.TemporaryDirectory() as d:
    ...     files = to_onnx(clf, f"{d}/fse.onnx")
    ...     sess = ort.InferenceSession(str(files[0]))
    ...     p = sess.run(None, {"features": X[:5].astype(np.float32)})[0]
    >>> bool(np.abs(p - clf.predict_proba(X[:5])).max() < 1e-5)
    True
    """
    from skhep_ml.flow import FlowAnomalyDetector
    from skhep_ml.fse import FSEAttentionClassifier

    if not isinstance(estimator, (FSEAttentionClassifier, FlowAnomalyDetector)):
        raise ValueError(
            "to_onnx exports FSEAttentionClassifier and FlowAnomalyDetector; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if layout not in ("single", "o2physics"):
        raise ValueError(f"layout must be 'single' or 'o2physics'; got {layout!r}.")
    if isinstance(estimator, FlowAnomalyDetector):
        if layout != "single":
            raise ValueError("A FlowAnomalyDetector is exported with layout='single'.")
        return _flow_to_onnx(estimator, Path(path), opset)
    # the classifier alone: a domain classifier is a training device, not exported
    net = copy.deepcopy(classifier_of(estimator.net_.module_)).cpu().eval()
    names = feature_names(estimator)
    n_features = estimator.n_features_in_
    classes = [_json_value(c) for c in estimator.classes_]
    path = Path(path)

    if layout == "single":
        path.parent.mkdir(parents=True, exist_ok=True)
        _export(_Probabilities(net, estimator.multi_class), path, n_features, OUTPUT_NAME, opset)
        meta = {
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "missing_value": "NaN",
            "feature_names": names,
            "classes": classes,
            "multi_class": estimator.multi_class,
            "thresholds": [float(t) for t in estimator.thresholds_],
            "thresholds_apply_to": (
                "certainty of classes[1]" if len(classes) == 2 else "certainty of each class"
            ),
            "feature_mean": [float(v) for v in estimator.feature_mean_],
            "feature_scale": [float(v) for v in estimator.feature_scale_],
        }
        meta_path = path.with_suffix(".json")
        meta_path.write_text(json.dumps(meta, indent=1))
        return [path, meta_path]

    if estimator.multi_class != "ovr":
        raise ValueError("layout='o2physics' needs multi_class='ovr' (one certainty per species).")
    try:
        pdgs = [int(c) for c in classes]
    except (TypeError, ValueError):
        raise ValueError(
            f"layout='o2physics' needs integer PDG codes as classes; got {classes}."
        ) from None
    path.mkdir(parents=True, exist_ok=True)
    net.scale = nn.Identity()  # PidONNXModel standardises the inputs itself
    written = []
    species = pdgs[1:] if len(pdgs) == 2 else pdgs
    for column, pdg in enumerate(species):
        out = path / _o2_name(pdg)
        _export(_Certainty(net, column), out, n_features, CERTAINTY_NAME, opset)
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


def _flow_to_onnx(estimator, path, opset):
    n = estimator.n_features_in_
    ctx = estimator.context_index_
    module = _LogDensity(
        _PiecewiseLinear(*estimator.transform_.knots()),
        copy.deepcopy(estimator.net_.module_).cpu().float(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _export(module, path, n, LOG_DENSITY_NAME, opset)
    names = feature_names(estimator)
    meta = {
        "input": INPUT_NAME,
        "output": LOG_DENSITY_NAME,
        "feature_names": names,
        "context": [names[i] for i in ctx],
        "offset": float(estimator.offset_),
        "outlier_if": "log_density < offset",
    }
    meta_path = path.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=1))
    return [path, meta_path]
