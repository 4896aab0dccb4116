"""Anomaly detection by the density of a normalizing flow, optionally given a context."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skhep_ml._base import BaseNeuralOutlierDetector, fill_training_doc, store_params
from skhep_ml._nets import DensityNet
from skhep_ml.nn import DensityFlow
from skhep_ml.utils import (
    check_layer_widths,
    check_random_state_seed,
    column_index,
    feature_names,
)

__all__ = ["FlowAnomalyDetector"]


@fill_training_doc
class FlowAnomalyDetector(BaseNeuralOutlierDetector):
    """Anomaly detection by the log-density of a normalizing flow.

    A masked autoregressive flow (spline or affine transforms, built with
    `zuko <https://github.com/probabilists/zuko>`_) learns the density of the
    training events by maximum (weighted) likelihood; an event is anomalous
    when its density is low. The score of :meth:`score_samples` is the
    log-density itself, so the estimator follows scikit-learn's outlier
    conventions (lower = more abnormal, ``decision_function``, ``predict``
    ±1, ``contamination``) like :class:`sklearn.ensemble.IsolationForest`.

    Density estimation is what the best weakly supervised resonance searches
    build on (ANODE, arXiv:2001.04990; CATHODE, arXiv:2109.00546): with
    ``context`` set to the column of the resonance variable (the dijet mass),
    the flow learns the *conditional* density ``p(x | m)`` of the other
    features, :meth:`score_samples` is ``log p(x | m)``, and :meth:`sample`
    draws background-like events at given masses (the CATHODE template).

    The features (context included) first go through ``preprocessing``, by
    default a standardisation learned on the training events, so that one
    setting of the network suits features of any units; the score is the
    density of the standardised features, which ranks events exactly as the
    density in the original units (an affine map has a constant Jacobian).
    ``preprocessing="quantile"`` Gaussianises each feature instead (see
    :class:`skhep_ml._scaling.FeatureTransform`), which changes that ranking by
    the transform's Jacobian. The defaults (MAF, 8 transforms of (128, 128),
    standardised inputs, batch 1024) were chosen by the protocol of
    ``benchmarks/anomaly_defaults.py`` on development events of four datasets.
    NaN in ``X`` is refused with a ``ValueError`` naming the columns.

    Parameters
    ----------
    contamination : "auto" or float in (0, 0.5], default="auto"
        Fraction of training rows declared outliers: ``offset_`` is that
        percentile of the training ``score_samples``. ``"auto"`` uses Tukey's
        fence on the negative log-density: an outlier has
        ``-log p > Q3 + 1.5 * IQR`` of the training values.
    context : int, str, list of those, or None, default=None
        Column(s) of ``X`` (position or DataFrame name) the density is
        conditioned on. They must also be present at prediction. None: the
        density of all columns.
    flow : {"maf", "nsf"}, default="maf"
        Affine (MAF, arXiv:1705.07057) or rational-quadratic spline (NSF,
        arXiv:1906.04032) autoregressive transforms. NSF is more flexible and
        about three times slower per epoch.
    n_transforms : int, default=8
    hidden_layers : tuple of int, default=(128, 128)
        Hidden widths of each transform's conditioner network.
    bins : int, default=8
        Spline bins per NSF transform.
    preprocessing : {"standard", "quantile", "minmax"}, default="standard"
        Per-feature transform learned in ``fit``, before the flow.
    {training_parameters}

    Attributes
    ----------
    offset_ : float
        ``decision_function = score_samples - offset_``.
    context_index_ : ndarray of int
        Positions of the context columns in ``X`` (empty without context).
    transform_ : object
        The feature transform learned in ``fit``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the :class:`skhep_ml.nn.DensityFlow`.
    history_ : skorch.callbacks.History
        Per-epoch training and validation loss (the weighted mean negative
        log-likelihood).
    n_epochs_ : int
    best_epoch_ : int

    See Also
    --------
    AutoencoderAnomalyDetector : anomaly score from the reconstruction error.
    sklearn.ensemble.IsolationForest : the same interface, tree-based.

    Notes
    -----
    The log-density is exact for the flow; its quality depends on the size of
    the training sample. :func:`skhep_ml.export.to_onnx` writes the fitted
    detector for ONNX Runtime: raw features in (the feature transform is in
    the graph), ``score_samples`` out, equal to within float32 rounding.

    A discrete feature (a jet count) gives the density sharp peaks at its
    values, which then dominate the score: drop it, or condition on it with
    ``context``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml import FlowAnomalyDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> X[:, 1] += X[:, 0] ** 2  # a curved band
    >>> flow = FlowAnomalyDetector(max_epochs=30, random_state=0).fit(X)
    >>> X_new = np.array([[0.0, 0.0], [0.0, 4.0]])  # on the band, off the band
    >>> s = flow.score_samples(X_new)
    >>> bool(s[0] > s[1])
    True
    >>> flow.predict(X_new)
    array([ 1, -1])
    """

    _parameter_constraints: dict = {
        **BaseNeuralOutlierDetector._parameter_constraints,
        "context": [Integral, str, list, tuple, None],
        "flow": [StrOptions({"nsf", "maf"})],
        "n_transforms": [Interval(Integral, 1, None, closed="left")],
        "hidden_layers": [tuple, list],
        "bins": [Interval(Integral, 2, None, closed="left")],
    }

    _net_class = DensityNet

    def __init__(
        self,
        contamination="auto",
        *,
        context=None,
        flow="maf",
        n_transforms=8,
        hidden_layers=(128, 128),
        bins=8,
        preprocessing="standard",
        max_epochs=100,
        batch_size=1024,
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
    def _context_positions(self, n_features):
        if self.context is None:
            return np.array([], dtype=int)
        columns = self.context if isinstance(self.context, (list, tuple)) else [self.context]
        names = getattr(self, "feature_names_in_", None)
        positions = [column_index(c, n_features, names, param="context") for c in columns]
        if len(set(positions)) != len(positions):
            raise ValueError(f"context names a column twice: {self.context!r}.")
        if len(positions) >= n_features:
            raise ValueError(
                f"context={self.context!r} takes all {n_features} columns of X: "
                "nothing is left to model."
            )
        return np.asarray(positions, dtype=int)

    def _check_params(self):
        check_layer_widths(self.hidden_layers, "hidden_layers", allow_empty=False)

    def _build_module(self, X, y):
        return DensityFlow(
            X.shape[1],
            context_columns=self.context_index_,
            flow=self.flow,
            n_transforms=self.n_transforms,
            hidden_layers=tuple(self.hidden_layers),
            bins=self.bins,
        )

    def _build_criterion(self):
        return torch.nn.Identity()  # unused: DensityNet's loss is -log p

    def _setup(self, X):
        if len(X) < 2:
            raise ValueError(f"{type(self).__name__} needs more than 1 sample to learn a density.")
        constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
        if constant.size:
            names = [feature_names(self)[j] for j in constant]
            raise ValueError(
                f"Column(s) {names} are constant in the training data: a constant has no "
                "density (the likelihood grows without bound). Drop them before the flow."
            )
        self.context_index_ = self._context_positions(X.shape[1])

    def _target(self, Xt):
        return np.zeros(len(Xt), dtype=np.float32)  # a density has no target

    def _raw_score(self, Xt):
        """Negative log-density (higher = more anomalous), in float64."""
        return -self._forward(Xt, dtype=torch.float64).astype(np.float64)

    # -- API -------------------------------------------------------------------
    def sample(self, n_samples=None, *, context=None, random_state=None):
        """Draw events from the learned density, in the units of ``X``.

        Parameters
        ----------
        n_samples : int or None
            Number of events of an unconditional flow. With ``context``, one
            event is drawn per row of ``context`` and ``n_samples`` must be
            None or equal to its length.
        context : array-like of shape (n, n_context) or (n,), default=None
            Context values (in the units of ``X``) to draw at; required when
            the flow was fitted with ``context``.
        random_state : int or None
            Seeds the draw (the global torch state is left untouched).

        Returns
        -------
        ndarray of shape (n, `n_features_in_`)
            Full rows in the column order of ``X``: the drawn features, and the
            context columns holding the given context.

        Examples
        --------
        >>> import numpy as np
        >>> from skhep_ml import FlowAnomalyDetector
        >>> rng = np.random.default_rng(0)
        >>> m = rng.uniform(1, 2, 2000)
        >>> X = np.c_[m, m + rng.normal(0, 0.1, 2000)]  # feature follows the mass
        >>> flow = FlowAnomalyDetector(context=0, max_epochs=30, random_state=0).fit(X)
        >>> draws = flow.sample(context=np.full(500, 1.8), random_state=0)
        >>> bool(abs(draws[:, 1].mean() - 1.8) < 0.1)
        True
        """
        check_is_fitted(self)
        n_ctx = len(self.context_index_)
        if n_ctx == 0 and context is not None:
            raise ValueError("This flow was fitted without context; call sample(n_samples).")
        if n_ctx and context is None:
            raise ValueError(
                f"This flow models the density given {n_ctx} context column(s): pass "
                "context=<values in the units of X>."
            )
        rows = self._context_rows(context, n_samples) if n_ctx else None
        if rows is None:
            if n_samples is None or int(n_samples) < 1:
                raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
            n = int(n_samples)
        else:
            n = len(rows)
        module, device = self.net_.module_, self.net_.device
        ctx = self.context_index_  # in the order of the context parameter
        values = np.setdiff1d(np.arange(self.n_features_in_), ctx)
        Xt = np.zeros((n, self.n_features_in_))
        if rows is not None:
            # the context's transformed values: transform full rows holding it
            full = np.zeros((n, self.n_features_in_))
            full[:, ctx] = rows
            Xt[:, ctx] = self.transform_.transform(full)[:, ctx]
        seed = check_random_state_seed(random_state)
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed)
            module.eval()
            ctx_t = None
            if rows is not None:
                # the module reads its context columns in increasing position
                ctx_t = torch.as_tensor(Xt[:, np.sort(ctx)], dtype=torch.float32, device=device)
            Xt[:, values] = module.sample(n, ctx_t).cpu().numpy()
        X = self.transform_.inverse_transform(Xt)
        if rows is not None:
            X[:, ctx] = rows  # exact, not through the round trip
        return X

    def _context_rows(self, context, n_samples):
        rows = np.asarray(context, dtype=np.float64)
        if rows.ndim == 1:
            rows = rows[:, None]
        n_ctx = len(self.context_index_)
        if rows.ndim != 2 or rows.shape[1] != n_ctx:
            raise ValueError(
                f"context must have shape (n, {n_ctx}) (columns "
                f"{[feature_names(self)[i] for i in self.context_index_]}), got {rows.shape}."
            )
        if not np.isfinite(rows).all():
            raise ValueError("context contains NaN or infinity.")
        if n_samples is not None and int(n_samples) != len(rows):
            raise ValueError(
                f"n_samples={n_samples} differs from the {len(rows)} rows of context "
                "(one event is drawn per context row)."
            )
        if len(rows) == 0:
            raise ValueError("context has no rows.")
        return rows
