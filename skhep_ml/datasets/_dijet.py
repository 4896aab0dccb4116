"""A simulated dijet resonance search sample modelled on the LHC Olympics 2020 R&D set."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["DIJET_FEATURE_NAMES", "make_dijet_resonance"]

#: Columns of :func:`make_dijet_resonance`, the names of ``load_lhco_rnd`` (TeV).
DIJET_FEATURE_NAMES = ["mjj", "mj1", "delta_mj", "tau21_j1", "tau21_j2"]


def _beta(rng, mean, concentration, size):
    mean = np.clip(mean, 0.02, 0.98)
    return rng.beta(mean * concentration, (1.0 - mean) * concentration, size=size)


def _sample_dijet_mjj(rng, n, mjj_range, sqrt_s, p2, p3):
    """Inverse-CDF sampling of ``(1 - x)^p2 x^(-p3)``, ``x = mjj / sqrt_s``."""
    grid = np.linspace(mjj_range[0], mjj_range[1], 20001)
    x = grid / sqrt_s
    pdf = (1.0 - x) ** p2 * x ** (-p3)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    return np.interp(rng.uniform(0.0, cdf[-1], size=n), cdf, grid)


def _qcd_jets(rng, mjj, n):
    """Jet mass and tau21 of a QCD jet: broad, one-prong, nearly independent of mjj."""
    mass = 0.08 * (mjj / 3.5) ** 0.15 * np.exp(0.75 * rng.normal(size=n))
    mass = np.minimum(mass, 0.9)
    # heavier QCD jets are a little more two-prong-like (smaller tau21)
    tau21 = _beta(rng, 0.68 - 0.25 * np.minimum(mass, 0.6), 8.0, n)
    return mass, tau21


def _signal_jets(rng, mass, n, resolution, tail_fraction):
    """A two-prong jet from a boosted resonance of the given mass."""
    m = mass * (1.0 + resolution * rng.normal(size=n))
    tau21 = _beta(rng, 0.35, 8.0, n)
    # final-state radiation out of the jet / a lost prong: lower mass, one-prong-like
    bad = rng.uniform(size=n) < tail_fraction
    m[bad] *= rng.uniform(0.3, 0.9, size=bad.sum())
    tau21[bad] = _beta(rng, 0.55, 12.0, bad.sum())
    return np.maximum(m, 0.005), tau21


def make_dijet_resonance(
    n_background=100_000,
    n_signal=1_000,
    *,
    mjj_range=(2.5, 6.0),
    sqrt_s=13.0,
    background_shape=(10.0, 5.0),
    resonance_mass=3.5,
    mx=0.5,
    my=0.1,
    mjj_resolution=0.03,
    jet_mass_resolution=0.1,
    tail_fraction=0.2,
    random_state=None,
):
    """Dijet events: falling QCD background and a W' -> X Y -> (qq)(qq) resonance.

    Modelled on the LHC Olympics 2020 R&D dataset (arXiv:2101.08320), with the
    high-level features of the CWoLa-hunting / CATHODE studies, in TeV:

    - ``mjj``: dijet invariant mass. Background follows the dijet function
      ``(1 - x)^p2 x^(-p3)``, ``x = mjj / sqrt_s``, within ``mjj_range``; the
      signal is a Gaussian peak at ``resonance_mass`` (relative width
      ``mjj_resolution``), kept inside ``mjj_range``.
    - ``mj1``: mass of the lighter jet; ``delta_mj``: heavier minus lighter
      jet mass. QCD jet masses are log-normal around 80 GeV and scale only as
      ``mjj^0.15``, so they are nearly independent of ``mjj`` (the CWoLa
      assumption); signal jets have the masses ``my`` and ``mx``.
    - ``tau21_j1``, ``tau21_j2``: N-subjettiness ratio of the lighter and
      the heavier jet; QCD jets are one-prong (about 0.65, a little lower for
      heavy jets), signal jets two-prong (about 0.3). A fraction
      ``tail_fraction`` of signal jets lose part of their mass and look
      one-prong (out-of-cone radiation).

    Parameters
    ----------
    n_background, n_signal : int, default=100_000, 1_000
        Numbers of QCD and signal events.
    mjj_range : (float, float), default=(2.5, 6.0)
        Range of ``mjj`` in TeV.
    sqrt_s : float, default=13.0
        Collision energy in TeV (the ``x`` of the dijet function).
    background_shape : (float, float), default=(10.0, 5.0)
        The exponents ``(p2, p3)`` of the dijet function.
    resonance_mass, mx, my : float, default=3.5, 0.5, 0.1
        Masses of W', X and Y in TeV.
    mjj_resolution, jet_mass_resolution : float, default=0.03, 0.1
        Relative Gaussian resolutions of the signal ``mjj`` and jet masses.
    tail_fraction : float, default=0.2
        Fraction of badly reconstructed signal jets.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : pandas.DataFrame of shape (n_background + n_signal, 5)
        Columns ``DIJET_FEATURE_NAMES``, events in random order.
    y : pandas.Series of int
        1 for signal, 0 for background (name ``"label"``).

    Examples
    --------
    >>> from skhep_ml.datasets import make_dijet_resonance
    >>> X, y = make_dijet_resonance(2000, 100, random_state=0)
    >>> X.shape, int(y.sum())
    ((2100, 5), 100)
    >>> list(X.columns)
    ['mjj', 'mj1', 'delta_mj', 'tau21_j1', 'tau21_j2']
    >>> round(float(X.mj1[y == 1].median()), 1), round(float(X.delta_mj[y == 1].median()), 1)
    (0.1, 0.4)
    """
    for name, value in (("n_background", n_background), ("n_signal", n_signal)):
        if not isinstance(value, Integral) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    if n_background + n_signal == 0:
        raise ValueError("n_background + n_signal must be positive.")
    lo, hi = (float(v) for v in mjj_range)
    if not 0 < lo < hi < sqrt_s:
        raise ValueError(f"mjj_range must satisfy 0 < lo < hi < sqrt_s={sqrt_s}; got {mjj_range}.")
    for name, value in (
        ("resonance_mass", resonance_mass),
        ("mx", mx),
        ("my", my),
        ("mjj_resolution", mjj_resolution),
        ("jet_mass_resolution", jet_mass_resolution),
    ):
        if not isinstance(value, Real) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}.")
    if not 0 <= tail_fraction <= 1:
        raise ValueError(f"tail_fraction must be in [0, 1], got {tail_fraction!r}.")
    if n_signal and not lo < resonance_mass < hi:
        raise ValueError(f"resonance_mass={resonance_mass} is outside mjj_range={mjj_range}.")
    rng = check_random_state(random_state)
    p2, p3 = background_shape

    # background
    mjj_b = _sample_dijet_mjj(rng, n_background, (lo, hi), sqrt_s, p2, p3)
    m_a, t_a = _qcd_jets(rng, mjj_b, n_background)
    m_b, t_b = _qcd_jets(rng, mjj_b, n_background)

    # signal: Gaussian mjj peak inside the range (rejection), X and Y jets
    mjj_s = np.empty(0)
    while mjj_s.size < n_signal:
        draw = resonance_mass * (1.0 + mjj_resolution * rng.normal(size=2 * n_signal + 10))
        mjj_s = np.concatenate([mjj_s, draw[(draw >= lo) & (draw < hi)]])
    mjj_s = mjj_s[:n_signal]
    m_x, t_x = _signal_jets(rng, mx, n_signal, jet_mass_resolution, tail_fraction)
    m_y, t_y = _signal_jets(rng, my, n_signal, jet_mass_resolution, tail_fraction)

    mjj = np.concatenate([mjj_b, mjj_s])
    ma, mb = np.concatenate([m_a, m_y]), np.concatenate([m_b, m_x])
    ta, tb = np.concatenate([t_a, t_y]), np.concatenate([t_b, t_x])
    first_lighter = ma <= mb
    mj1 = np.where(first_lighter, ma, mb)
    mj2 = np.where(first_lighter, mb, ma)
    X = pd.DataFrame(
        {
            "mjj": mjj,
            "mj1": mj1,
            "delta_mj": mj2 - mj1,
            "tau21_j1": np.where(first_lighter, ta, tb),
            "tau21_j2": np.where(first_lighter, tb, ta),
        }
    )
    y = np.r_[np.zeros(n_background, dtype=np.int64), np.ones(n_signal, dtype=np.int64)]
    order = rng.permutation(len(y))
    X = X.iloc[order].reset_index(drop=True)
    return X, pd.Series(y[order], name="label")
