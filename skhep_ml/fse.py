"""Feature Set Embedding + attention classifier for data with missing values.

The particle-identification network of ALICE for tracks with missing detector
signals (EPJ C 84 (2024) 691, JINST 19 (2024) C07013; inspired by AMI-Net):
every present (feature, value) pair of a row is a token, a missing value (NaN)
is no token and is never imputed. The torch module is
:class:`skhep_ml.nn.FSEAttentionNet`.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.special import expit, log_softmax
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from skhep_ml._base import (
    DomainAdaptiveClassifier,
    fill_training_doc,
    sigmoid_normalised64,
    store_params,
)
from skhep_ml.metrics import f1_optimal_threshold
from skhep_ml.nn import FSEAttentionNet, feature_scaling
from skhep_ml.utils import feature_names

__all__ = ["FSEAttentionClassifier"]

# certainties are clipped to [_CLIP, 1 - _CLIP] before taking logits
_CLIP = 1e-12


def _logit(p):
    p = np.clip(p, _CLIP, 1.0 - _CLIP)
    return np.log(p) - np.log1p(-p)


@fill_training_doc
class FSEAttentionClassifier(DomainAdaptiveClassifier):
    """Transformer over the set of present features; NaN means "no signal".

    Each present (feature, value) pair of a row is embedded as a token (the
    seed's MLP over ``[one-hot(feature) ‖ value]``, n -> 128 -> ``d_model``),
    a Transformer encoder (``n_layers`` layers, ``n_heads`` heads,
    feed-forward ``dim_feedforward``) mixes the tokens, an attention pooling
    (MLP ``d_model`` -> 64 -> ``d_model`` scoring every token per channel,
    softmax over the present tokens) sums them into one vector, and a head
    ``d_model`` -> 64 -> 1 per class (``multi_class="ovr"``, binary
    cross-entropy, as ALICE trains one model per species) or a softmax head
    (``multi_class="softmax"``, cross-entropy) classifies it.

    A batch may mix every pattern of missing features (the attention and the
    pooling are masked per row); a row with every feature missing gets a
    finite, constant prediction. Each feature is standardised with the mean
    and standard deviation of its present training values, inside the
    network, so that a saved or exported model (:func:`skhep_ml.export.to_onnx`)
    takes raw values.

    Particle identification is trained on simulation and applied to data:
    with ``domain_adaptation="dann"`` or ``"cdan"`` and unlabelled data rows
    (``y = -1`` or ``X_target``), a domain classifier on the pooled token
    vector (CDAN: the vector ⊗ the class certainties) trains it to look the
    same in both (as the DANN and CDAN variants of the ALICE attention
    model). The domain classifier is a training device: ``predict_proba``
    and the ONNX export use the classifier alone.

    ``predict`` applies per-class thresholds ``thresholds_`` on the class
    certainty (the sigmoid of a species head for ``"ovr"``, the softmax
    probability for ``"softmax"``), each maximising the F1 score of its class
    (one-vs-rest) on the validation split: the predicted class is the one
    whose certainty exceeds its threshold by the largest margin in logit,
    ``decision_function``.

    Parameters
    ----------
    multi_class : {"ovr", "softmax"}, default="ovr"
        One sigmoid head per class (binary problems: one head for
        ``classes_[1]``) or one softmax head.
    d_model : int, default=32
        Token width.
    n_heads : int, default=2
    n_layers : int, default=2
    dim_feedforward : int, default=128
    embed_hidden : int, default=128
        Hidden width of the token embedding.
    pool_hidden : int, default=64
        Hidden width of the pooling scorer.
    head_hidden : int, default=64
        Hidden width of each classification head.
    dropout : float, default=0.1
    thresholds : {"f1"} or None, default="f1"
        ``"f1"``: per-class F1-optimal thresholds on the validation split
        (on the training rows when there is no validation split; on the chunk
        with ``partial_fit``, where a class absent from the chunk keeps its
        threshold). ``None``:
        every threshold 0.5 (``"ovr"``; ``predict`` is then the most certain
        class) or equal (``"softmax"``: ``predict`` is the argmax of
        ``predict_proba``).
    class_weight : dict, "balanced" or None, default=None
        ``sample_weight`` in ``fit`` weighs each row's loss and its F1 in the
        threshold choice; negative weights (NLO simulation) enter both with
        their sign.
    {domain_parameters}
    {training_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    thresholds_ : ndarray of shape (n_classes,), or (1,) for binary problems
        Certainty threshold of each class (binary: of ``classes_[1]``).
    feature_mean_, feature_scale_ : ndarray of shape (`n_features_in_`,)
        Standardisation of each feature, from its present training values.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    net_ : skorch.NeuralNet
        ``net_.module_`` is the :class:`~skhep_ml.nn.FSEAttentionNet`.
    history_, n_epochs_, best_epoch_
        As for every neural estimator; with domain adaptation ``history_``
        also holds the domain classifier's loss and accuracy per epoch (see
        :class:`~skhep_ml.DNNClassifier`).
    domain_adapted_ : bool
        Whether a domain classifier was trained (target rows were given).
    domain_probe_auc_ : float
        After a domain-adapted fit: cross-validated AUC of a fresh linear
        probe telling the domains apart from the pooled token vector of the
        validation rows (0.5: aligned).

    See Also
    --------
    skhep_ml.export.to_onnx : export to ONNX (and the ALICE O2Physics layout).
    skhep_ml.XGBoostBaseline : gradient-boosted trees, also NaN-native.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skhep_ml import FSEAttentionClassifier
    >>> X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    >>> X[::3, 0] = np.nan  # a missing signal is no token, never imputed
    >>> clf = FSEAttentionClassifier(max_epochs=15, lr=3e-3, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.85
    True
    >>> proba = clf.predict_proba(np.full((1, 5), np.nan))  # every feature missing
    >>> bool(np.isfinite(proba).all())
    True
    >>> clf.attention_weights(X[:2]).shape
    (2, 5)
    """

    # the network groups each chunk's rows by pattern and evaluates 256 rows of
    # one pattern at a time (FSEAttentionNet.group_rows): large chunks leave
    # few small groups (benchmarks/fse_speed.py)
    _predict_chunk = 8192

    _parameter_constraints: dict = {
        **DomainAdaptiveClassifier._parameter_constraints,
        "multi_class": [StrOptions({"ovr", "softmax"})],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left")],
        "embed_hidden": [Interval(Integral, 1, None, closed="left")],
        "pool_hidden": [Interval(Integral, 1, None, closed="left")],
        "head_hidden": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "thresholds": [StrOptions({"f1"}), None],
    }

    def __init__(
        self,
        multi_class="ovr",
        d_model=32,
        n_heads=2,
        n_layers=2,
        dim_feedforward=128,
        embed_hidden=128,
        pool_hidden=64,
        head_hidden=64,
        dropout=0.1,
        thresholds="f1",
        *,
        domain_adaptation=None,
        domain_lambda=1.0,
        domain_schedule="dann",
        domain_lr_ratio=10.0,
        domain_steps=1,
        domain_hidden=(64,),
        max_epochs=30,
        batch_size=64,
        lr=5e-4,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule="exponential",
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

    # -- network -------------------------------------------------------------
    @property
    def _probabilities(self):
        return "sigmoid" if self.multi_class == "ovr" else "softmax"

    def _n_outputs(self):
        n = len(self.classes_)
        return 1 if (self.multi_class == "ovr" and n == 2) else n

    def _build_classifier(self, X, y):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}.")
        self.feature_mean_, self.feature_scale_ = feature_scaling(X)
        return FSEAttentionNet(
            X.shape[1],
            self._n_outputs(),
            d_model=self.d_model,
            n_heads=self.n_heads,
            n_layers=self.n_layers,
            dim_feedforward=self.dim_feedforward,
            embed_hidden=self.embed_hidden,
            pool_hidden=self.pool_hidden,
            head_hidden=self.head_hidden,
            dropout=self.dropout,
            separate_heads=self.multi_class == "ovr",
            mean=self.feature_mean_,
            std=self.feature_scale_,
        )

    def _net_kwargs(self):
        # one missingness pattern per batch: the network then needs no mask
        # and runs the present tokens only (benchmarks/fse_speed.py)
        return {
            **super()._net_kwargs(),
            "iterator_train__by_pattern": True,
            "iterator_valid__by_pattern": True,
        }

    def _build_criterion(self):
        if self.multi_class == "ovr":
            return nn.BCEWithLogitsLoss(reduction="none")
        return nn.CrossEntropyLoss(reduction="none")

    def _encode_target(self, y_enc):
        if self.multi_class == "softmax":
            return y_enc.astype(np.int64)
        if self._n_outputs() == 1:
            return y_enc.astype(np.float32)[:, None]
        return np.eye(len(self.classes_), dtype=np.float32)[y_enc]

    # -- outputs -------------------------------------------------------------
    def _certainty_logit(self, output):
        """Logit of each class certainty, [n, n_outputs] (float64)."""
        output = output.astype(np.float64)
        if self.multi_class == "ovr":
            return output
        logp = log_softmax(output, axis=1)
        p = np.exp(logp)
        return logp - np.log(np.clip(1.0 - p, _CLIP, None))

    def _certainty(self, X):
        """Certainty of each class (sigmoid of its head, or softmax probability)."""
        return self._forward(X, finish=lambda output: expit(self._certainty_logit(output)))

    def _proba_from_output(self, output):
        if self.multi_class == "softmax":
            return super()._proba_from_output(output)
        return sigmoid_normalised64(output, _CLIP)

    def _post_fit(self, X, y, sample_weight, train_idx, valid_idx):
        super()._post_fit(X, y, sample_weight, train_idx, valid_idx)
        # target rows of a domain-adapted fit carry weight 0: they do not vote
        rows = train_idx if valid_idx is None else valid_idx
        n_out = self._n_outputs()
        if self.thresholds is None:
            self.thresholds_ = np.full(n_out, 0.5)
            return
        # a class without rows keeps the threshold a continued fit (partial_fit) had
        previous = getattr(self, "thresholds_", None) if self._continues() else None
        certainty = self._certainty(X[rows])
        y_rows = np.asarray(y)[rows]
        y_enc = y_rows if y_rows.ndim == 1 else np.argmax(y_rows, axis=1)
        if n_out == 1 and y_rows.ndim == 2:  # binary ovr: targets [n, 1]
            y_enc = y_rows[:, 0].astype(np.int64)
        w = sample_weight[rows]
        cols = [1] if len(self.classes_) == 2 else range(len(self.classes_))
        thresholds = []
        for i, k in enumerate(cols):
            score = certainty[:, -1] if n_out == 1 else certainty[:, k]
            truth = (y_enc == k).astype(int)
            if truth.sum() == 0 or (w[truth == 1].sum() <= 0):
                thresholds.append(0.5 if previous is None else previous[i])
                continue
            thresholds.append(f1_optimal_threshold(truth, score, sample_weight=w)[0])
        self.thresholds_ = np.asarray(thresholds, dtype=np.float64)

    def decision_function(self, X):
        """Margin of each class certainty over its threshold, in logit.

        Positive where a class passes its threshold (``thresholds_``);
        ``predict`` takes the largest.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for binary
        problems (the margin of ``classes_[1]``).
        """
        return self._predict_rows(X, self._margins)

    def _margins(self, X):
        # through the certainty, as when the thresholds were chosen, so that a row
        # whose certainty equals a threshold gets a margin of exactly 0
        logit = _logit(self._certainty(X))
        if len(self.classes_) == 2:
            return logit[:, -1] - _logit(self.thresholds_[0])
        return logit - _logit(self.thresholds_)

    def predict(self, X):
        """Class of the largest certainty margin over its threshold.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        d = self.decision_function(X)
        if d.ndim == 1:
            return self.classes_[(d >= 0).astype(int)]  # a cut keeps score >= threshold
        return self.classes_[np.argmax(d, axis=1)]

    def attention_weights(self, X):
        """Pooling weight of every feature, averaged over the token channels.

        The weights of a row sum to 1 over its present features and are 0 for
        its missing ones (a row with no present feature has all 0).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        DataFrame of shape (n_samples, n_features)
            Columns are ``feature_names_in_`` (or ``x0``, ``x1``, ...).
        """
        w = self._predict_rows(
            X,
            lambda Xb: self._forward(
                Xb,
                fn=lambda module, xb: module.pooling_weights(xb)[0].mean(dim=-1),
                finish=lambda w: w.astype(np.float64),
            ),
        )
        return pd.DataFrame(w, columns=feature_names(self))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
