"""Multimodal domain-adversarial classifier (MC-to-data domain adaptation)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from skhep_ml._base import DomainAdaptiveClassifier, fill_training_doc, store_params
from skhep_ml.nn import (
    MLP,
    ClusterCNN,
    GroupedDomainClassifier,
    HitGraphNet,
    MDANet,
    feature_scaling,
)
from skhep_ml.nn import activation as make_activation
from skhep_ml.utils import check_layer_widths, column_index

__all__ = ["MDAClassifier"]

_BRANCH_TYPES = ("mlp", "gnn", "cnn")


@fill_training_doc
class MDAClassifier(DomainAdaptiveClassifier):
    """Multimodal domain-adversarial classifier.

    One sub-network per modality (a named group of columns of one table),
    matched to the structure of its input: a graph network over tracker hits
    (``"gnn"``), a CNN over a grid such as cluster counts per layer and side
    (``"cnn"``) or an MLP (``"mlp"``). Their outputs, one token per modality
    plus a learned modality encoding, are fused by multi-head self-attention;
    a signal/background head is trained on the labelled (simulated) rows and,
    when unlabelled target rows (real data) are given, a domain classifier on
    the fused representation (DANN, Ganin et al., arXiv:1505.07818; or CDAN,
    arXiv:1705.10667) learns to tell simulation from data while the shared
    features learn to make that impossible, so that the classifier behaves
    on data as on simulation.

    Unlabelled target rows are given as rows with ``y = -1``
    (scikit-learn's semi-supervised convention: ``Pipeline`` and
    ``cross_val_score`` need nothing extra; ``score`` ignores them), by
    ``sample_domain < 0`` (skada's convention) or as
    ``fit(X, y, X_target=...)``. Without target rows it is a plain
    multimodal classifier; with ``domain_adaptation=None``, -1 is an
    ordinary label.

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
    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"}, default="relu"
    dropout : float, default=0.1
        Dropout in the label head.
    domain_features : {"fused", "modalities"}, default="fused"
        What the domain classifier reads: the fused representation, or every
        modality's token with one domain classifier per modality (losses
        averaged). Per modality, each branch must be domain-invariant on its
        own, so a modality whose simulation cannot be aligned with the data
        is pushed to carry little instead of being hidden in the fusion.
    class_weight : dict, "balanced" or None, default=None
        Applied to the labelled rows.
    {domain_parameters}
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
        Whether a domain classifier was trained (target rows were given).
    domain_probe_auc_ : float
        After a domain-adapted fit: cross-validated AUC of a fresh linear
        probe telling the domains apart from the fused representation of the
        validation rows (0.5: aligned).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    net_ : skorch.NeuralNet
    history_ : skorch.callbacks.History
        Per epoch: ``train_loss``, ``valid_loss`` (label loss on the
        held-out labelled rows) and, with a domain classifier,
        ``{train,valid}_loss_clf``, ``{train,valid}_loss_domain``,
        ``{train,valid}_domain_acc``, ``domain_lambda``, ``lr_domain`` and, in
        the last epoch, ``domain_probe_auc``.
    n_epochs_ : int
    best_epoch_ : int

    Notes
    -----
    Training defaults: ``lr_schedule="cosine"`` because a decaying rate lets
    the adversarial game settle (below); the validation rows are stratified
    over the classes and the unlabelled rows, and early stopping follows the
    label loss of the labelled ones.

    The adversarial game settles better with a decaying learning rate: on
    the ``domain`` benchmark, with a constant rate the features keep fooling
    the (lagging) domain head while a freshly trained gradient-boosted domain
    classifier still reaches AUC 0.60-0.63; ``lr_schedule="cosine"`` over 60
    epochs with ``domain_lambda=10`` brings it to 0.56-0.58 (see
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
    >>> sorted(k for k in clf.history_[-1] if "domain_acc" in k)
    ['train_domain_acc', 'valid_domain_acc']
    """

    _parameter_constraints: dict = {
        **DomainAdaptiveClassifier._parameter_constraints,
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
        "activation": [StrOptions({"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "domain_features": [StrOptions({"fused", "modalities"})],
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
        activation="relu",
        dropout=0.1,
        domain_features="fused",
        domain_adaptation="dann",
        domain_lambda=1.0,
        domain_schedule="dann",
        domain_lr_ratio=10.0,
        domain_steps=1,
        domain_hidden=(64,),
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

    def _build_classifier(self, X, y):
        for name in ("hidden_layers", "head_hidden"):
            check_layer_widths(getattr(self, name), name)
        if self.embed_dim % self.n_heads:
            raise ValueError(f"n_heads={self.n_heads} must divide embed_dim={self.embed_dim}.")
        modalities, types = self._resolve_modalities()
        self.modality_names_ = list(modalities)
        self.modality_columns_ = modalities
        self.branch_types_ = types
        branches = {
            name: self._build_branch(types[name], X[:, cols]) for name, cols in modalities.items()
        }
        return MDANet(
            modalities,
            branches,
            self.embed_dim,
            len(self.classes_),
            n_heads=self.n_heads,
            head_hidden=self.head_hidden,
            activation=self.activation,
            dropout=self.dropout,
            domain_features=self.domain_features,
        )

    def _domain_classifier(self, width):
        if self.domain_features == "fused":
            return super()._domain_classifier(width)
        n = len(self.modality_names_)
        return GroupedDomainClassifier(n, width // n, self.domain_hidden, self.activation)

    def _build_criterion(self):
        return nn.CrossEntropyLoss(reduction="none")

    # -- outputs ---------------------------------------------------------------
    def _output(self, X, i):
        """Output ``i`` of the network (0 logits, 1 embedding, 2 fusion weights)."""
        return self._predict_rows(X, lambda Xb: self._forward(Xb, finish=lambda out: out[i]))

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
        return self._output(X, 1)

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
        return self._output(X, 2)
