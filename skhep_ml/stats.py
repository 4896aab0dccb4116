"""Statistics of a resonance search: the dijet background fit and local significances.

The background under a bump is estimated by a binned Poisson fit of the dijet
function ``p1 (1 - x)^p2 x^(-p3)``, ``x = m / sqrt_s``, to the mass spectrum
outside the signal-region window (:func:`fit_dijet_background`, returning a
:class:`DijetFit`); the excess in the window is then quantified by
:func:`local_significance`, with the fit uncertainty on the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.stats import chi2 as chi2_distribution

__all__ = [
    "DEFAULT_FIT_METHOD",
    "DIJET_PARAM_NAMES",
    "FIT_METHODS",
    "DijetFit",
    "dijet_bin_counts",
    "fit_dijet_background",
    "local_significance",
    "window_mask",
]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)

#: The minimisers :func:`fit_dijet_background` offers.
FIT_METHODS = ("minuit", "scipy")
#: The default minimiser, chosen by ``benchmarks/sideband_fit.py``.
DEFAULT_FIT_METHOD = "minuit"
#: Names of ``DijetFit.params``.
DIJET_PARAM_NAMES = ("log_p1", "p2", "p3")


@dataclass
class DijetFit:
    """Binned Poisson fit of ``p1 (1 - x)^p2 x^(-p3)``, ``x = m / sqrt_s``.

    The density is in events per unit mass. ``params`` are
    ``(log p1, p2, p3)`` and ``covariance`` their covariance: from HESSE (the
    inverse observed information) with ``method="minuit"``, where a parameter
    held at its bound 0 has no variance; the inverse Fisher (expected)
    information of all three with ``method="scipy"``.

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
        Whether the minimiser converged (MIGRAD's valid minimum before HESSE;
        L-BFGS-B's convergence flag).
    method : str
        The minimiser, ``"minuit"`` or ``"scipy"``.
    valid : bool
        A minimum to trust: converged, a finite, positive-definite covariance
        and, for Minuit, a valid minimum after HESSE with an accurate
        covariance (``FMin.is_valid`` and ``has_accurate_covar``).
    posdef : bool
        Whether ``covariance`` is positive definite (smallest eigenvalue above
        ``1e-12`` times the largest).
    edm : float
        Estimated distance to the minimum in units of the deviance
        (``0.5 g' H^-1 g`` of ``-2 ln L``; Minuit's own EDM for
        ``method="minuit"``, computed the same way from the gradient and the
        covariance for ``"scipy"``, leaving out a parameter held at its bound).
    nfev, ngrad : int
        Likelihood and gradient evaluations.
    at_limit : bool
        Whether ``p2`` or ``p3`` ended at its bound 0 (for Minuit: was fixed
        there, see :func:`fit_dijet_background`).
    nll : float
        ``-ln L`` at the minimum, ``sum(mu - n ln mu)`` (without ``ln n!``).
    deviance : float
        ``-2 ln(L / L_saturated) = 2 sum(mu - n + n ln(n / mu))`` over the
        fitted bins: the likelihood-ratio goodness-of-fit statistic of Poisson
        counts (Baker and Cousins 1984), asymptotically chi2 with ``ndf``
        degrees of freedom.
    pvalue : float
        Goodness of fit: ``P(chi2_ndf > deviance)``, from the likelihood-ratio
        statistic of the fit. Asymptotic: with a few events per bin it is only
        a guide; on background-only toys (``benchmarks/sideband_fit.py``) it
        is close to uniform from 1000 events on, while at 50 to 200 events the
        Pearson ``chi2_pvalue`` is the closer of the two.
    chi2_pvalue : float
        ``P(chi2_ndf > chi2)`` with the Pearson ``chi2``.
    minos_errors : ndarray of shape (3, 2) or None
        MINOS ``(lower, upper)`` errors of ``params`` when asked for (NaN
        where MINOS failed).
    """

    params: np.ndarray
    covariance: np.ndarray
    edges: np.ndarray
    fitted: np.ndarray
    sqrt_s: float
    chi2: float
    ndf: int
    success: bool
    method: str = "scipy"
    valid: bool = True
    posdef: bool = True
    edm: float = float("nan")
    nfev: int = 0
    ngrad: int = 0
    at_limit: bool = False
    nll: float = float("nan")
    deviance: float = float("nan")
    pvalue: float = float("nan")
    chi2_pvalue: float = float("nan")
    minos_errors: np.ndarray | None = None

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
        mu, jac = dijet_bin_counts(self.params, self.edges, self.sqrt_s)
        if lo is None and hi is None:
            var = np.einsum("ij,jk,ik->i", jac, self.covariance, jac)
            return mu, np.sqrt(np.maximum(var, 0.0))
        sel = window_mask(self.edges, lo, hi)
        grad = jac[sel].sum(axis=0)
        return float(mu[sel].sum()), float(np.sqrt(max(grad @ self.covariance @ grad, 0.0)))


def dijet_bin_counts(params, edges, sqrt_s=13.0):
    """Counts per bin of the dijet function and their Jacobian.

    The density ``exp(params[0]) (1 - x)^params[1] x^(-params[2])``,
    ``x = m / sqrt_s``, is integrated over each bin with 8-point
    Gauss-Legendre quadrature.

    Parameters
    ----------
    params : array-like of shape (3,)
        ``(log p1, p2, p3)``.
    edges : array-like of shape (n_bins + 1,) or (n_bins, 2)
        Increasing bin edges, or one ``(lo, hi)`` pair per bin.
    sqrt_s : float, default=13.0
        Collision energy in the units of the mass.

    Returns
    -------
    counts : ndarray of shape (n_bins,)
    jacobian : ndarray of shape (n_bins, 3)
        Derivatives of ``counts`` with respect to ``params``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.stats import dijet_bin_counts
    >>> counts, jac = dijet_bin_counts([0.0, 10.0, 5.0], np.linspace(2.8, 4.4, 5))
    >>> bool(np.all(np.diff(counts) < 0)), jac.shape  # a falling spectrum
    (True, (4, 3))
    """
    params = np.asarray(params, dtype=float)
    edges = np.asarray(edges, dtype=float)
    lo, hi = (edges[:-1], edges[1:]) if edges.ndim == 1 else (edges[:, 0], edges[:, 1])
    half = 0.5 * (hi - lo)[:, None]
    x = (0.5 * (hi + lo)[:, None] + half * _GL_NODES) / sqrt_s
    g = np.stack([np.ones_like(x), np.log1p(-x), -np.log(x)], axis=-1)
    f = np.exp(np.clip(g @ params, -700.0, 700.0)) * (half * _GL_WEIGHTS)
    return f.sum(axis=1), np.einsum("bq,bqk->bk", f, g)


def window_mask(edges, lo, hi):
    """The bins making up the window ``[lo, hi)``, which must start and end on edges.

    Parameters
    ----------
    edges : array-like of shape (n_bins + 1,)
    lo, hi : float

    Returns
    -------
    ndarray of bool of shape (n_bins,)

    Examples
    --------
    >>> from skhep_ml.stats import window_mask
    >>> window_mask([3.0, 3.2, 3.4, 3.6], 3.2, 3.6)
    array([False,  True,  True])
    """
    edges = np.asarray(edges, dtype=float)
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


class _SidebandLikelihood:
    """Binned Poisson likelihood of the dijet function over the fitted bins.

    ``deviance`` is ``-2 ln(L / L_saturated) = 2 sum(mu - n + n ln(n / mu))``,
    the likelihood-ratio statistic against the saturated model (one free mean
    per bin); ``nll`` is ``-ln L`` up to a constant. The last bin counts and
    their Jacobian are cached: Minuit asks for the value and the gradient of
    the same point in two calls.
    """

    def __init__(self, n, bin_edges, sqrt_s):
        self.n = n
        self.bin_edges = bin_edges
        self.sqrt_s = sqrt_s
        self._key = None

    def bins(self, params):
        params = np.asarray(params, dtype=float)
        if self._key is None or not np.array_equal(params, self._key):
            mu, jac = dijet_bin_counts(params, self.bin_edges, self.sqrt_s)
            self._key, self._mu, self._jac = params.copy(), np.maximum(mu, 1e-300), jac
        return self._mu, self._jac

    def nll(self, params):
        mu, jac = self.bins(params)
        return float(np.sum(mu - self.n * np.log(mu))), jac.T @ (1.0 - self.n / mu)

    def deviance(self, params):
        mu, _ = self.bins(params)
        n = self.n
        log_ratio = np.log(np.where(n > 0, n, 1.0) / mu)
        return float(2.0 * np.sum(mu - n + np.where(n > 0, n * log_ratio, 0.0)))

    def deviance_grad(self, params):
        mu, jac = self.bins(params)
        return 2.0 * (jac.T @ (1.0 - self.n / mu))


def _is_posdef(covariance, free=None):
    """Whether ``covariance`` (its block of the ``free`` parameters) is positive definite."""
    if free is not None:
        covariance = covariance[np.ix_(free, free)]
    if not np.all(np.isfinite(covariance)):
        return False
    eig = np.linalg.eigvalsh(0.5 * (covariance + covariance.T))
    return bool(eig[0] > 1e-12 * max(eig[-1], 0.0))


def _fit_scipy(lik, start):
    # L-BFGS-B on -ln L; covariance: inverse Fisher information at the best fit
    res = minimize(
        lik.nll,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None), (0.0, None), (0.0, None)],
        options={"maxiter": 1000},
    )
    params = np.asarray(res.x, dtype=float)
    mu, jac = lik.bins(params)
    covariance = np.linalg.pinv((jac / mu[:, None]).T @ jac)
    success = bool(res.success)
    info = dict(nfev=int(res.nfev), ngrad=int(res.njev), at_limit=bool(np.any(params[1:] <= 0)))
    # EDM in the units of the deviance (Minuit's convention for an FCN with errordef 1):
    # 0.5 g' H^-1 g with g and H of the deviance, i.e. g_nll' V g_nll, over the
    # parameters not held at a bound
    g = lik.nll(params)[1]
    free = np.r_[True, ~((params[1:] <= 0) & (g[1:] > 0))]
    info["edm"] = float(g[free] @ covariance[np.ix_(free, free)] @ g[free])
    return params, covariance, success, success, info


def _fit_minuit(lik, start, minos):
    try:
        from iminuit import Minuit
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "method='minuit' needs iminuit: pip install iminuit (or skhep_ml[fit])"
        ) from exc

    # Internally the normalisation is taken at the count-weighted centre of the
    # fitted range, a = log p1 + p2 <ln(1 - x)> - p3 <ln x>: in (log p1, p2, p3)
    # the valley of the likelihood is so narrow (condition number ~1e6) that the
    # numerical HESSE is wrong by an order of magnitude; a linear map, exact.
    centre = lik.bin_edges.mean(axis=1) / lik.sqrt_s
    weight = lik.n + 0.5
    to_params = np.eye(3)
    to_params[0, 1] = -np.average(np.log1p(-centre), weights=weight)
    to_params[0, 2] = np.average(np.log(centre), weights=weight)
    names = ("log_p1_at_centre", "p2", "p3")

    def fcn(theta):
        return lik.deviance(to_params @ theta)

    def grad(theta):
        return to_params.T @ lik.deviance_grad(to_params @ theta)

    def migrad(at_zero):
        theta0 = np.linalg.solve(to_params, np.where(np.isin(np.arange(3), at_zero), 0.0, start))
        m = Minuit(fcn, theta0, grad=grad, name=names)
        # FCN: the deviance -2 ln(L / L_saturated), as in iminuit.cost's binned
        # likelihoods: a rise of 1 is one standard deviation, hence errordef = 1
        # (Minuit.LIKELIHOOD = 0.5 is for -ln L)
        m.errordef = Minuit.LEAST_SQUARES
        m.print_level = 0
        for i in at_zero:
            m.fixed[i] = True
        m.migrad()
        return m

    # The bounds p2, p3 >= 0 by an active-set search rather than Minuit's limits:
    # the transform behind a limit has no gradient at the bound, and with a few
    # events, where a bound is active, MIGRAD then crawled along it (invalid in
    # up to 76 % of 50-event toys) or stopped at the wrong bound, the valley
    # running between the two. The free fit, if inside the bounds, is the
    # constrained minimum; otherwise the best fit inside the bounds on the faces
    # p2 = 0 and p3 = 0 (each an ordinary MIGRAD, the parameter fixed at 0), or
    # at their corner when neither face has its minimum inside (the corner lies
    # on both faces, so it cannot beat a face minimum inside the bounds).
    feasible, nfev, ngrad = [], 0, 0
    for at_zero in ((), (1,), (2,), (1, 2)):
        if at_zero == (1, 2) and feasible:
            break
        m = migrad(at_zero)
        nfev, ngrad = nfev + m.nfcn, ngrad + m.ngrad
        if np.all(np.isfinite(m.values)) and np.all(np.asarray(m.values)[1:] >= 0.0):
            feasible.append(m)
            if not at_zero and m.valid:
                break
    m = min(feasible, key=lambda f: (not f.valid, f.fval))
    converged = bool(m.fmin.is_valid)
    calls = m.nfcn, m.ngrad
    m.hesse()
    nfev, ngrad = nfev + m.nfcn - calls[0], ngrad + m.ngrad - calls[1]
    theta = np.array(m.values, dtype=float)
    fixed = np.array(m.fixed, dtype=bool)
    params = to_params @ theta
    params[1:][fixed[1:]] = 0.0
    covariance = to_params @ np.array(m.covariance, dtype=float) @ to_params.T
    info = dict(
        nfev=int(nfev),
        ngrad=int(ngrad),
        edm=float(m.fmin.edm),
        at_limit=bool(fixed.any()),
        free=~fixed,
    )
    if minos:
        # MINOS of p2 and p3 (profiles do not depend on how the others are
        # parametrised); none for log p1, which is not a parameter of this fit
        errors = np.full((3, 2), np.nan)
        free = [name for name, f in zip(names[1:], fixed[1:]) if not f]
        if m.valid and free:
            m.minos(*free)
            for i, name in enumerate(names):
                if name in free and m.merrors[name].is_valid:
                    errors[i] = m.merrors[name].lower, m.merrors[name].upper
        info["minos_errors"] = errors
    valid = bool(m.fmin.is_valid) and bool(m.fmin.has_accurate_covar)
    return params, covariance, converged, valid, info


def fit_dijet_background(
    counts, edges, *, sqrt_s=13.0, exclude=None, method=DEFAULT_FIT_METHOD, minos=False
):
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
    method : {"minuit", "scipy"}, default="minuit"
        The minimiser (the default is ``DEFAULT_FIT_METHOD``).

        - ``"minuit"``: iminuit's MIGRAD on the deviance
          ``-2 ln(L / L_saturated)`` (``errordef = 1``: one standard deviation
          is a rise of 1) with its analytic gradient, then HESSE for the
          covariance. The bounds ``p2, p3 >= 0`` are kept by an active-set
          search: the free fit if it ends inside them, else the best fit with
          ``p2`` or ``p3`` (or both) fixed at 0, which then gets no variance.
          Internally the normalisation is taken at the centre of the fitted
          range, which makes the problem well conditioned for HESSE.
        - ``"scipy"``: L-BFGS-B on ``-ln L`` with the analytic gradient and
          bounds, covariance the inverse Fisher information.

        ``benchmarks/sideband_fit.py`` compares the two on 3900
        background-only spectra of 50 to 1e6 events: with 50 to 200 events
        L-BFGS-B reports convergence far from the minimum (EDM above 1, up
        to 85 units of ``-2 ln L`` above it) in 1 to 2 % of the spectra, and
        with 1000 events or more it stops short of it (by a median 0.003 to
        0.07) in 66 to 100 % of them; MIGRAD was valid and at least as low in
        all of them, at 2 to 5 times the cost (7 to 22 ms a fit).
    minos : bool, default=False
        Also run MINOS (``method="minuit"`` only): asymmetric errors in
        ``minos_errors``.

    Returns
    -------
    DijetFit

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.stats import fit_dijet_background
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
    >>> fit.valid, fit.ndf, bool(fit.pvalue > 0.01)  # goodness of fit from the deviance
    (True, 17, True)
    """
    if method not in FIT_METHODS:
        raise ValueError(f"method must be one of {FIT_METHODS}; got {method!r}.")
    if minos and method != "minuit":
        raise ValueError("minos=True needs method='minuit'.")
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
        fitted &= ~window_mask(edges, *exclude)
    if fitted.sum() < 4:
        raise ValueError(f"The fit needs at least 4 bins outside the window; got {fitted.sum()}.")
    n = np.maximum(counts[fitted], 0.0)
    e_fit = np.c_[edges[:-1][fitted], edges[1:][fitted]]
    if n.sum() <= 0:
        raise ValueError("No events in the fitted bins.")
    lik = _SidebandLikelihood(n, e_fit, float(sqrt_s))

    # starting point: weighted least squares of log(counts / width) (the model is
    # linear in (log p1, p2, p3) at the bin centres)
    centre = e_fit.mean(axis=1) / sqrt_s
    width = e_fit[:, 1] - e_fit[:, 0]
    design = np.c_[np.ones_like(centre), np.log1p(-centre), -np.log(centre)]
    w = np.sqrt(n + 0.5)
    start, *_ = np.linalg.lstsq(design * w[:, None], np.log((n + 0.5) / width) * w, rcond=None)
    # p2, p3 >= 0: a falling spectrum; otherwise (1 - x)^p2 x^(-p3) can peak and
    # fit a bump of its own into the window when few events are left after a cut
    start[1:] = np.maximum(start[1:], 0.0)

    if method == "minuit":
        params, covariance, success, valid, info = _fit_minuit(lik, start, minos)
    else:
        params, covariance, success, valid, info = _fit_scipy(lik, start)
    mu, _ = lik.bins(params)
    ndf = int(n.size - 3)
    chi2 = float(np.sum((n - mu) ** 2 / mu))
    deviance = lik.deviance(params)
    posdef = _is_posdef(covariance, info.get("free"))
    return DijetFit(
        params,
        covariance,
        edges,
        fitted,
        float(sqrt_s),
        chi2,
        ndf,
        success,
        method=method,
        valid=bool(valid and posdef and np.all(np.isfinite(params))),
        posdef=posdef,
        edm=info["edm"],
        nfev=info["nfev"],
        ngrad=info["ngrad"],
        at_limit=info["at_limit"],
        nll=lik.nll(params)[0],
        deviance=deviance,
        pvalue=float(chi2_distribution.sf(deviance, ndf)),
        chi2_pvalue=float(chi2_distribution.sf(chi2, ndf)),
        minos_errors=info.get("minos_errors"),
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
    >>> from skhep_ml.stats import local_significance
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
