"""Toy samples for decorrelation: the learning-to-pivot toy and W vs QCD jets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["JET_FEATURE_NAMES", "make_jet_mass_toy", "make_pivot_toy"]

#: Columns of :func:`make_jet_mass_toy` (``"mass"`` is the protected variable).
JET_FEATURE_NAMES = ("pt", "tau21", "d2", "girth", "n_constituents", "mass")

W_MASS = 80.4  # GeV


def _check_n(n_samples):
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2; got {n_samples!r}.")
    return int(n_samples)


def _check_fraction(signal_fraction):
    if not 0.0 < signal_fraction < 1.0:
        raise ValueError(f"signal_fraction must be in (0, 1); got {signal_fraction!r}.")
    return float(signal_fraction)


def make_pivot_toy(n_samples=10000, *, z=None, signal_fraction=0.5, random_state=None):
    """The 2D toy of "Learning to Pivot with Adversarial Networks" (arXiv:1611.01046).

    Background (``y=0``): ``x ~ N((0, 0), [[1, -0.5], [-0.5, 1]])``; signal
    (``y=1``): ``x ~ N((1, 1 + Z), I)``, with the nuisance parameter
    ``Z ~ N(0, 1)`` drawn for every row (it only moves the signal). A classifier
    trained on ``x`` alone learns where the signal sits for the average ``Z``,
    so its output distribution changes with ``Z``: the paper's motivation for a
    pivotal classifier.

    Parameters
    ----------
    n_samples : int, default=10000
    z : float or None, default=None
        Fix ``Z`` to this value for every row (the paper's figure uses
        ``Z = -1, 0, +1``); ``None`` draws ``Z ~ N(0, 1)``.
    signal_fraction : float in (0, 1), default=0.5
        Probability that a row is signal.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : DataFrame of shape (n_samples, 3)
        Columns ``x0``, ``x1`` (the classifier inputs) and ``z``.
    y : ndarray of int of shape (n_samples,)
        1 for signal, 0 for background.

    Examples
    --------
    >>> from skhep_ml.datasets import make_pivot_toy
    >>> X, y = make_pivot_toy(20000, random_state=0)
    >>> X.groupby(y)[["x0", "x1"]].mean().round(1).values.tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    >>> float(make_pivot_toy(5, z=1.0, random_state=0)[0]["z"].iloc[0])
    1.0
    """
    n = _check_n(n_samples)
    frac = _check_fraction(signal_fraction)
    rng = check_random_state(random_state)
    y = (rng.uniform(size=n) < frac).astype(np.int64)
    zz = rng.normal(size=n) if z is None else np.full(n, float(z))
    bkg = rng.multivariate_normal([0.0, 0.0], [[1.0, -0.5], [-0.5, 1.0]], size=n)
    sig = rng.normal(size=(n, 2)) + np.c_[np.ones(n), 1.0 + zz]
    x = np.where(y[:, None] == 1, sig, bkg)
    X = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "z": zz})
    return X, y


def make_jet_mass_toy(n_samples=20000, *, signal_fraction=0.5, random_state=None):
    """Boosted W jets versus QCD jets whose substructure depends on the jet mass.

    A parametric stand-in for the jet-tagging samples of mass-decorrelation
    studies (arXiv:1703.03507, arXiv:2001.05310). QCD jets (``y=0``) have a
    falling mass spectrum (``30 GeV + Gamma(2, 30 GeV)``, up to 300 GeV); W
    jets (``y=1``) peak at 80.4 GeV with a 10 GeV resolution. Both have
    ``pt = 300 GeV + Exp(150 GeV)``. The substructure of QCD jets depends on
    the mass, as in real jets: heavier QCD jets look more two-pronged (lower
    ``tau21`` and ``d2``) and wider (``girth`` grows with ``mass / pt``), and
    they hold more constituents. A classifier trained on these features
    therefore learns the mass and, cutting on it, sculpts the QCD mass
    spectrum towards the W peak; ``mass`` itself is a column so that it can be
    the protected variable.

    Parameters
    ----------
    n_samples : int, default=20000
    signal_fraction : float in (0, 1), default=0.5
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : DataFrame of shape (n_samples, 6)
        Columns :data:`JET_FEATURE_NAMES`: ``pt`` [GeV], ``tau21``, ``d2``,
        ``girth``, ``n_constituents`` and ``mass`` [GeV].
    y : ndarray of int of shape (n_samples,)
        1 for W jets, 0 for QCD jets.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.datasets import make_jet_mass_toy
    >>> X, y = make_jet_mass_toy(20000, random_state=0)
    >>> list(X.columns)
    ['pt', 'tau21', 'd2', 'girth', 'n_constituents', 'mass']
    >>> qcd = X[y == 0]
    >>> bool(np.corrcoef(qcd["mass"], qcd["tau21"])[0, 1] < -0.3)
    True
    """
    n = _check_n(n_samples)
    frac = _check_fraction(signal_fraction)
    rng = check_random_state(random_state)
    y = (rng.uniform(size=n) < frac).astype(np.int64)
    sig = y == 1
    pt = 300.0 + rng.exponential(150.0, size=n)
    mass = np.empty(n)
    n_sig = int(sig.sum())
    mass[sig] = _truncated(rng, lambda k: rng.normal(W_MASS, 10.0, size=k), n_sig)
    mass[~sig] = _truncated(rng, lambda k: 30.0 + rng.gamma(2.0, 30.0, size=k), n - n_sig)
    # position of the mass in the QCD range, 0 at 30 GeV and 1 at 300 GeV
    u = (mass - 30.0) / 270.0
    tau21 = np.where(sig, rng.normal(0.45, 0.12, size=n), rng.normal(0.75 - 0.6 * u, 0.12, size=n))
    d2 = np.where(
        sig,
        rng.lognormal(np.log(1.5), 0.35, size=n),
        rng.lognormal(np.log(3.0 - 3.0 * u), 0.35, size=n),
    )
    girth = 0.6 * (mass / pt) * rng.lognormal(0.0, 0.15, size=n)
    n_const = rng.poisson(np.where(sig, 25.0 + 0.05 * mass, 15.0 + 0.25 * mass))
    X = pd.DataFrame(
        {
            "pt": pt,
            "tau21": np.clip(tau21, 0.01, 1.0),
            "d2": d2,
            "girth": girth,
            "n_constituents": n_const.astype(np.float64),
            "mass": mass,
        }
    )
    return X, y


def _truncated(rng, draw, k, low=30.0, high=300.0):
    """``k`` draws from ``draw`` kept inside ``[low, high]`` (redrawn otherwise)."""
    out = draw(k)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = draw(int(bad.sum()))
        bad = (out < low) | (out > high)
    return out
