"""Toy charge-confusion background with a rare anomalous class (anomaly detection)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["ANOMALY_SOURCES", "make_anomaly_events"]

#: Background sources of wrong charge sign, and the anomalous class, with the
#: default background mixture (fractions of the background).
ANOMALY_SOURCES = {
    "spill_over": 0.45,
    "hadronic_interaction": 0.25,
    "elastic_scattering": 0.20,
    "other": 0.10,
}

_FEATURES = [
    "log10_rigidity_full",
    "log10_rigidity_inner",
    "rigidity_asymmetry_upper_lower",
    "log_chi2_x",
    "log_chi2_y_inner",
    "log_chi2_y_full",
    "charge_inner",
    "charge_layer1",
    "charge_layer9",
    "charge_tof_upper",
    "charge_tof_lower",
    "beta_tof",
    "log1p_n_extra_hits",
    "residual_layer9",
]

_HE_MASS = 3.727  # GeV


def _beta(log10_rigidity, mass, charge=2.0):
    p = charge * 10.0**log10_rigidity
    return p / np.sqrt(p**2 + mass**2)


def make_anomaly_events(
    n_samples=10000,
    *,
    contamination=0.01,
    background_fractions=None,
    anomaly_mass_ratio=2.0,
    return_source=False,
    random_state=None,
):
    """Charge-confused helium events with a rare anomalous class.

    A toy of the AMS-02 antihelium search's background: helium events whose
    charge sign is mismeasured, from several sources, each leaving its own
    signature in the detector variables:

    - ``"spill_over"``: high-rigidity tracks whose curvature is within the
      resolution of zero; the inner tracker and the full span disagree.
    - ``"hadronic_interaction"``: the nucleus interacts in the detector; the
      charge below the interaction (layer 9, lower TOF) drops and extra hits
      appear.
    - ``"elastic_scattering"``: a large-angle scattering kinks the track: the
      upper and lower halves measure different rigidities, the full-span fit
      and the layer-9 residual degrade.
    - ``"other"``: noise hits near the track (poor bending-plane fit, extra hits).

    The anomalous class is a charge-2 particle ``anomaly_mass_ratio`` times
    heavier than helium with clean tracks: every variable lies within the
    background's range, but its TOF velocity is too low for its rigidity under
    the helium-mass hypothesis that the background follows. Every event has
    a shared charge-gain and track-quality fluctuation, so the variables are
    correlated as in a detector. This is a toy: the variable names follow the
    detector, the distributions do not reproduce it.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of events.
    contamination : float in [0, 1), default=0.01
        Fraction of anomalous events (rounded to the nearest integer count).
    background_fractions : dict or None, default=None
        ``{source: fraction}`` of the background mixture (normalised);
        ``None`` uses :data:`ANOMALY_SOURCES`.
    anomaly_mass_ratio : float > 0, default=2.0
        Mass of the anomalous particle in units of the helium mass; 1 makes
        its velocity consistent with the background.
    return_source : bool, default=False
        Also return the source of each event.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : DataFrame of shape (n_samples, 14)
        Detector variables (named columns, float64).
    y : ndarray of int of shape (n_samples,)
        1 for the anomalous class, 0 for background.
    source : ndarray of str of shape (n_samples,)
        Only with ``return_source=True``: a key of :data:`ANOMALY_SOURCES`, or
        ``"anomaly"``.

    Examples
    --------
    >>> from skhep_ml.datasets import make_anomaly_events
    >>> X, y, source = make_anomaly_events(2000, contamination=0.01, return_source=True,
    ...                                    random_state=0)
    >>> X.shape, int(y.sum())
    ((2000, 14), 20)
    >>> sorted(set(source.tolist()))
    ['anomaly', 'elastic_scattering', 'hadronic_interaction', 'other', 'spill_over']
    """
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
    if not isinstance(contamination, numbers.Real) or not 0 <= contamination < 1:
        raise ValueError(f"contamination must be in [0, 1); got {contamination!r}.")
    if not isinstance(anomaly_mass_ratio, numbers.Real) or anomaly_mass_ratio <= 0:
        raise ValueError(f"anomaly_mass_ratio must be positive; got {anomaly_mass_ratio!r}.")
    fractions = dict(ANOMALY_SOURCES if background_fractions is None else background_fractions)
    unknown = set(fractions) - set(ANOMALY_SOURCES)
    if unknown:
        raise ValueError(
            f"Unknown background source(s) {sorted(unknown)}; choose from {list(ANOMALY_SOURCES)}."
        )
    weights = np.array([fractions.get(s, 0.0) for s in ANOMALY_SOURCES], dtype=float)
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(
            f"background_fractions must be non-negative with a positive sum; got {fractions}."
        )
    rng = check_random_state(random_state)

    n_anom = round(float(contamination) * n_samples)
    names = np.array([*ANOMALY_SOURCES, "anomaly"])
    bkg = rng.choice(len(ANOMALY_SOURCES), size=n_samples - n_anom, p=weights / weights.sum())
    code = rng.permutation(np.r_[bkg, np.full(n_anom, len(ANOMALY_SOURCES))])
    src = names[code]
    n = n_samples
    spill, hadr, elas, other, anom = (src == s for s in names)

    # true rigidity: spill-over at high rigidity, the rest lower
    log_r = np.where(spill, rng.normal(2.5, 0.3, n), rng.normal(1.3, 0.35, n))
    log_r = np.where(anom, rng.normal(1.2, 0.3, n), log_r)
    # shared fluctuations: charge gain (all charge measurements) and track quality
    gain = 1.0 + rng.normal(0.0, 0.04, n)
    quality = rng.normal(0.0, 1.0, n)

    X = {}
    X["log10_rigidity_full"] = log_r + rng.normal(0.0, 0.03, n) + 0.06 * spill * rng.normal(0, 1, n)
    inner_sd = np.where(spill, 0.25, 0.05)
    X["log10_rigidity_inner"] = log_r + rng.normal(0.0, 1.0, n) * inner_sd
    kink = np.where(elas, rng.choice([-1.0, 1.0], n) * rng.uniform(0.2, 0.7, n), 0.0)
    X["rigidity_asymmetry_upper_lower"] = kink + rng.normal(0.0, 0.05, n) * (1 + spill)
    noise_hits = np.where(other, rng.uniform(1.0, 2.5, n), 0.0)
    X["log_chi2_x"] = 0.3 * quality + noise_hits + rng.normal(0.0, 0.25, n)
    X["log_chi2_y_inner"] = 0.3 * quality + 0.4 * spill + 0.5 * noise_hits + rng.normal(0, 0.25, n)
    X["log_chi2_y_full"] = (
        0.3 * quality + 3.0 * np.abs(kink) + 0.5 * hadr + 0.3 * noise_hits + rng.normal(0, 0.25, n)
    )
    # charges: Z = 2 with a shared gain; below a hadronic interaction, fragments
    drop = np.where(hadr, rng.uniform(0.3, 1.0, n), 0.0)
    X["charge_inner"] = 2.0 * gain + rng.normal(0.0, 0.05, n) - 0.3 * drop
    X["charge_layer1"] = 2.0 * gain + rng.normal(0.0, 0.08, n)
    X["charge_layer9"] = (2.0 - drop) * gain + rng.normal(0.0, 0.08, n)
    X["charge_tof_upper"] = 2.0 * gain + rng.normal(0.0, 0.08, n)
    X["charge_tof_lower"] = (2.0 - 0.8 * drop) * gain + rng.normal(0.0, 0.08, n)
    mass = np.where(anom, anomaly_mass_ratio * _HE_MASS, _HE_MASS)
    X["beta_tof"] = _beta(log_r, mass) + rng.normal(0.0, 0.01, n)
    extra = rng.poisson(np.where(hadr, 8.0, 0.5) + 3.0 * noise_hits)
    X["log1p_n_extra_hits"] = np.log1p(extra)
    X["residual_layer9"] = np.abs(
        rng.normal(0.0, 0.01, n) * (1 + 0.3 * np.abs(quality)) + 0.05 * kink + 0.01 * drop
    )
    X = pd.DataFrame(X, columns=_FEATURES)
    y = anom.astype(int)
    if return_source:
        return X, y, src
    return X, y
