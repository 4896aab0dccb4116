"""Classification without labels (CWoLa) and the CWoLa bump hunt.

A classifier trained to tell two mixed samples apart, each a mixture of the
same signal and background with different signal fractions, is a monotonic
function of the signal/background likelihood ratio: optimal for signal versus
background without a signal model (Metodiev, Nachman, Thaler,
arXiv:1708.02949). CWoLa hunting (Collins, Howe, Nachman, arXiv:1805.02664)
takes the mixed samples from data: events in a signal-region window of the
resonance mass against events in the adjacent sidebands. The features must be
nearly independent of the mass in the background, or the classifier learns the
mass and sculpts a fake bump; :class:`CWoLaClassifier` warns when they are not.

Every event is scored by models that never saw it (nested k-fold), so a cut on
the out-of-fold score can be applied to the very events the classifier was
trained on, and the background under a bump is then estimated by a fit of the
dijet function to the mass spectrum outside the window
(:func:`fit_dijet_background`, :func:`local_significance`,
:meth:`CWoLaClassifier.bump_hunt`).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from skhep_ml.utils import validate_fit_data, validate_predict_data

__all__ = [
    "BumpHuntResult",
    "CWoLaClassifier",
    "DijetFit",
    "MassCorrelationWarning",
    "fit_dijet_background",
    "local_significance",
]


class MassCorrelationWarning(UserWarning):
    """A classifier input is strongly correlated with the mass in the sidebands."""


# --------------------------------------------------------------------------- #
# statistics: dijet background fit and local significance
# --------------------------------------------------------------------------- #
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


@dataclass
class DijetFit:
    """Binned Poisson fit of ``p1 (1 - x)^p2 x^(-p3)``, ``x = m / sqrt_s``.

    The density is in events per unit mass. ``params`` are
    ``(log p1, p2, p3)`` and ``covariance`` their covariance (inverse Fisher
    information of the Poisson likelihood at the best fit).

    Attributes
    ----------
    params : ndarray of shape (3,)
    covariance : ndarray of shape (3, 3)
    edges : ndarray
        Bin edges of the fitted histogram.
    fitted : ndarray of bool
        The bins that entered the fit.
    sqrt_s : float
    chi2 : float
        Pearson chi2 of the fitted bins (expected counts in the denominator).
    ndf : int
        Fitted bins minus 3.
    success : bool
        Whether the minimiser converged.
    """

    params: np.ndarray
    covariance: np.ndarray
    edges: np.ndarray
    fitted: np.ndarray
    sqrt_s: float
    chi2: float
    ndf: int
    success: bool

    def expected(self, lo=None, hi=None):
        """Expected background counts per bin, or summed over ``[lo, hi)``.

        Parameters
        ----------
        lo, hi : float, optional
            A window made of whole bins. ``None``: per-bin counts of every bin.

        Returns
        -------
        counts : ndarray or float
        uncertainty : ndarray or float
            Standard deviation propagated from the fit covariance (for a
            window, with the bin-to-bin correlations).
        """
        mu, jac = _dijet_bins(self.params, self.edges, self.sqrt_s)
        if lo is None and hi is None:
            var = np.einsum("ij,jk,ik->i", jac, self.covariance, jac)
            return mu, np.sqrt(np.maximum(var, 0.0))
        sel = _window_bins(self.edges, lo, hi)
        grad = jac[sel].sum(axis=0)
        return float(mu[sel].sum()), float(np.sqrt(max(grad @ self.covariance @ grad, 0.0)))


def _dijet_bins(params, edges, sqrt_s):
    """Expected counts per bin ``[edges[:-1], edges[1:])`` and their Jacobian.

    ``edges`` is an (n_bins + 1,) array of edges or an (n_bins, 2) array of
    ``(lo, hi)`` pairs; the Jacobian is with respect to ``(log p1, p2, p3)``.
    The density is integrated with 8-point Gauss-Legendre quadrature per bin.
    """
    edges = np.asarray(edges, dtype=float)
    lo, hi = (edges[:-1], edges[1:]) if edges.ndim == 1 else (edges[:, 0], edges[:, 1])
    half = 0.5 * (hi - lo)[:, None]
    x = (0.5 * (hi + lo)[:, None] + half * _GL_NODES) / sqrt_s
    g = np.stack([np.ones_like(x), np.log1p(-x), -np.log(x)], axis=-1)
    f = np.exp(np.clip(g @ params, -700.0, 700.0)) * (half * _GL_WEIGHTS)
    return f.sum(axis=1), np.einsum("bq,bqk->bk", f, g)


def _window_bins(edges, lo, hi):
    """Boolean mask of the bins making up ``[lo, hi)``; the window must align."""
    tol = 1e-6 * (edges[-1] - edges[0])
    for v in (lo, hi):
        if np.min(np.abs(edges - v)) > tol:
            raise ValueError(
                f"The window [{lo}, {hi}) must start and end on bin edges; {v} is not an edge."
            )
    sel = (edges[:-1] >= lo - tol) & (edges[1:] <= hi + tol)
    if not sel.any():
        raise ValueError(f"The window [{lo}, {hi}) contains no bin.")
    return sel


def fit_dijet_background(counts, edges, *, sqrt_s=13.0, exclude=None):
    """Fit the dijet function to a mass histogram, optionally excluding a window.

    The binned Poisson likelihood of ``p1 (1 - x)^p2 x^(-p3)`` (integrated
    over each bin, ``x = m / sqrt_s``) is maximised over the bins outside
    ``exclude``, with ``p2, p3 >= 0`` (a falling spectrum, which cannot peak
    inside the window); the starting point is a weighted linear fit of the
    log counts.

    Parameters
    ----------
    counts : array-like of shape (n_bins,)
        Events per bin (weighted sums are accepted; they are treated as counts).
    edges : array-like of shape (n_bins + 1,)
        Increasing bin edges, in the units of ``sqrt_s``, all below ``sqrt_s``.
    sqrt_s : float, default=13.0
        Collision energy (13 TeV for masses in TeV; 13000 for GeV).
    exclude : (float, float), optional
        A window of whole bins left out of the fit (the signal-region hypothesis).

    Returns
    -------
    DijetFit

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.cwola import fit_dijet_background
    >>> from skhep_ml.datasets import make_dijet_resonance
    >>> X, _ = make_dijet_resonance(20000, 0, mjj_range=(2.6, 5.0), random_state=0)
    >>> edges = np.linspace(2.6, 5.0, 25)
    >>> counts, _ = np.histogram(X.mjj, bins=edges)
    >>> fit = fit_dijet_background(counts, edges, exclude=(3.3, 3.7))
    >>> fit.params[1:].round(0)  # the generator's (p2, p3) = (10, 5), within errors
    array([...])
    >>> b, db = fit.expected(3.3, 3.7)
    >>> n = counts[(edges[:-1] >= 3.3 - 1e-9) & (edges[1:] <= 3.7 + 1e-9)].sum()
    >>> bool(abs(n - b) < 3 * np.sqrt(b + db**2))
    True
    """
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if counts.ndim != 1 or edges.shape != (counts.shape[0] + 1,):
        raise ValueError(
            f"edges must have one more entry than counts; got {edges.shape} and {counts.shape}."
        )
    if not np.all(np.isfinite(counts)) or not np.all(np.isfinite(edges)):
        raise ValueError("counts and edges must be finite.")
    if np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be strictly increasing.")
    if edges[0] <= 0 or edges[-1] >= sqrt_s:
        raise ValueError(
            f"The mass range [{edges[0]:g}, {edges[-1]:g}] must lie inside (0, sqrt_s={sqrt_s:g}); "
            "are the mass and sqrt_s in the same units?"
        )
    fitted = np.ones(counts.shape[0], dtype=bool)
    if exclude is not None:
        fitted &= ~_window_bins(edges, *exclude)
    if fitted.sum() < 4:
        raise ValueError(f"The fit needs at least 4 bins outside the window; got {fitted.sum()}.")
    n = np.maximum(counts[fitted], 0.0)
    e_fit = np.c_[edges[:-1][fitted], edges[1:][fitted]]
    if n.sum() <= 0:
        raise ValueError("No events in the fitted bins.")

    def bins(params):
        mu, jac = _dijet_bins(params, e_fit, sqrt_s)
        return np.maximum(mu, 1e-300), jac

    # starting point: weighted least squares of log(counts / width) (the model is
    # linear in (log p1, p2, p3) at the bin centres)
    centre = e_fit.mean(axis=1) / sqrt_s
    width = e_fit[:, 1] - e_fit[:, 0]
    design = np.c_[np.ones_like(centre), np.log1p(-centre), -np.log(centre)]
    w = np.sqrt(n + 0.5)
    start, *_ = np.linalg.lstsq(design * w[:, None], np.log((n + 0.5) / width) * w, rcond=None)

    def nll(params):
        mu, jac = bins(params)
        value = float(np.sum(mu - n * np.log(mu)))
        grad = jac.T @ (1.0 - n / mu)
        return value, grad

    # p2, p3 >= 0: a falling spectrum; otherwise (1 - x)^p2 x^(-p3) can peak and
    # fit a bump of its own into the window when few events are left after a cut
    start[1:] = np.maximum(start[1:], 0.0)
    res = minimize(
        nll,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), (0.0, None), (0.0, None)],
        options={"maxiter": 1000},
    )
    params = res.x
    mu, jac = bins(params)
    fisher = (jac / mu[:, None]).T @ jac
    covariance = np.linalg.pinv(fisher)
    chi2 = float(np.sum((n - mu) ** 2 / mu))
    success = bool(res.success)
    return DijetFit(
        params, covariance, edges, fitted, float(sqrt_s), chi2, int(n.size - 3), success
    )


def local_significance(n_observed, n_background, background_uncertainty=0.0):
    """Local significance of a count over an uncertain background expectation.

    The Asimov-type formula of Cowan et al. for a Poisson count ``n`` over a
    background ``b`` known to ``sigma_b`` (profiled as a Gaussian constraint),

    ``Z = sqrt(2 [n ln(n (b + s2) / (b^2 + n s2)) - (b^2 / s2) ln(1 + s2 (n - b) / (b (b + s2)))])``

    with ``s2 = sigma_b^2``; it reduces to ``sqrt(2 (n ln(n / b) - (n - b)))``
    when ``sigma_b = 0``. The sign of ``n - b`` is kept (a deficit is
    negative).

    Parameters
    ----------
    n_observed : float or array-like
    n_background : float or array-like
        Positive.
    background_uncertainty : float or array-like, default=0.0

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from skhep_ml.cwola import local_significance
    >>> round(float(local_significance(130, 100)), 2)
    2.87
    >>> round(float(local_significance(130, 100, 10)), 2)  # the fit uncertainty dilutes it
    1.98
    >>> float(local_significance(100, 100, 5))
    0.0
    """
    n = np.asarray(n_observed, dtype=float)
    b = np.asarray(n_background, dtype=float)
    s2 = np.asarray(background_uncertainty, dtype=float) ** 2
    if np.any(b <= 0) or np.any(n < 0) or np.any(s2 < 0):
        raise ValueError("local_significance needs n >= 0, b > 0 and sigma_b >= 0.")
    n, b, s2 = np.broadcast_arrays(n, b, s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_n = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / b), 0.0)
        plain = 2.0 * (log_n - (n - b))
        t1 = np.where(n > 0, n * np.log(np.where(n > 0, n * (b + s2) / (b * b + n * s2), 1.0)), 0.0)
        t2 = (b * b / np.where(s2 > 0, s2, 1.0)) * np.log1p(s2 * (n - b) / (b * (b + s2)))
        with_unc = 2.0 * (t1 - t2)
    q = np.where(s2 > 1e-12 * b, with_unc, plain)
    z = np.sign(n - b) * np.sqrt(np.maximum(q, 0.0))
    return float(z) if z.ndim == 0 else z


# --------------------------------------------------------------------------- #
# the bump-hunt result
# --------------------------------------------------------------------------- #
@dataclass
class BumpHuntResult:
    """What :meth:`CWoLaClassifier.bump_hunt` found.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per window and efficiency: ``window_lo``, ``window_hi``,
        ``efficiency``, ``n_observed`` (in the window after the cut),
        ``n_background`` and ``n_background_unc`` (from the sideband fit),
        ``significance`` (:func:`local_significance` with the fit
        uncertainty), ``chi2_ndf`` of the fit.
    edges : ndarray
        Bin edges of the mass histograms.
    windows : list of (float, float)
    efficiencies : tuple of float
    spectra : dict
        ``(window index, efficiency) -> counts`` after the cut.
    fits : dict
        ``(window index, efficiency) -> DijetFit``.
    estimators : list
        The fitted :class:`CWoLaClassifier` of every window (``None`` where no
        cut was asked for).
    """

    table: pd.DataFrame
    edges: np.ndarray
    windows: list
    efficiencies: tuple
    spectra: dict = field(repr=False)
    fits: dict = field(repr=False)
    estimators: list = field(repr=False)

    def plot(self, window=None, ax=None):
        """Mass spectra after each cut with the background fits of one window.

        Parameters
        ----------
        window : int, optional
            Index into ``windows``; ``None``: the window with the largest
            significance at the tightest efficiency.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if window is None:
            tight = self.table[self.table.efficiency == min(self.efficiencies)]
            window = int(tight.significance.to_numpy().argmax())
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.8))
        lo, hi = self.windows[window]
        centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, eff in enumerate(self.efficiencies):
            colour = colours[i % len(colours)]
            counts = self.spectra[window, eff]
            z = self.table[
                (self.table.window_lo == lo) & (self.table.efficiency == eff)
            ].significance.iloc[0]
            ax.errorbar(
                centres,
                counts,
                yerr=np.sqrt(np.maximum(counts, 0)),
                fmt="o",
                ms=3,
                color=colour,
                label=f"ε = {eff:g}: Z = {z:.1f}σ",
            )
            mu, _ = self.fits[window, eff].expected()
            ax.stairs(mu, self.edges, color=colour, ls="--", baseline=None)
        ax.axvspan(lo, hi, color="grey", alpha=0.2, label="signal region")
        ax.set_yscale("log")
        ax.set_xlabel("mass")
        ax.set_ylabel("events / bin")
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------- #
# the classifier
# --------------------------------------------------------------------------- #
def _fingerprint(X):
    return hashlib.blake2b(np.ascontiguousarray(X).tobytes(), digest_size=16).hexdigest()


class CWoLaClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Classification without labels with nested k-fold, as in CWoLa hunting.

    Two ways to fit:

    - ``fit(X)``: the mixed samples are built from the mass column: events in
      ``signal_region = (lo, hi)`` get label 1, events in the sidebands
      ``[lo - w, lo)`` and ``[hi, hi + w)`` (``w = sideband_width``) label 0,
      other events are scored but not trained on. With ``balance=True`` each
      sideband is weighted to half the signal-region weight, so that the two
      sidebands together balance the signal region.
    - ``fit(X, y)``: ``y`` holds two user-made mixed-sample labels (plain
      CWoLa; e.g. data against a background-only reference sample); with
      ``balance=True`` class 0 is weighted to the total weight of class 1.

    The mass column (``mass``, a column name or index) is never a classifier
    input. Events are split into ``n_folds`` folds (stratified by the label).
    For each test fold ``k`` an ensemble of ``n_folds - 1`` clones of
    ``estimator`` is trained, each on the folds other than ``k`` and a
    validation fold ``j`` that rotates over them; ``oof_scores_`` of the
    events of fold ``k`` are the mean probability of label 1 over that
    ensemble only, so no event is ever scored by a model that trained on it.
    The validation fold gives each model's ``validation_loss_`` (weighted log
    loss on the mixed labels) and, with ``n_inits > 1``, picks the best of
    several seeds, as in the CWoLa-hunting paper. ``predict_proba`` on new data
    averages all ``n_folds * (n_folds - 1)`` models.

    Parameters
    ----------
    mass : str, int or None, default="mjj"
        The mass column (name for a DataFrame, index for an array). ``None``:
        no mass column (only ``fit(X, y)``; every column is an input).
    signal_region : (float, float) or None, default=None
        The window ``[lo, hi)`` of the signal-region hypothesis; needed by
        ``fit(X)``.
    sideband_width : float or None, default=None
        Width of each sideband; ``None``: the width of the signal region.
    estimator : classifier or None, default=None
        Any scikit-learn classifier with ``predict_proba`` whose ``fit``
        takes ``sample_weight``; cloned for every model. ``None``:
        ``DNNClassifier()``. ``random_state`` of the clones is set from this
        estimator's ``random_state`` when they have one.
    n_folds : int, default=5
        Number of folds (at least 3: one test and one validation fold per model).
    n_inits : int, default=1
        Seeds trained per model; the one with the lowest validation loss is kept.
    balance : bool, default=True
        Balance the total weights of the two mixed samples (see above).
    max_mass_correlation : float, default=0.2
        In ``fit(X)``, warn (:class:`MassCorrelationWarning`) when the Spearman
        correlation of an input with the mass in the sidebands exceeds this in
        absolute value (and by more than 3 standard errors, so that small
        sidebands do not warn on noise): a mass-correlated input would sculpt
        a fake bump.
    random_state : int, RandomState instance or None, default=None
        Fold assignment and seeds of the models.
    verbose : int, default=0
        Print one line per trained model when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]`` for ``fit(X)`` (sidebands, signal region), else the labels of y.
    n_features_in_ : int
        Columns of X, the mass included.
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    input_features_ : ndarray
        The columns (names, or indices for arrays) the classifier sees.
    mass_index_ : int or None
    mixed_labels_ : ndarray of shape (n_samples,)
        Encoded training label (0 or 1) of each fitted event, -1 for events
        outside the signal region and the sidebands (not trained on).
    mixed_weights_ : ndarray of shape (n_samples,)
        Training weight of each event (0 for events not trained on).
    folds_ : ndarray of shape (n_samples,)
        Fold of each event.
    estimators_ : list of list
        ``estimators_[k]``: the ensemble scoring fold ``k``.
    validation_loss_ : ndarray of shape (n_folds, n_folds)
        ``[k, j]``: validation loss of the model of test fold ``k`` validated
        on fold ``j`` (NaN on the diagonal).
    oof_scores_ : ndarray of shape (n_samples,)
        Out-of-fold probability of label 1 of every event passed to ``fit``.
    mass_correlation_ : pandas.Series or None
        Spearman correlation of each input with the mass in the sidebands
        (``fit(X)`` only).

    Examples
    --------
    >>> from skhep_ml import CWoLaClassifier, XGBoostBaseline
    >>> from skhep_ml.datasets import make_dijet_resonance
    >>> X, y = make_dijet_resonance(6000, 600, mjj_range=(2.8, 4.4), random_state=0)
    >>> clf = CWoLaClassifier(
    ...     signal_region=(3.3, 3.7),
    ...     estimator=XGBoostBaseline(n_estimators=30, n_jobs=1),
    ...     n_folds=3,
    ...     random_state=0,
    ... ).fit(X)
    >>> clf.oof_scores_.shape
    (6600,)
    >>> passed = clf.select(X, 0.1)  # top 10 % of each fold in the signal region + sidebands
    >>> bool(y[passed].mean() > 5 * y.mean())
    True
    """

    _parameter_constraints: dict = {
        "mass": [str, Interval(Integral, 0, None, closed="left"), None],
        "signal_region": [tuple, list, None],
        "sideband_width": [Interval(Real, 0, None, closed="neither"), None],
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_folds": [Interval(Integral, 3, None, closed="left")],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
        "balance": ["boolean"],
        "max_mass_correlation": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        mass="mjj",
        signal_region=None,
        sideband_width=None,
        estimator=None,
        n_folds=5,
        *,
        n_inits=1,
        balance=True,
        max_mass_correlation=0.2,
        random_state=None,
        verbose=0,
    ):
        self.mass = mass
        self.signal_region = signal_region
        self.sideband_width = sideband_width
        self.estimator = estimator
        self.n_folds = n_folds
        self.n_inits = n_inits
        self.balance = balance
        self.max_mass_correlation = max_mass_correlation
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers ---------------------------------------------------------- #
    def _base_estimator(self):
        if self.estimator is None:
            from skhep_ml.dnn import DNNClassifier

            return DNNClassifier()
        return self.estimator

    def _resolve_mass(self):
        if self.mass is None:
            return None
        names = getattr(self, "feature_names_in_", None)
        if isinstance(self.mass, str):
            if names is None:
                raise ValueError(
                    f"mass={self.mass!r} names a column, but X has no column names: pass a "
                    "DataFrame, give mass as a column index, or set mass=None and call fit(X, y)."
                )
            hits = np.flatnonzero(names == self.mass)
            if hits.size == 0:
                raise ValueError(
                    f"mass={self.mass!r} is not a column of X; columns: {list(names)}."
                )
            return int(hits[0])
        if self.mass >= self.n_features_in_:
            raise ValueError(
                f"mass={self.mass} is not a column index of X ({self.n_features_in_} columns)."
            )
        return int(self.mass)

    def _window(self):
        sr = self.signal_region
        if sr is None or len(sr) != 2:
            raise ValueError(
                "fit(X) without y needs signal_region=(lo, hi) and a mass column; "
                f"got signal_region={sr!r}."
            )
        lo, hi = (float(v) for v in sr)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"signal_region must be (lo, hi) with lo < hi; got {sr!r}.")
        width = hi - lo if self.sideband_width is None else float(self.sideband_width)
        return lo, hi, width

    def _inputs(self, X):
        if self.mass_index_ is None:
            return X
        return np.delete(X, self.mass_index_, axis=1)

    def _region(self, X):
        """Events in the signal region or the sidebands (all events for fit(X, y))."""
        if self._sr_window is None:
            return np.ones(X.shape[0], dtype=bool)
        lo, hi, width = self._sr_window
        m = X[:, self.mass_index_]
        return (m >= lo - width) & (m < hi + width)

    # -- fit -------------------------------------------------------------- #
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Train the nested k-fold ensembles.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The classifier inputs and (unless ``mass=None``) the mass column.
        y : array-like of shape (n_samples,), optional
            Two mixed-sample labels. ``None``: labels from the mass and
            ``signal_region``.
        sample_weight : array-like of shape (n_samples,), optional
            Event weights, multiplied into the balancing weights and passed to
            the inner estimator's ``fit``. Negative weights are passed on as
            they are (what they do is up to the inner estimator;
            ``DNNClassifier`` subtracts their loss); each mixed sample must
            have a positive total.

        Returns
        -------
        self
        """
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, classifier=y is not None, requires_y=False
        )
        self.mass_index_ = self._resolve_mass()
        if y is None and self.mass_index_ is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None "
                "(fit(X) without y needs a mass column and a signal_region)."
            )
        n_inputs = self.n_features_in_ - (self.mass_index_ is not None)
        if n_inputs < 1:
            raise ValueError("X has no classifier input besides the mass column.")
        names = getattr(self, "feature_names_in_", np.arange(self.n_features_in_))
        self.input_features_ = (
            np.delete(np.asarray(names), self.mass_index_)
            if (self.mass_index_ is not None)
            else np.asarray(names)
        )

        if y is None:
            labels, weights = self._labels_from_mass(X, sample_weight)
        else:
            self._sr_window = None
            self.mass_correlation_ = None
            y_type = type_of_target(y, input_name="y", raise_unknown=True)
            if y_type != "binary":
                raise ValueError(
                    "Only binary classification is supported: CWoLa needs exactly two "
                    f"mixed-sample labels in y. The type of the target is {y_type}."
                )
            self.classes_, labels = np.unique(y, return_inverse=True)
            weights = sample_weight.astype(np.float64)
            for c in (0, 1):
                if weights[labels == c].sum() <= 0:
                    raise ValueError(
                        f"The total sample_weight of class {self.classes_[c]!r} must be positive."
                    )
            if self.balance:
                weights[labels == 0] *= weights[labels == 1].sum() / weights[labels == 0].sum()
        self.mixed_labels_ = labels
        self.mixed_weights_ = np.where(labels >= 0, weights, 0.0)
        self._fit(self._inputs(X), labels, self.mixed_weights_)
        self._train_fingerprint = (X.shape, _fingerprint(X))
        return self

    def _labels_from_mass(self, X, sample_weight):
        lo, hi, width = self._sr_window = self._window()
        m = X[:, self.mass_index_]
        in_sr = (m >= lo) & (m < hi)
        in_low = (m >= lo - width) & (m < lo)
        in_high = (m >= hi) & (m < hi + width)
        weights = sample_weight.astype(np.float64)
        for name, mask in (
            (f"signal region [{lo:g}, {hi:g})", in_sr),
            (f"low sideband [{lo - width:g}, {lo:g})", in_low),
            (f"high sideband [{hi:g}, {hi + width:g})", in_high),
        ):
            if weights[mask].sum() <= 0:
                raise ValueError(f"The {name} holds no events (or no positive total weight).")
        if self.balance:
            half = 0.5 * weights[in_sr].sum()
            weights[in_low] *= half / weights[in_low].sum()
            weights[in_high] *= half / weights[in_high].sum()
        labels = np.full(X.shape[0], -1, dtype=np.int64)
        labels[in_sr] = 1
        labels[in_low | in_high] = 0
        self.classes_ = np.array([0, 1])
        sb = in_low | in_high
        Xin = self._inputs(X)
        rho = np.array(
            [
                spearmanr(Xin[sb, j], m[sb]).statistic if np.ptp(Xin[sb, j]) > 0 else 0.0
                for j in range(Xin.shape[1])
            ]
        )
        self.mass_correlation_ = pd.Series(rho, index=self.input_features_, name="spearman")
        # strong (above the threshold) and not a fluctuation (3 standard errors)
        bad = (np.abs(rho) > self.max_mass_correlation) & (np.abs(rho) * np.sqrt(sb.sum() - 1) > 3)
        if bad.any():
            warnings.warn(
                f"Classifier input(s) {list(self.input_features_[bad])} are correlated with the "
                f"mass in the sidebands (Spearman {np.round(rho[bad], 3).tolist()}, above "
                f"{self.max_mass_correlation}): the classifier can learn the mass and sculpt a "
                "fake bump. Decorrelate them (e.g. divide jet masses by mjj) or drop them.",
                MassCorrelationWarning,
                stacklevel=3,
            )
        return labels, weights

    def _fit(self, X, labels, weights):
        base = self._base_estimator()
        if not has_fit_parameter(base, "sample_weight"):
            raise ValueError(
                f"The inner estimator {type(base).__name__} must accept sample_weight in fit."
            )
        rng = check_random_state(self.random_state)
        train = np.flatnonzero(labels >= 0)
        counts = np.bincount(labels[train], minlength=2)
        if counts.min() < self.n_folds:
            raise ValueError(
                f"Each mixed sample needs at least n_folds={self.n_folds} events; got "
                f"{counts.tolist()}."
            )
        K = self.n_folds
        folds = np.empty(X.shape[0], dtype=np.int64)
        splitter = StratifiedKFold(K, shuffle=True, random_state=rng.randint(2**31 - 1))
        for k, (_, test) in enumerate(splitter.split(train, labels[train])):
            folds[train[test]] = k
        rest = np.flatnonzero(labels < 0)
        folds[rest] = rng.permutation(rest.size) % K
        self.folds_ = folds

        has_seed = "random_state" in base.get_params()
        self.estimators_ = [[] for _ in range(K)]
        self.validation_loss_ = np.full((K, K), np.nan)
        oof = np.empty(X.shape[0])
        for k in range(K):
            for j in range(K):
                if j == k:
                    continue
                fit_idx = train[(folds[train] != k) & (folds[train] != j)]
                val_idx = train[folds[train] == j]
                best, best_loss = None, np.inf
                for _ in range(self.n_inits):
                    model = clone(base)
                    if has_seed:
                        model.set_params(random_state=rng.randint(2**31 - 1))
                    model.fit(X[fit_idx], labels[fit_idx], sample_weight=weights[fit_idx])
                    p = model.predict_proba(X[val_idx])
                    loss = log_loss(
                        labels[val_idx], p, sample_weight=weights[val_idx], labels=[0, 1]
                    )
                    if best is None or loss < best_loss:
                        best, best_loss = model, loss
                if list(best.classes_) != [0, 1]:
                    raise ValueError(
                        f"The inner estimator's classes_ are {list(best.classes_)}; "
                        "expected [0, 1]."
                    )
                self.estimators_[k].append(best)
                self.validation_loss_[k, j] = best_loss
                if self.verbose:
                    print(f"[CWoLa] test fold {k}, validation fold {j}: val loss {best_loss:.5f}")
            in_k = folds == k
            oof[in_k] = np.mean([e.predict_proba(X[in_k])[:, 1] for e in self.estimators_[k]], 0)
        self.oof_scores_ = oof

    # -- predict ---------------------------------------------------------- #
    def predict_proba(self, X):
        """Mean probability over all fold models (not out-of-fold on training data).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._inputs(validate_predict_data(self, X))
        p = np.mean([e.predict_proba(X) for fold in self.estimators_ for e in fold], axis=0)
        return p

    def predict(self, X):
        """The more probable mixed-sample label.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _scores_and_folds(self, X):
        Xv = validate_predict_data(self, X)
        if (Xv.shape, _fingerprint(Xv)) == self._train_fingerprint:
            return Xv, self.oof_scores_, self.folds_
        scores = self.predict_proba(X)[:, 1]
        return Xv, scores, np.zeros(Xv.shape[0], dtype=np.int64)

    def select(self, X, efficiency):
        """Events passing the cut that keeps the most signal-region-like fraction.

        On the training data (recognised by content) the out-of-fold scores
        are used and the threshold is set in each fold separately; on other
        data the fold-averaged ``predict_proba`` with one threshold. The
        threshold keeps the fraction ``efficiency`` of the events (unweighted)
        in the signal region and sidebands (all events for ``fit(X, y)``);
        it is then applied to every event.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        efficiency : float in (0, 1]

        Returns
        -------
        ndarray of bool of shape (n_samples,)
        """
        check_is_fitted(self)
        if not isinstance(efficiency, Real) or not 0 < efficiency <= 1:
            raise ValueError(f"efficiency must be in (0, 1]; got {efficiency!r}.")
        Xv, scores, folds = self._scores_and_folds(X)
        if efficiency == 1:
            return np.ones(Xv.shape[0], dtype=bool)
        region = self._region(Xv)
        passed = np.zeros(Xv.shape[0], dtype=bool)
        for k in np.unique(folds):
            in_k = folds == k
            ref = np.sort(scores[in_k & region])[::-1]
            if ref.size == 0:
                continue
            threshold = ref[max(int(np.ceil(efficiency * ref.size)) - 1, 0)]
            passed[in_k] = scores[in_k] >= threshold
        return passed

    # -- bump hunt -------------------------------------------------------- #
    def bump_hunt(
        self,
        X,
        efficiencies=(1.0, 0.1, 0.01, 0.002),
        bins=20,
        *,
        range=None,
        window_bins=2,
        windows=None,
        sqrt_s=13.0,
        sample_weight=None,
    ):
        """Scan signal-region hypotheses along the mass: CWoLa cut, fit, significance.

        For each window a clone of this estimator is trained with
        ``signal_region=window`` (``fit(X)``); for each efficiency the
        events passing :meth:`select` are histogrammed in the mass, the
        dijet function is fitted to every bin outside the window
        (:func:`fit_dijet_background`) and the local significance of the
        window count is computed with the fit uncertainty
        (:func:`local_significance`). ``efficiency=1`` is the spectrum
        without a cut. This estimator itself is left unchanged.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Must contain the mass column.
        efficiencies : tuple of float in (0, 1], default=(1.0, 0.1, 0.01, 0.002)
        bins : int or array-like, default=20
            Number of equal-width mass bins over ``range``, or the bin edges.
        range : (float, float), optional
            Mass range of the histogram; ``None``: min and max of the mass.
        window_bins : int, default=2
            Width of each scanned window in bins (windows slide by one bin and
            must leave room for both sidebands inside the histogram).
        windows : list of (float, float), optional
            Explicit windows (on bin edges) instead of the scan.
        sqrt_s : float, default=13.0
            Collision energy in the units of the mass (13 for TeV).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        BumpHuntResult
        """
        if self.mass is None:
            raise ValueError("bump_hunt needs a mass column (mass is None).")
        efficiencies = tuple(float(e) for e in efficiencies)
        if not efficiencies or any(not 0 < e <= 1 for e in efficiencies):
            raise ValueError(f"efficiencies must be in (0, 1]; got {efficiencies}.")
        probe = clone(self)
        Xv, _, sw = validate_fit_data(probe, X, None, sample_weight, requires_y=False)
        probe.mass_index_ = probe._resolve_mass()
        m = Xv[:, probe.mass_index_].astype(np.float64)
        if np.ndim(bins) == 0:
            if not isinstance(bins, Integral) or bins < 5:
                raise ValueError(f"bins must be an integer >= 5 or bin edges; got {bins!r}.")
            lo, hi = (m.min(), m.max()) if range is None else range
            edges = np.linspace(lo, hi, int(bins) + 1)
        else:
            edges = np.asarray(bins, dtype=float)
        if windows is None:
            windows = []
            for i in np.arange(edges.size - window_bins):
                lo, hi = edges[i], edges[i + window_bins]
                width = hi - lo if self.sideband_width is None else self.sideband_width
                if lo - width >= edges[0] - 1e-9 and hi + width <= edges[-1] + 1e-9:
                    windows.append((float(lo), float(hi)))
            if not windows:
                raise ValueError("No window with both sidebands fits inside the histogram range.")
        rows, spectra, fits, estimators = [], {}, {}, []
        for w, (lo, hi) in enumerate(windows):
            _window_bins(edges, lo, hi)
            est = None
            if any(e < 1 for e in efficiencies):
                est = clone(self).set_params(signal_region=(lo, hi))
                est.fit(X, sample_weight=sample_weight)
            estimators.append(est)
            for eff in efficiencies:
                passed = np.ones(m.size, dtype=bool) if eff == 1 else est.select(X, eff)
                counts, _ = np.histogram(m[passed], bins=edges, weights=sw[passed])
                fit = fit_dijet_background(counts, edges, sqrt_s=sqrt_s, exclude=(lo, hi))
                b, db = fit.expected(lo, hi)
                n = float(counts[_window_bins(edges, lo, hi)].sum())
                rows.append(
                    dict(
                        window_lo=lo,
                        window_hi=hi,
                        efficiency=eff,
                        n_observed=n,
                        n_background=b,
                        n_background_unc=db,
                        significance=local_significance(n, max(b, 1e-9), db),
                        chi2_ndf=fit.chi2 / max(fit.ndf, 1),
                    )
                )
                spectra[w, eff] = counts
                fits[w, eff] = fit
        return BumpHuntResult(
            pd.DataFrame(rows), edges, list(windows), efficiencies, spectra, fits, estimators
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        # fit(X) without y is the CWoLa-hunting form (labels from the mass);
        # fit(X, y) is plain CWoLa, what scikit-learn's checks exercise.
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags
