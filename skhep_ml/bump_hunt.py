"""The bump hunt: cut on a classifier score, fit the sidebands, count in the window.

For each signal-region hypothesis (a window of the mass histogram) and each
efficiency, the events passing a cut on the score of the window's classifier
are histogrammed in the mass, the dijet function is fitted to the bins outside
the window (:func:`~skhep_ml.stats.fit_dijet_background`) and the local
significance of the window count over the fitted background is computed
(:func:`~skhep_ml.stats.local_significance`). :func:`bump_hunt` does this on
any scores; :meth:`skhep_ml.CWoLaClassifier.bump_hunt` trains one CWoLa
classifier per window and cuts on its out-of-fold scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import pandas as pd

from skhep_ml.stats import (
    DEFAULT_FIT_METHOD,
    fit_dijet_background,
    local_significance,
    window_mask,
)

__all__ = ["BumpHuntResult", "bump_hunt"]


@dataclass
class BumpHuntResult:
    """What a bump hunt (:func:`bump_hunt`, :meth:`~skhep_ml.CWoLaClassifier.bump_hunt`) found.

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
        The classifier of every window, when the hunt was run by
        :meth:`~skhep_ml.CWoLaClassifier.bump_hunt` (``None`` where no cut was
        asked for); empty for :func:`bump_hunt`.
    """

    table: pd.DataFrame
    edges: np.ndarray
    windows: list
    efficiencies: tuple
    spectra: dict = field(repr=False)
    fits: dict = field(repr=False)
    estimators: list = field(default_factory=list, repr=False)

    def plot(self, window=None, ax=None, **kwargs):
        """Spectra after each cut with the background fits of one window.

        A shortcut for :meth:`skhep_ml.plotting.BumpHuntDisplay.from_result`.

        Parameters
        ----------
        window : int, optional
            Index into ``windows``; ``None``: the window with the largest
            significance at the tightest efficiency.
        ax : matplotlib Axes or sequence of three Axes, optional
            One Axes: the spectra only; ``None`` or three: with the residual and
            significance-scan panels.
        **kwargs
            Passed to :meth:`~skhep_ml.plotting.BumpHuntDisplay.from_result`
            (``efficiencies``, ``xlabel``, ``style``).

        Returns
        -------
        display : skhep_ml.plotting.BumpHuntDisplay
        """
        from skhep_ml.plotting import BumpHuntDisplay

        return BumpHuntDisplay.from_result(self, window=window, ax=ax, **kwargs)


def _edges(mass, bins, mass_range):
    if np.ndim(bins) == 0:
        if not isinstance(bins, Integral) or bins < 5:
            raise ValueError(f"bins must be an integer >= 5 or bin edges; got {bins!r}.")
        lo, hi = (mass.min(), mass.max()) if mass_range is None else mass_range
        return np.linspace(lo, hi, int(bins) + 1)
    return np.asarray(bins, dtype=float)


def _sliding_windows(edges, window_bins, sideband_width):
    """Windows of ``window_bins`` bins, sliding by one bin, with both sidebands inside."""
    windows = []
    for i in np.arange(edges.size - window_bins):
        lo, hi = edges[i], edges[i + window_bins]
        width = hi - lo if sideband_width is None else sideband_width
        if lo - width >= edges[0] - 1e-9 and hi + width <= edges[-1] + 1e-9:
            windows.append((float(lo), float(hi)))
    if not windows:
        raise ValueError("No window with both sidebands fits inside the histogram range.")
    return windows


def _window_row(counts, edges, lo, hi, sqrt_s, fit_method):
    fit = fit_dijet_background(counts, edges, sqrt_s=sqrt_s, exclude=(lo, hi), method=fit_method)
    b, db = fit.expected(lo, hi)
    n = float(counts[window_mask(edges, lo, hi)].sum())
    row = dict(
        window_lo=lo,
        window_hi=hi,
        n_observed=n,
        n_background=b,
        n_background_unc=db,
        significance=local_significance(n, max(b, 1e-9), db),
        chi2_ndf=fit.chi2 / max(fit.ndf, 1),
    )
    return row, fit


def bump_hunt(
    mass,
    ranks=None,
    efficiencies=(1.0, 0.1, 0.01, 0.002),
    bins=20,
    *,
    range=None,
    window_bins=2,
    sideband_width=None,
    windows=None,
    sqrt_s=13.0,
    sample_weight=None,
    fit_method=DEFAULT_FIT_METHOD,
):
    """Scan signal-region windows along the mass: cut, sideband fit, local significance.

    For each window ``[lo, hi)`` and efficiency ``e``, the events with
    ``ranks(lo, hi) < e`` (every event for ``e = 1``) are histogrammed in
    the mass, the dijet function is fitted to every bin outside the window and
    the local significance of the window count is computed with the fit
    uncertainty.

    Parameters
    ----------
    mass : array-like of shape (n_samples,)
    ranks : callable or None, default=None
        ``ranks(lo, hi)`` returns, for the classifier of window ``[lo, hi)``,
        the rank of every event: the fraction of the reference events (those
        the cut efficiency is counted on) that score strictly higher, so 0 for
        the most signal-like; a cut at efficiency ``e`` keeps the events with
        rank ``< e``. Called once per window, only when an efficiency is below
        1. ``None``: no classifier (only ``efficiencies=(1.0,)``).
    efficiencies : tuple of float in (0, 1], default=(1.0, 0.1, 0.01, 0.002)
    bins : int or array-like, default=20
        Number of equal-width mass bins over ``range``, or the bin edges.
    range : (float, float), optional
        Mass range of the histogram; ``None``: min and max of the mass.
    window_bins : int, default=2
        Width of each scanned window in bins (windows slide by one bin and
        must leave room for both sidebands inside the histogram).
    sideband_width : float, optional
        Width of each sideband when scanning; ``None``: the window width.
    windows : list of (float, float), optional
        Explicit windows (on bin edges) instead of the scan.
    sqrt_s : float, default=13.0
        Collision energy in the units of the mass (13 for TeV).
    sample_weight : array-like of shape (n_samples,), optional
    fit_method : {"minuit", "scipy"}, default="minuit"
        The minimiser of the sideband fit (``method`` of
        :func:`~skhep_ml.stats.fit_dijet_background`).

    Returns
    -------
    BumpHuntResult

    Examples
    --------
    A cut on a known signal-like feature (low n-subjettiness) in one window:

    >>> import numpy as np
    >>> from skhep_ml.bump_hunt import bump_hunt
    >>> from skhep_ml.datasets import make_dijet_resonance
    >>> X, y = make_dijet_resonance(20000, 200, mjj_range=(2.8, 4.4), random_state=0)
    >>> tau = (X.tau21_j1 + X.tau21_j2).to_numpy()
    >>> rank = np.argsort(np.argsort(tau)) / tau.size  # 0: the lowest tau21
    >>> res = bump_hunt(
    ...     X.mjj.to_numpy(), lambda lo, hi: rank, (1.0, 0.05), np.linspace(2.8, 4.4, 17),
    ...     windows=[(3.3, 3.7)],
    ... )
    >>> res.table[["efficiency", "n_observed", "significance"]].round(2)
       efficiency  n_observed  significance
    0        1.00      3737.0          2.82
    1        0.05       278.0          5.71
    """
    mass = np.asarray(mass, dtype=np.float64)
    weights = np.ones_like(mass) if sample_weight is None else np.asarray(sample_weight, float)
    efficiencies = tuple(float(e) for e in efficiencies)
    if not efficiencies or any(not 0 < e <= 1 for e in efficiencies):
        raise ValueError(f"efficiencies must be in (0, 1]; got {efficiencies}.")
    cut = any(e < 1 for e in efficiencies)
    if cut and ranks is None:
        raise ValueError("An efficiency below 1 needs ranks (a classifier to cut on).")
    edges = _edges(mass, bins, range)
    if windows is None:
        windows = _sliding_windows(edges, window_bins, sideband_width)
    for lo, hi in windows:
        window_mask(edges, lo, hi)
    rows, spectra, fits = [], {}, {}
    for w, (lo, hi) in enumerate(windows):
        rank = np.asarray(ranks(lo, hi)) if cut else None
        for eff in efficiencies:
            passed = slice(None) if eff == 1 else rank < eff
            counts, _ = np.histogram(mass[passed], bins=edges, weights=weights[passed])
            row, fits[w, eff] = _window_row(counts, edges, lo, hi, sqrt_s, fit_method)
            rows.append(dict(row, efficiency=eff))
            spectra[w, eff] = counts
    columns = ["window_lo", "window_hi", "efficiency", "n_observed", "n_background"]
    columns += ["n_background_unc", "significance", "chi2_ndf"]
    table = pd.DataFrame(rows, columns=columns)
    return BumpHuntResult(table, edges, list(windows), efficiencies, spectra, fits)
