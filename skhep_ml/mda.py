"""Multimodal domain-adversarial classifier (MC-to-data domain adaptation)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import nn

from skhep_ml._base import BaseNeuralClassifier, fill_training_doc, store_params
from skhep_ml._nets import DomainAdversarialNet, GRLSchedule
from skhep_ml.nn import MLP, ClusterCNN, HitGraphNet, MDANet, feature_scaling
from skhep_ml.nn import activation as make_activation
from skhep_ml.utils import (
    check_class_weight_totals,
    check_layer_widths,
    class_weights,
    column_index,
    validate_fit_data,
    validate_predict_data,
)

__all__ = ["MDAClassifier"]

_BRANCH_TYPES = ("mlp", "gnn", "cnn")


def _unlabelled_mask(y):
    """Rows labelled -1: the integer (numeric or object y) or the string "-1"."""
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return y == -1
    if y.dtype.kind in "US":
        return y == y.dtype.type("-1")
    if y.dtype.kind == "O":
        return np.fromiter(
            (
                (isinstance(v, numbers.Number) and not isinstance(v, bool) and v == -1)
                or (isinstance(v, str) and v == "-1")
                for v in y
            ),
            dtype=bool,
            count=y.size,
        )
    return np.zeros(y.shape, dtype=bool)


@fill_training_doc
class MDAClassifier(BaseNeuralClassifier):
    """Multimodal domain-adversarial classifier.

    One sub-network per modality (a named group of columns of one table),
    matched to the structure of its input: a graph network over tracker hits
    (``"gnn"``), a CNN over a grid such as cluster counts per layer and side
    (``"cnn"``) or an MLP (``"mlp"``). Their outputs, one token per modality
    plus a learned modality encoding, are fused by multi-head self-attention;
    a signal/background head is trained on the labelled (simulated) rows and,
    when unlabelled target rows (real data) are given, a domain head behind
    a gradient-reversal layer (DANN, Ganin et al., arXiv:1505.07818) learns
    to tell simulation from data while the shared features learn to make
    that impossible, so that the classifier behaves on data as on
    simulation.

    Unlabelled target rows are given either as rows with ``y = -1``
    (scikit-learn's semi-supervised convention: ``Pipeline`` and
    ``cross_val_score`` need nothing extra; ``score`` ignores them) or as
    ``fit(X, y, X_target=...)``. With string class names, mark them with
    the integer -1 in an object array (as scikit-learn's
    ``SelfTrainingClassifier`` asks) or with the string ``"-1"``. Without target rows (or with
    ``domain_adaptation=False``, which drops them) it is a plain multimodal
    classifier.

    Parameters
    ----------
    modalities : dict or None, default=None
        ``{name: [columns]}``: column names (DataFrame input) or integer
        positions of each modality. ``None``: all columns form one MLP
        modality ``"all"``. Columns in no modality are not used. The dict is
        stored as given and never modified.
    branch_types : dict or None, default=None
        ``{name: "gnn" | "cnn" | "mlp"}``; modalities not listed get an MLP.
    graph_shape : tuple of 4 int, default=(8, 2, 2, 2)
        (layers, sides, tracks, features per hit) of a ``"gnn"`` modality;
        its columns are in that C order. Nodes are (layer, side, track);
        edges join neighbouring layers (same side and track) and the two
        tracks of a layer and side.
    cnn_shape : tuple of 2 int, default=(8, 2)
        Grid (rows, columns) of a ``"cnn"`` modality, columns in C order.
    embed_dim : int, default=32
        Width of each branch output and of the fused representation.
    n_heads : int, default=4
        Attention heads (must divide ``embed_dim``).
    hidden_layers : tuple of int, default=(64,)
        Hidden widths of the MLP branches.
    gnn_hidden : int, default=32
        Node-state width of the graph network.
    gnn_steps : int, default=2
        Rounds of message passing.
    cnn_channels : int, default=8
    head_hidden : tuple of int, default=(32,)
        Hidden widths of the label head.
    domain_hidden : tuple of int, default=(32,)
        Hidden widths of the domain head.
    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"}, default="relu"
    dropout : float, default=0.1
        Dropout in the label head.
    domain_adaptation : bool, default=True
        Train the domain head against the shared features when target rows
        are present.
    grl_schedule : {"dann", "fixed"}, default="dann"
        Reversal strength ``grl_lambda * (2 / (1 + exp(-10 p)) - 1)`` at
        training progress ``p`` (fraction of ``max_epochs``), or a fixed
        ``grl_lambda``.
    grl_lambda : float, default=1.0
    domain_lr_factor : float, default=10.0
        Learning rate of the domain head relative to ``lr``: the
        discriminator must keep up with the features trained against it,
        or the features only fool the current head instead of becoming
        domain-invariant.
    domain_steps : int, default=0
        Extra updates of the domain head alone per minibatch, on the batch's
        features held fixed, before the shared update (as the critic steps
        of adversarial training): the head stays nearer the best domain
        classifier of the current features, so that the features are pushed
        to fool any domain classifier, not only a lagging one.
    class_weight : dict, "balanced" or None, default=None
        Applied to the labelled rows.
    {training_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the labelled rows (never -1).
    modality_names_ : list of str
        The modalities, in the column order of ``fusion_weights``.
    modality_columns_ : dict
        ``{name: ndarray of column positions}``.
    branch_types_ : dict
        ``{name: branch type}`` of every modality.
    domain_adapted_ : bool
        Whether a domain head was trained (target rows present and
        ``domain_adaptation=True``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    net_ : skorch.NeuralNet
    history_ : skorch.callbacks.History
        Per epoch: ``train_loss``, ``label_loss``, ``valid_loss`` (label
        loss on the held-out labelled rows) and, with a domain head,
        ``domain_loss``, ``domain_acc`` and ``grl_lambda``.
    n_epochs_ : int
    best_epoch_ : int

    Notes
    -----
    Training defaults: ``lr_schedule="cosine"`` because a decaying rate lets
    the adversarial game settle (below); the validation rows are stratified
    over the classes and the unlabelled rows, and early stopping follows the
    label loss of the labelled ones. ``history_`` records the domain head's
    learning rate as ``lr_domain``.

    ``sample_weight`` weighs the label loss (negative weights, as from NLO
    simulation, subtract their row's loss; the labelled total must be
    positive) and the domain loss, where the two domains are balanced to
    equal total weight.

    The adversarial game settles better with a decaying learning rate: on
    the ``domain`` benchmark, with a constant rate the features keep fooling
    the (lagging) domain head while a freshly trained gradient-boosted domain
    classifier still reaches AUC 0.60-0.63; ``lr_schedule="cosine"`` over 60
    epochs with ``grl_lambda=10`` brings it to 0.56-0.58 (see
    ``benchmarks/results/domain.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml import MDAClassifier
    >>> from skhep_ml.datasets import make_multimodal_nuclei
    >>> d = make_multimodal_nuclei(300, 300, random_state=0)
    >>> X = np.vstack([d.X_mc, d.X_data])
    >>> y = np.concatenate([d.y_mc, np.full(300, -1)])  # data rows unlabelled
    >>> mods = {k: [d.feature_names.index(c) for c in v] for k, v in d.modalities.items()}
    >>> clf = MDAClassifier(
    ...     modalities=mods, branch_types={"tracker_hits": "gnn", "clusters": "cnn"},
    ...     embed_dim=16, gnn_hidden=16, max_epochs=2, random_state=0,
    ... ).fit(X, y)
    >>> clf.classes_
    array([0, 1])
    >>> clf.predict_proba(d.X_data.to_numpy()[:2]).shape
    (2, 2)
    >>> clf.fusion_weights(d.X_data.to_numpy()[:2]).shape  # rows sum to 1
    (2, 4)
    >>> sorted(k for k in clf.history_[-1] if k.startswith("domain"))
    ['domain_acc', 'domain_loss']
    """

    _net_class = DomainAdversarialNet

    _parameter_constraints: dict = {
        **BaseNeuralClassifier._parameter_constraints,
        "modalities": [dict, None],
        "branch_types": [dict, None],
        "graph_shape": [tuple, list],
        "cnn_shape": [tuple, list],
        "embed_dim": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "hidden_layers": [tuple, list],
        "gnn_hidden": [Interval(Integral, 1, None, closed="left")],
        "gnn_steps": [Interval(Integral, 0, None, closed="left")],
        "cnn_channels": [Interval(Integral, 1, None, closed="left")],
        "head_hidden": [tuple, list],
        "domain_hidden": [tuple, list],
        "activation": [StrOptions({"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "domain_adaptation": ["boolean"],
        "grl_schedule": [StrOptions({"dann", "fixed"})],
        "grl_lambda": [Interval(Real, 0, None, closed="left")],
        "domain_lr_factor": [Interval(Real, 0, None, closed="neither")],
        "domain_steps": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        modalities=None,
        branch_types=None,
        *,
        graph_shape=(8, 2, 2, 2),
        cnn_shape=(8, 2),
        embed_dim=32,
        n_heads=4,
        hidden_layers=(64,),
        gnn_hidden=32,
        gnn_steps=2,
        cnn_channels=8,
        head_hidden=(32,),
        domain_hidden=(32,),
        activation="relu",
        dropout=0.1,
        domain_adaptation=True,
        grl_schedule="dann",
        grl_lambda=1.0,
        domain_lr_factor=10.0,
        domain_steps=0,
        max_epochs=30,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule="cosine",
        lr_decay=0.98,
        validation_fraction=0.1,
        early_stopping=True,
        n_iter_no_change=10,
        class_weight=None,
        random_state=None,
        device="cpu",
        verbose="auto",
        warm_start=False,
    ):
        store_params(self, locals())

    # -- fit -------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_target=None):
        """Fit on labelled rows, adapting to unlabelled target rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels; -1 marks an unlabelled target-domain (data) row.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights (see Notes of the class).
        X_target : array-like or DataFrame of shape (n_target, n_features), default=None
            More unlabelled target-domain rows (weight 1).

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "net_")
        X, y, sample_weight = validate_fit_data(self, X, y, sample_weight, reset=not warm)
        unlabelled = _unlabelled_mask(y)
        if X_target is not None:
            X, y, sample_weight, unlabelled = self._append_target(
                X, y, sample_weight, unlabelled, X_target
            )
        y_enc = self._encode_labelled(y, ~unlabelled, sample_weight, warm)
        sample_weight = sample_weight.copy()
        labelled = ~unlabelled
        sample_weight[labelled] *= class_weights(
            self.class_weight, y_enc[labelled], sample_weight[labelled], self.classes_
        )
        self.domain_adapted_ = bool(self.domain_adaptation and unlabelled.any())
        if not self.domain_adapted_:
            X, y_enc, sample_weight = X[labelled], y_enc[labelled], sample_weight[labelled]
            return self._fit_net(X, y_enc, sample_weight, stratify=y_enc)
        extra = self._domain_inputs(unlabelled, sample_weight)
        return self._fit_net(X, y_enc, sample_weight, stratify=y_enc, extra=extra)

    def _append_target(self, X, y, sample_weight, unlabelled, X_target):
        """The rows of ``X_target`` appended as unlabelled rows of weight 1."""
        X_target = validate_predict_data(self, X_target)
        n = X_target.shape[0]
        return (
            np.vstack([X, X_target]),
            np.concatenate([y, np.full(n, y[0], dtype=y.dtype)]),
            np.concatenate([sample_weight, np.ones(n, dtype=np.float32)]),
            np.concatenate([unlabelled, np.ones(n, dtype=bool)]),
        )

    def _encode_labelled(self, y, labelled, sample_weight, warm):
        """Set ``classes_`` from the labelled rows; their indices, -1 for the others."""
        check_classification_targets(y[labelled])
        classes = np.unique(y[labelled])
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs labelled rows (y != -1) of at least 2 classes; "
                f"got {classes.size} class."
            )
        check_class_weight_totals(y[labelled], sample_weight[labelled])
        self._set_classes(classes, warm)
        y_enc = np.full(y.shape[0], -1, dtype=np.int64)
        y_enc[labelled] = np.searchsorted(self.classes_, y[labelled])
        return y_enc

    @staticmethod
    def _domain_inputs(unlabelled, sample_weight):
        """Domain labels and weights that give both domains the same total."""
        totals = np.array(
            [np.abs(sample_weight[~unlabelled]).sum(), np.abs(sample_weight[unlabelled]).sum()]
        )
        if not totals[1] > 0:
            raise ValueError(
                "The unlabelled (y = -1) rows have zero total sample_weight: the domain head "
                "would have no target data. Give them weight, or set domain_adaptation=False."
            )
        domain_weight = sample_weight * (0.5 * totals.sum() / totals[unlabelled.astype(int)])
        return {
            "domain": unlabelled.astype(np.float32),
            "domain_weight": domain_weight.astype(np.float32),
        }

    # -- network ---------------------------------------------------------------
    def _resolve_modalities(self):
        n = self.n_features_in_
        names = getattr(self, "feature_names_in_", None)
        modalities = self.modalities
        if modalities is None:
            modalities = {"all": list(range(n))}
        if not isinstance(modalities, Mapping) or not modalities:
            raise ValueError("modalities must be a non-empty dict {name: [columns]} or None.")
        resolved = {}
        for name, cols in modalities.items():
            if isinstance(cols, (str, bytes, numbers.Number)) or not hasattr(cols, "__iter__"):
                raise ValueError(f"modality {name!r} must be a list of columns; got {cols!r}.")
            param = f"modality {name!r} column"
            idx = [column_index(col, n, names, param=param) for col in cols]
            if not idx:
                raise ValueError(f"modality {name!r} has no columns.")
            resolved[str(name)] = np.asarray(idx, dtype=np.int64)
        types = {name: "mlp" for name in resolved}
        branch_types = self.branch_types or {}
        for name, kind in branch_types.items():
            if str(name) not in resolved:
                raise ValueError(
                    f"branch_types names {name!r}, which is not a modality "
                    f"(modalities: {list(resolved)})."
                )
            if kind not in _BRANCH_TYPES:
                raise ValueError(
                    f"branch type of {name!r} must be one of {_BRANCH_TYPES}; got {kind!r}."
                )
            types[str(name)] = kind
        return resolved, types

    def _check_shape(self, shape, length, what):
        shape = tuple(shape)
        if len(shape) != length or any(not isinstance(s, numbers.Integral) or s < 1 for s in shape):
            raise ValueError(f"{what} must be {length} positive integers; got {shape!r}.")
        return shape

    def _build_branch(self, kind, X_cols):
        mean, std = feature_scaling(X_cols)
        act = self.activation
        if kind == "gnn":
            shape = self._check_shape(self.graph_shape, 4, "graph_shape")
            if X_cols.shape[1] != math.prod(shape):
                raise ValueError(
                    f"a 'gnn' modality needs prod(graph_shape) = {math.prod(shape)} columns "
                    f"(graph_shape={shape}); got {X_cols.shape[1]}."
                )
            return HitGraphNet(
                shape, self.embed_dim, self.gnn_hidden, self.gnn_steps, act, mean, std
            )
        if kind == "cnn":
            shape = self._check_shape(self.cnn_shape, 2, "cnn_shape")
            if X_cols.shape[1] != math.prod(shape):
                raise ValueError(
                    f"a 'cnn' modality needs prod(cnn_shape) = {math.prod(shape)} columns "
                    f"(cnn_shape={shape}); got {X_cols.shape[1]}."
                )
            return ClusterCNN(shape, self.embed_dim, self.cnn_channels, act, mean, std)
        return nn.Sequential(
            MLP(
                X_cols.shape[1],
                self.hidden_layers,
                self.embed_dim,
                activation=act,
                mean=mean,
                std=std,
            ),
            make_activation(act),
        )

    def _build_module(self, X, y):
        for name in ("hidden_layers", "head_hidden", "domain_hidden"):
            check_layer_widths(getattr(self, name), name)
        if self.embed_dim % self.n_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide embed_dim={self.embed_dim}.")
        modalities, types = self._resolve_modalities()
        self.modality_names_ = list(modalities)
        self.modality_columns_ = modalities
        self.branch_types_ = types
        source = X[y >= 0]  # input scaling from the labelled (source) rows
        branches = {
            name: self._build_branch(types[name], source[:, cols])
            for name, cols in modalities.items()
        }
        return MDANet(
            modalities,
            branches,
            self.embed_dim,
            len(self.classes_),
            n_heads=self.n_heads,
            head_hidden=self.head_hidden,
            domain_hidden=self.domain_hidden,
            activation=self.activation,
            dropout=self.dropout,
        )

    def _net_kwargs(self):
        kwargs = {"domain_steps": self.domain_steps}
        if self.domain_lr_factor != 1.0:
            kwargs["optimizer__param_groups"] = [
                ("domain_head.*", {"lr": self.lr * self.domain_lr_factor})
            ]
        return kwargs

    def _build_criterion(self):
        return nn.CrossEntropyLoss(reduction="none")

    def _recorded_terms(self):
        terms = [("label_loss", True)]
        if self.domain_adapted_:
            terms += [("domain_loss", True), ("domain_acc", True)]
        return terms

    def _extra_callbacks(self):
        if not self.domain_adapted_:
            return []
        return [("grl", GRLSchedule(self.grl_schedule, self.grl_lambda, self.batch_size))]

    # -- outputs ---------------------------------------------------------------
    def _outputs(self, X):
        check_is_fitted(self)
        return self._forward(validate_predict_data(self, X))

    def _proba_from_output(self, output):
        return super()._proba_from_output(output[0])

    def embed(self, X):
        """The learned (fused) representation that both heads read.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, embed_dim)
        """
        return self._outputs(X)[2]

    def fusion_weights(self, X):
        """Attention each modality receives, per event (rows sum to one).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_modalities)
            Columns ordered as ``modality_names_``.
        """
        return self._outputs(X)[3]

    def domain_score(self, X):
        """The domain head's probability that a row is target-domain data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if not self.domain_adapted_:
            raise ValueError(
                "No domain head was trained: fit with unlabelled target rows (y = -1 or "
                "X_target) and domain_adaptation=True."
            )
        return expit(self._outputs(X)[1].astype(np.float64))

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labelled rows (rows with ``y = -1`` are ignored).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        y = np.asarray(y)
        keep = ~_unlabelled_mask(y)
        if hasattr(X, "iloc"):
            X_keep = X.iloc[np.flatnonzero(keep)]
        else:
            X_keep = np.asarray(X)[keep] if not keep.all() else X
        sw = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return accuracy_score(y[keep], self.predict(X_keep), sample_weight=sw)
