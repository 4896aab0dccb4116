"""Model-independent anomaly detection with (variational) autoencoders."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from skhep_ml._base import BaseNeuralOutlierDetector, fill_training_doc, store_params
from skhep_ml._nets import VAENet, WeightedNeuralNet
from skhep_ml.nn import Autoencoder, VariationalAutoencoder
from skhep_ml.utils import (
    check_layer_widths,
    feature_names,
)

__all__ = ["AutoencoderAnomalyDetector"]


def auto_hidden_layers(n_features):
    """``hidden_layers="auto"``: ``(2n, max(1, n // 4), 2n)`` for ``n`` features.

    The bottleneck must be much narrower than the input, or the network learns
    the identity and reconstructs anomalies as well as the rest. The rule was
    chosen by the protocol of ``benchmarks/anomaly_defaults.py`` over four
    datasets (its report compares it with ``(4n, n // 2, 4n)`` and v0.1's
    fixed ``(10, 5, 10)``).
    """
    return (2 * n_features, max(1, n_features // 4), 2 * n_features)


@fill_training_doc
class AutoencoderAnomalyDetector(BaseNeuralOutlierDetector):
    """Anomaly detection by reconstruction error of a (variational) autoencoder.

    The network learns to reconstruct the training events; events it
    reconstructs poorly are anomalous. This is the method of the AMS-02
    antihelium search (network ``[41, 10, 5, 10, 41]``, ReLU, sigmoid output,
    Adam, batch 100, MSE loss, anomaly score ``tanh(MSE)`` in [0, 1]) and of
    the (variational) autoencoder searches at the LHC. Train it on the data
    themselves (a real search has no clean background sample): the anomalies
    are rare enough not to be learned.

    The estimator follows scikit-learn's outlier-detector conventions exactly
    like :class:`sklearn.ensemble.IsolationForest`: :meth:`score_samples` is
    lower for more abnormal rows, :meth:`decision_function` is
    ``score_samples - offset_`` (negative = outlier) and :meth:`predict` gives
    -1 for outliers and +1 for inliers. The physicist's view is
    :meth:`anomaly_score` (higher = more anomalous) and
    :meth:`reconstruction_error`, which says which features an event fails to
    reconstruct.

    The features are standardised inside (``preprocessing``, learned on the
    training rows, kept in ``transform_``), so that a mass in GeV and a ratio
    in [0, 1] weigh alike in the error; values far outside the training range
    reconstruct badly and score as anomalous. NaN in ``X`` is refused with a
    ``ValueError`` naming the columns (a missing value has no reconstruction
    error): impute first, e.g. in a ``Pipeline``.

    The defaults (standardised inputs, ``hidden_layers="auto"``, batch 256)
    were chosen by the protocol of ``benchmarks/anomaly_defaults.py``: on
    development events of four datasets (LHCO R&D, MAGIC, the HiggsML subset,
    ``make_anomaly_events``), never on the events the ``anomaly`` benchmark
    reports. The v0.1 defaults (the AMS-02 network above, min-max scaling,
    sigmoid output) are ``hidden_layers=(10, 5, 10), preprocessing="minmax",
    batch_size=100``.

    Parameters
    ----------
    hidden_layers : "auto" or tuple of int, default="auto"
        Hidden widths from input to output; the layer at index
        ``len(hidden_layers) // 2`` is the bottleneck (the latent space of the
        VAE). ``"auto"``: ``(2n, max(1, n // 4), 2n)`` for ``n`` features.
    variational : bool, default=False
        Train a variational autoencoder (Gaussian encoder, reparameterisation,
        KL term weighted by ``beta``).
    beta : float, default=0.01
        Weight of the KL term of the VAE loss (per row:
        ``sum_j (x_j - x̂_j)² + beta * KL``). Ignored unless ``variational``.
    score_type : {"mse", "elbo"}, default="mse"
        Raw anomaly score: the mean squared reconstruction error over features
        (in the units of ``preprocessing``), or, for a VAE, the negative ELBO (the
        training loss of the row) at the posterior mean.
    score_transform : {"tanh", "none"}, default="tanh"
        Applied by :meth:`anomaly_score` to the raw score: ``"tanh"`` maps it
        into [0, 1) as in the AMS-02 search; ``"none"`` returns it unchanged.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Fraction of training rows declared outliers: ``offset_`` is that
        percentile of the training ``score_samples`` (unweighted, as in
        ``IsolationForest``). ``"auto"`` uses Tukey's fence instead: a row is an
        outlier when its raw score exceeds ``Q3 + 1.5 * IQR`` of the training
        raw scores.
    preprocessing : {"standard", "quantile", "minmax"}, default="standard"
        Per-feature transform learned in ``fit``: zero mean and unit variance;
        a Gaussianising quantile map; or the training range onto [0, 1] with a
        sigmoid output (v0.1, AMS-02).
    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"}, default="relu"
    dropout : float, default=0.0
    {training_parameters}

    Attributes
    ----------
    offset_ : float
        ``decision_function = score_samples - offset_``.
    transform_ : object
        The per-feature transform learned in ``fit`` (``preprocessing``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the torch module.
    history_ : skorch.callbacks.History
    n_epochs_ : int
    best_epoch_ : int

    See Also
    --------
    sklearn.ensemble.IsolationForest : the same interface, tree-based.

    Notes
    -----
    Training defaults: the AMS-02 search used ``lr=1e-4`` with many more
    epochs; the held-out validation rows' reconstruction loss drives early
    stopping.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml import AutoencoderAnomalyDetector
    >>> rng = np.random.default_rng(0)
    >>> t = rng.uniform(0, 1, (500, 1))
    >>> X = np.hstack([t, t**2, 1 - t]) + rng.normal(0, 0.01, (500, 3))
    >>> ad = AutoencoderAnomalyDetector(hidden_layers=(8, 1, 8), max_epochs=60,
    ...                                 lr=1e-2, contamination=0.05, random_state=0)
    >>> ad.fit(X).predict(X[:3])
    array([1, 1, 1])
    >>> X_odd = np.array([[0.5, 0.9, 0.5]])  # violates x1 = x0**2
    >>> bool(ad.anomaly_score(X_odd)[0] > ad.anomaly_score(X).max())
    True
    >>> ad.reconstruction_error(X_odd).round(2).columns.tolist()
    ['x0', 'x1', 'x2']
    """

    _parameter_constraints: dict = {
        **BaseNeuralOutlierDetector._parameter_constraints,
        "hidden_layers": [tuple, list, StrOptions({"auto"})],
        "variational": ["boolean"],
        "beta": [Interval(Real, 0, None, closed="left")],
        "score_type": [StrOptions({"mse", "elbo"})],
        "score_transform": [StrOptions({"tanh", "none"})],
        "activation": [StrOptions({"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layers="auto",
        variational=False,
        contamination="auto",
        *,
        preprocessing="standard",
        beta=0.01,
        score_type="mse",
        score_transform="tanh",
        activation="relu",
        dropout=0.0,
        max_epochs=100,
        batch_size=256,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule=None,
        lr_decay=0.98,
        validation_fraction=0.1,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=None,
        device="cpu",
        verbose="auto",
        warm_start=False,
    ):
        store_params(self, locals())

    # -- base hooks ------------------------------------------------------------
    @property
    def _net_class(self):
        return VAENet if self.variational else WeightedNeuralNet

    def _net_kwargs(self):
        return {"beta": float(self.beta)} if self.variational else {}

    def _check_params(self):
        if self.score_type == "elbo" and not self.variational:
            raise ValueError('score_type="elbo" needs variational=True (a VAE has an ELBO).')

    def _layers(self, n_features):
        if isinstance(self.hidden_layers, str):
            return auto_hidden_layers(n_features)
        check_layer_widths(self.hidden_layers, "hidden_layers", allow_empty=False)
        return tuple(self.hidden_layers)

    def _build_module(self, X, y):
        module_class = VariationalAutoencoder if self.variational else Autoencoder
        return module_class(
            X.shape[1],
            self._layers(X.shape[1]),
            activation=self.activation,
            dropout=self.dropout,
            output_activation="sigmoid" if self.preprocessing == "minmax" else None,
        )

    def _build_criterion(self):
        return nn.MSELoss(reduction="none")

    def _target(self, Xt):
        return Xt

    # -- scores ----------------------------------------------------------------
    def _reconstruct(self, Xs):
        """(reconstruction, KL per row or None) for scaled ``Xs``."""
        out = self._forward(Xs, dtype=torch.float64)
        if isinstance(out, tuple):
            recon, mu, logvar = (o.astype(np.float64) for o in out)
            return recon, 0.5 * (mu**2 + np.exp(logvar) - 1.0 - logvar).sum(axis=1)
        return out, None

    def _raw_score(self, Xs):
        """Higher = more anomalous: MSE over features, or the negative ELBO."""
        return self._in_blocks(Xs, self._block_raw_score)

    def _block_raw_score(self, Xs):
        recon, kl = self._reconstruct(Xs)
        sq = (recon - Xs) ** 2
        if self.score_type == "elbo":
            return sq.sum(axis=1) + self.beta * kl
        return sq.mean(axis=1)

    def anomaly_score(self, X):
        """Anomaly score, higher = more anomalous.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            ``tanh`` of the raw score (in [0, 1)) for ``score_transform="tanh"``,
            the raw score (MSE or negative ELBO) for ``"none"``.
        """
        raw = self._transformed_rows(X, self._raw_score)
        return np.tanh(raw) if self.score_transform == "tanh" else raw

    def reconstruction_error(self, X, per_feature=True):
        """Squared reconstruction error, in the units of ``preprocessing`` of each feature.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        per_feature : bool, default=True
            Return one column per feature; otherwise the mean over features
            (the MSE) per row.

        Returns
        -------
        DataFrame of shape (n_samples, n_features) or ndarray of shape (n_samples,)
            Columns are ``feature_names_in_`` (or ``x0, x1, ...``); the index is
            that of ``X`` when it is a DataFrame. ``.mean().sort_values()`` on a
            selection of events tells which features they fail to reconstruct.
        """
        sq = self._transformed_rows(X, lambda Xs: (self._reconstruct(Xs)[0] - Xs) ** 2)
        if not per_feature:
            return sq.mean(axis=1)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(sq, columns=feature_names(self), index=index)
