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

__all__ = [
    "DijetFit",
    "dijet_bin_counts",
    "fit_dijet_background",
    "local_significance",
    "window_mask",
]

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
        fitted &= ~window_mask(edges, *exclude)
    if fitted.sum() < 4:
        raise ValueError(f"The fit needs at least 4 bins outside the window; got {fitted.sum()}.")
    n = np.maximum(counts[fitted], 0.0)
    e_fit = np.c_[edges[:-1][fitted], edges[1:][fitted]]
    if n.sum() <= 0:
        raise ValueError("No events in the fitted bins.")

    def bins(params):
        mu, jac = dijet_bin_counts(params, e_fit, sqrt_s)
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
