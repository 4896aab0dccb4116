"""Classifiers independent of a protected variable: learning to pivot and DisCo.

A classifier trained on features that are correlated with a variable ``Z``
(a nuisance parameter, or the jet mass) learns ``Z``: its output depends on
``Z`` and a cut on it sculpts the ``Z`` distribution of the background.
:class:`PivotClassifier` trains the classifier together with a penalty on that
dependence:

- ``method="adversary"``: Louppe, Kagan & Cranmer, "Learning to Pivot with
  Adversarial Networks" (arXiv:1611.01046). An adversary ``r`` predicts ``Z``
  from the classifier output ``f(X)`` (a Gaussian mixture density network for
  a continuous ``Z``, a softmax for a discrete one); ``f`` minimises
  ``L_f - λ L_r`` while ``r`` minimises its own loss ``L_r``.
- ``method="disco"``: the distance-correlation penalty of Kasieczka & Shih
  (DisCo, arXiv:2001.05310), ``L_f + λ dCor²(f(X), Z)``, computed per
  minibatch with the event weights; no adversary, a plain minimisation.

Mass decorrelation (arXiv:1703.03507) applies the penalty to the background
only (``adversary_on="background"``).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from skhep_ml._base import BaseNeuralClassifier, fill_training_doc, store_params
from skhep_ml._nets import AdversarialNet
from skhep_ml.nn import (
    MLP,
    AdversarialModel,
    CategoricalAdversary,
    MixtureDensityNetwork,
    feature_scaling,
)
from skhep_ml.utils import check_layer_widths, column_index

__all__ = ["PivotClassifier"]

# ``protected_type="auto"`` treats Z as discrete when it holds integers with at
# most this many distinct values.
_MAX_DISCRETE_VALUES = 10

# Per-epoch history keys of the two terms (the combined loss is ``*_loss``).
_TERMS = ("train_loss_clf", "train_loss_adv", "valid_loss_clf", "valid_loss_adv")


@fill_training_doc
class PivotClassifier(BaseNeuralClassifier):
    """Neural classifier whose output is made independent of a protected variable.

    The protected variable ``Z`` (a nuisance parameter, or the jet mass) is a
    column of ``X``, given by name or index, that the classifier does **not**
    see (as ``uniform_features`` in hep_ml): ``fit(X, y, sample_weight)`` stays
    plain, so ``Pipeline``, ``GridSearchCV`` and ``cross_validate`` work
    unchanged, and ``predict_proba`` takes the same columns (the protected one
    is dropped before the network). Alternatively set ``protected=None`` and
    pass ``Z`` as ``fit(..., z=Z)``, which scikit-learn's metadata routing
    forwards (``set_fit_request(z=True)``).

    ``method="adversary"`` (arXiv:1611.01046): the classifier ``f`` and an
    adversary ``r`` that models ``p(Z | f(X))`` -- a Gaussian mixture density
    network with ``n_components`` components for a continuous ``Z``, a
    softmax over its values for a discrete one -- are trained as in the
    paper: ``pretrain_epochs`` epochs of ``f`` on its cross-entropy ``L_f``,
    ``adversary_pretrain_epochs`` epochs of ``r`` on its negative
    log-likelihood ``L_r``, then ``max_epochs`` epochs where every minibatch
    makes ``adversary_steps`` updates of ``r`` (minimising ``L_r``) followed by
    one update of ``f`` minimising ``L_f - λ L_r``. The adversary sees the
    classifier's output only (for two classes, the signal probability).

    ``method="disco"`` (arXiv:2001.05310): ``f`` minimises
    ``L_f + λ dCor²(s, Z)``, where ``s = 1 - p(classes_[0])`` and the weighted
    squared distance correlation is computed on every minibatch (use a
    batch size of a few hundred or more); pretraining parameters are ignored.

    ``adversary_on="background"`` applies the adversary (or the DisCo term) to
    the rows of the first class ``classes_[0]`` only (the background, as in
    mass decorrelation); ``"all"`` to every row (a nuisance parameter that
    affects both classes, the paper's setting).

    Parameters
    ----------
    protected : str, int or None, default="mass"
        Column of ``X`` holding ``Z``: a name (``X`` must then be a DataFrame)
        or an index (negative counts from the end). ``None``: ``Z`` is passed
        to ``fit`` as ``z=`` and every column of ``X`` is a classifier input.
    method : {"adversary", "disco"}, default="adversary"
    lambda_ : float, default=20.0
        Strength of the decorrelation: λ of ``L_f - λ L_r`` or of
        ``L_f + λ dCor²``. 0 gives an unconstrained classifier (the adversary is
        still trained, so its loss tells how much ``f`` reveals about ``Z``).
    hidden_layers : tuple of int, default=(64, 64)
        Classifier hidden layers.
    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"}, default="relu"
    dropout : float, default=0.0
    adversary_on : {"background", "all"}, default="background"
    protected_type : {"auto", "continuous", "discrete"}, default="auto"
        ``"auto"``: discrete when ``Z`` holds integers with at most 10
        distinct values.
    n_components : int, default=5
        Gaussians of the mixture density network (continuous ``Z``).
    adversary_hidden_layers : tuple of int, default=(32, 32)
    adversary_steps : int, default=1
        Adversary updates per classifier update (``K`` of the paper's
        algorithm; all on the current minibatch).
    adversary_lr : float or None, default=None
        Learning rate of the adversary; ``None`` uses ``lr``.
    pretrain_epochs : int, default=5
        Epochs of classifier pretraining (adversary method).
    adversary_pretrain_epochs : int, default=5
        Epochs of adversary pretraining with the classifier fixed.
    class_weight : dict, "balanced" or None, default=None
    {training_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Columns of ``X``, the protected one included.
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    protected_index_ : int or None
        Position of the protected column in ``X`` (``None`` with ``z=``).
    protected_type_ : {"continuous", "discrete"}
    z_values_ : ndarray or None
        The values of a discrete ``Z`` (the softmax adversary's classes).
    net_ : skorch.NeuralNet
        ``net_.module_`` is a :class:`skhep_ml.nn.AdversarialModel` (the
        classifier and its adversary); ``net_.optimizer_adv_`` trains the
        adversary. The training game is the one of domain adaptation
        (:class:`skhep_ml._nets.AdversarialNet`).
    history_ : skorch.callbacks.History
        Per epoch after pretraining: ``train_loss`` / ``valid_loss`` (combined),
        ``train_loss_clf`` / ``valid_loss_clf`` (``L_f``),
        ``train_loss_adv`` / ``valid_loss_adv`` (``L_r``, or ``dCor²`` for
        DisCo), ``adv_lambda`` and the adversary's learning rate ``lr_adv``.
    pretrain_history_ : list of dict
        Per pretraining epoch: ``phase`` ("classifier" or "adversary"),
        ``epoch``, ``loss_clf``, ``loss_adv`` (empty for DisCo).
    n_epochs_ : int
    best_epoch_ : int

    Notes
    -----
    Training defaults: ``max_epochs`` counts the adversarial (or penalised)
    epochs after pretraining. ``early_stopping`` is off by default: the
    combined loss of a minimax game need not decrease as training improves
    (the paper trains a fixed number of epochs); when on, it monitors the
    combined validation loss of the post-pretraining epochs and restores the
    best weights (classifier and adversary). ``warm_start`` continues the
    adversarial training of the fitted networks (no new pretraining), as
    ``partial_fit`` does after its first call, whose chunk also gives the
    pretraining and fixes the encoding of ``Z`` (a discrete ``Z`` needs all
    its values in it).

    The defaults (``lambda_=20``, ``lr_schedule="cosine"``) were chosen by a
    protocol on development draws of the pivot paper's toy (``python -m
    benchmarks pivot_defaults``): the adversary is trained by the library's
    one adversarial mechanism (:class:`skhep_ml._nets.AdversarialNet`) at a
    constant learning rate while the cosine schedule slows the classifier, so
    that the adversary keeps up as the classifier settles. With a constant
    rate for both (v0.1), where the minimax game ends varied from seed to seed
    (spread across Z reduced 1.8x to 11x); with the schedule it is
    reproducible. ``lambda_`` then picks the point on the trade-off between
    independence and AUC: on the toy a 5x reduction costs about 0.05 in AUC
    whatever the setting, and no candidate met both the 5x and the 0.05 of
    the protocol's rule on every development draw; ``lambda_=20`` was chosen
    for the independence (5.8x less spread across Z on fresh draws, worst
    4.3x) at an AUC cost of 0.055. Lower ``lambda_`` for less cost (10: about
    3.4x at 0.037).

    ``sample_weight`` weights every loss term: ``L_f`` and ``L_r`` are
    weighted means (``sum(w l) / sum(|w|)``), and the DisCo term uses the
    weights of the penalised rows normalised to unit sum. Negative weights
    (NLO simulation) enter with their sign; a minibatch whose penalised rows
    have a non-positive total weight contributes no DisCo term.

    Examples
    --------
    >>> from skhep_ml import PivotClassifier
    >>> from skhep_ml.datasets import make_pivot_toy
    >>> X, y = make_pivot_toy(n_samples=1000, random_state=0)
    >>> list(X.columns)
    ['x0', 'x1', 'z']
    >>> clf = PivotClassifier(
    ...     protected="z", adversary_on="all", lambda_=1.0, hidden_layers=(16,),
    ...     max_epochs=3, pretrain_epochs=2, adversary_pretrain_epochs=2, random_state=0,
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> sorted(k for k in clf.history_[-1] if k.endswith(("_clf", "_adv")) and "lr" not in k)
    ['train_loss_adv', 'train_loss_clf', 'valid_loss_adv', 'valid_loss_clf']
    """

    _parameter_constraints: dict = {
        **BaseNeuralClassifier._parameter_constraints,
        "protected": [str, Integral, None],
        "method": [StrOptions({"adversary", "disco"})],
        "lambda_": [Interval(Real, 0, None, closed="left")],
        "hidden_layers": [tuple, list],
        "activation": [StrOptions({"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "adversary_on": [StrOptions({"background", "all"})],
        "protected_type": [StrOptions({"auto", "continuous", "discrete"})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "adversary_hidden_layers": [tuple, list],
        "adversary_steps": [Interval(Integral, 1, None, closed="left")],
        "adversary_lr": [Interval(Real, 0, None, closed="neither"), None],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "adversary_pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    _net_class = AdversarialNet

    def __init__(
        self,
        protected="mass",
        method="adversary",
        lambda_=20.0,
        hidden_layers=(64, 64),
        activation="relu",
        dropout=0.0,
        adversary_on="background",
        protected_type="auto",
        n_components=5,
        adversary_hidden_layers=(32, 32),
        adversary_steps=1,
        adversary_lr=None,
        pretrain_epochs=5,
        adversary_pretrain_epochs=5,
        *,
        max_epochs=30,
        batch_size=256,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule="cosine",
        lr_decay=0.98,
        validation_fraction=0.1,
        early_stopping=False,
        n_iter_no_change=10,
        class_weight=None,
        random_state=None,
        device="cpu",
        verbose="auto",
        warm_start=False,
    ):
        store_params(self, locals())

    # -- fit ---------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, z=None):
        """Fit classifier and adversary.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Classifier inputs plus, unless ``protected=None``, the protected
            column.
        y : array-like of shape (n_samples,)
            Class labels; ``classes_[0]`` is the background of
            ``adversary_on="background"``.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights of every loss term (see Notes); negative weights
            enter with their sign, the total must be positive.
        z : array-like of shape (n_samples,), default=None
            The protected variable when ``protected=None`` (routed by
            scikit-learn's metadata routing after ``set_fit_request(z=True)``).

        Returns
        -------
        self
        """
        return self._fit_validated(X, y, sample_weight, z=z)

    def _protected_values(self, X, z):
        """Split ``X`` into classifier inputs and ``Z`` (given as ``z`` or a column)."""
        if self.protected is None:
            if z is None:
                raise ValueError(
                    "PivotClassifier needs the protected variable: set protected to a column "
                    "of X, or pass fit(..., z=Z)."
                )
            z = np.asarray(z, dtype=np.float64).reshape(-1)
            if z.shape[0] != X.shape[0]:
                raise ValueError(f"z has {z.shape[0]} values but X has {X.shape[0]} rows.")
            if not np.all(np.isfinite(z)):
                raise ValueError("z contains NaN or inf.")
            self.protected_index_ = None
            return X, z
        if z is not None:
            raise ValueError(
                f"z was passed to fit but protected={self.protected!r} already names the "
                "protected column of X; give one of them (protected=None to use z)."
            )
        idx = column_index(
            self.protected,
            X.shape[1],
            getattr(self, "feature_names_in_", None),
            param="protected",
        )
        if X.shape[1] < 2:
            raise ValueError(
                "PivotClassifier needs at least one classifier input besides the protected "
                f"column; X has {X.shape[1]} feature(s)."
            )
        self.protected_index_ = idx
        return np.delete(X, idx, axis=1), X[:, idx].astype(np.float64)

    def _encode_z(self, z, warm):
        """``Z`` as the adversary wants it: standardised values or value indices."""
        if warm:  # keep the encoding the fitted adversary was built with
            kind = self.protected_type_
        else:
            kind = self.protected_type
            if kind == "auto":
                values = np.unique(z)
                integral = np.all(values == np.round(values))
                small = values.size <= _MAX_DISCRETE_VALUES
                kind = "discrete" if integral and small else "continuous"
            self.protected_type_ = kind
            self.z_values_ = np.unique(z) if kind == "discrete" else None
            mean, std = feature_scaling(z[:, None])
            self._z_scale = (float(mean[0]), float(std[0]))
        if kind == "continuous":
            return z.astype(np.float32)
        unknown = np.setdiff1d(z, self.z_values_)
        if unknown.size:
            raise ValueError(
                f"z holds values {unknown[:5].tolist()} unknown to the fitted adversary "
                f"(z_values_ = {self.z_values_.tolist()}, from fit or the first partial_fit "
                "chunk); refit with warm_start=False, or start partial_fit with a chunk holding "
                "every value."
            )
        return np.searchsorted(self.z_values_, z).astype(np.int64)

    def _fit(self, X, y_enc, sample_weight, z=None):
        X_in, z = self._protected_values(X, z)
        z_enc = self._encode_z(z, self._continues())
        # the rows the penalty applies to: the background (classes_[0]) or all
        penalised = sample_weight
        if self.adversary_on == "background":
            penalised = sample_weight * (y_enc == 0)
        extra = {"adversary_target": z_enc, "adversary_weight": penalised.astype(np.float32)}
        return self._fit_net(
            X_in, self._encode_target(y_enc), sample_weight, stratify=y_enc, extra=extra
        )

    # -- hooks of the base ---------------------------------------------------
    def _build_module(self, X, y):
        check_layer_widths(self.hidden_layers, "hidden_layers")
        check_layer_widths(self.adversary_hidden_layers, "adversary_hidden_layers")
        mean, std = feature_scaling(X)
        n_classes = len(self.classes_)
        classifier = MLP(
            X.shape[1],
            self.hidden_layers,
            n_classes,
            activation=self.activation,
            dropout=self.dropout,
            mean=mean,
            std=std,
        )
        adversary = None
        if self.method == "adversary":
            if self.protected_type_ == "discrete":
                adversary = CategoricalAdversary(
                    n_classes - 1,
                    len(self.z_values_),
                    self.adversary_hidden_layers,
                    self.activation,
                )
            else:
                adversary = MixtureDensityNetwork(
                    n_classes - 1,
                    self.n_components,
                    self.adversary_hidden_layers,
                    self.activation,
                    z_mean=self._z_scale[0],
                    z_std=self._z_scale[1],
                )
        return AdversarialModel(classifier, adversary, adversary_input="output")

    def _build_criterion(self):
        return nn.CrossEntropyLoss(reduction="none")

    def _net_kwargs(self):
        return dict(
            penalty=self.method,
            lambda_=self.lambda_,
            lambda_schedule="fixed",
            adversary_steps=self.adversary_steps,
            adversary_lr_ratio=(self.adversary_lr or self.lr) / self.lr,
            pretrain_epochs=self.pretrain_epochs,
            adversary_pretrain_epochs=self.adversary_pretrain_epochs,
            valid_loss="combined",
            term_name="adv",
        )

    def _recorded_terms(self):
        return [(name, name.startswith("train")) for name in _TERMS]

    def _post_fit(self, X, y, sample_weight, train_idx, valid_idx):
        self.pretrain_history_ = list(getattr(self.net_, "pretrain_history_", []))

    def _forward(self, X, **kwargs):
        if getattr(self, "protected_index_", None) is not None:
            X = np.delete(X, self.protected_index_, axis=1)
        return super()._forward(X, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Withholding the protected column from the classifier is the point:
        # on scikit-learn's two-feature check data half of the information is
        # gone, so the checks' accuracy thresholds do not apply.
        tags.classifier_tags.poor_score = self.protected is not None
        return tags
