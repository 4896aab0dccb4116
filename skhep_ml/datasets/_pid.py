"""ALICE-like simulated charged-particle tracks with the exact Bayes posterior.

The generator draws, for every track, a species ``s`` and a momentum vector, and
then every detector signal *independently given (s, momentum)*.  Because every
density is written in closed form, the posterior ``P(s | observed track)`` is
known exactly and is the Bayes-optimal classifier: no learned model can beat its
accuracy, except by fluctuation.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.utils import Bunch, check_random_state

__all__ = ["FEATURE_NAMES", "PDG_NAMES", "bayes_limit", "make_pid_tracks", "pdg_charge"]

# --------------------------------------------------------------------------------------
# Species
# --------------------------------------------------------------------------------------
PDG_NAMES = {
    11: "e-",
    -11: "e+",
    211: "pi+",
    -211: "pi-",
    321: "K+",
    -321: "K-",
    2212: "p",
    -2212: "pbar",
}

#: Class labels in increasing order: the order of ``classes_`` of a scikit-learn
#: classifier fitted on the target, and the column order of ``posterior``.
_CLASSES = np.array(sorted(PDG_NAMES), dtype=np.int64)

_MASS_BY_ABS = {11: 0.000511, 211: 0.13957, 321: 0.49368, 2212: 0.93827}  # GeV
# c*tau in metres (inf: stable on the detector scale)
_CTAU_BY_ABS = {11: np.inf, 211: 7.8045, 321: 3.7110, 2212: np.inf}
# fraction of secondaries (wide DCA): conversions for e, weak decays for pi/K/pbar,
# weak decays plus knock-out protons from the detector material for p.
_SEC_FRAC_BY_PDG = {
    11: 0.30,
    -11: 0.30,
    211: 0.05,
    -211: 0.05,
    321: 0.01,
    -321: 0.01,
    2212: 0.15,
    -2212: 0.06,
}

_CHARGED_LEPTONS = frozenset({11, 13, 15})


def pdg_charge(pdg):
    """Sign of the electric charge of a particle given its PDG code.

    Hadrons (and nuclei) have the sign of the code; charged leptons the
    opposite sign (the electron, 11, is negative).

    Parameters
    ----------
    pdg : int

    Returns
    -------
    int
        +1 or -1 (0 for the code 0).

    Examples
    --------
    >>> from skhep_ml.datasets import pdg_charge
    >>> pdg_charge(211), pdg_charge(-2212), pdg_charge(11), pdg_charge(-13)
    (1, -1, -1, 1)
    """
    pdg = int(pdg)
    sign = int(np.sign(pdg))
    return -sign if abs(pdg) in _CHARGED_LEPTONS else sign


_HYPOTHESES = (11, 211, 321, 2212)  # mass hypotheses e, pi, K, p
_MASS4 = np.array([_MASS_BY_ABS[c] for c in _HYPOTHESES])
_CTAU4 = np.array([_CTAU_BY_ABS[c] for c in _HYPOTHESES])
_IS_E4 = np.array([1.0, 0.0, 0.0, 0.0])
_MIDX = np.array([_HYPOTHESES.index(abs(c)) for c in _CLASSES])  # class -> hypothesis
_CHARGE = np.array([pdg_charge(c) for c in _CLASSES], dtype=np.float64)
_SEC_FRAC = np.array([_SEC_FRAC_BY_PDG[c] for c in _CLASSES])

_DEFAULT_ABUNDANCES = {
    211: 0.35,
    -211: 0.35,
    321: 0.07,
    -321: 0.07,
    2212: 0.047,
    -2212: 0.043,
    11: 0.035,
    -11: 0.035,
}

FEATURE_NAMES = [
    "px",
    "py",
    "pz",
    "pt",
    "eta",
    "sign",
    "dca_xy",
    "dca_z",
    "tpc_signal",
    "tpc_ncls",
    "its_signal",
    "tof_beta",
    "trd_signal",
    "nsigma_tpc_pi",
    "nsigma_tpc_ka",
    "nsigma_tpc_pr",
    "nsigma_tof_pi",
    "nsigma_tof_ka",
    "nsigma_tof_pr",
]

# --------------------------------------------------------------------------------------
# Detector model (GeV, metres, ns; c = 1 except in the time of flight)
# --------------------------------------------------------------------------------------
_PT_MIN, _PT_MAX = 0.1, 5.0
# Levy-Tsallis spectrum dN/dpT ~ pT (1 + (mT - m) / (n T))^-n, parameters close to
# ALICE's fits of identified-hadron spectra in pp collisions (T in GeV); electrons
# (mostly from photon conversions) follow the pions.
_LEVY_T_BY_ABS = {11: 0.110, 211: 0.126, 321: 0.168, 2212: 0.196}
_LEVY_N_BY_ABS = {11: 7.5, 211: 7.8, 321: 6.6, 2212: 8.6}
_LEVY_T4 = np.array([_LEVY_T_BY_ABS[c] for c in _HYPOTHESES])
_LEVY_N4 = np.array([_LEVY_N_BY_ABS[c] for c in _HYPOTHESES])
_LEVY_C4 = _LEVY_N4 * _LEVY_T4
_ETA_MAX = 0.9

# ALEPH Bethe-Bloch parametrisation used by ALICE's TPC (AliExternalTrackParam::
# BetheBlochAleph), with the default parameters of AliTPCPIDResponse.
_ALEPH = (0.76176e-1, 10.632, 0.13279e-4, 1.8631, 1.9479)
_BG_MIP = 3.6  # beta*gamma of the minimum of ionisation
_TPC_MIP = 50.0
_TPC_RES = 0.065  # relative dE/dx resolution at the nominal number of clusters
_NCLS_MEAN, _NCLS_SD, _NCLS_MIN, _NCLS_MAX = 130.0, 15.0, 60, 159
_ITS_MIP = 80.0
_ITS_RES = 0.12

_R_TOF = 3.7  # m, radius of the TOF
_R_TPC_OUT = 2.5  # m, outer radius of the TPC (last point of the track)
_C_M_PER_NS = 0.299792458
_SIGMA_T = 0.080  # ns, total time resolution (TOF + start time)
_TOF_SHIFT_MAX = 1.0  # ns, largest |tof_shift| accepted (1 - beta k stays positive)
_TOF_MISMATCH = 0.015  # probability that a TOF hit of another track is matched
_MISMATCH_LO, _MISMATCH_HI = 0.2, 1.1  # mismatched beta ~ Uniform(lo, hi)

_TRD_SIGMA = 0.30  # log-normal width of the TRD signal
_TRD_TR_GAIN = 0.8  # transition-radiation excess of electrons at saturation
_TRD_GAMMA0 = 1000.0  # Lorentz factor of the transition-radiation onset

_DCA_XY_A, _DCA_XY_B = 0.0015, 0.0050  # cm: sigma_xy = A + B / pT**1.1
_DCA_Z_FACTOR = 1.4  # sigma_z = 1.4 sigma_xy
_DCA_SEC_XY, _DCA_SEC_Z = 0.25, 0.35  # cm, width of the secondary component

_LOG_2PI = np.log(2.0 * np.pi)


def _bethe_bloch(bg):
    """ALEPH Bethe-Bloch shape, normalised to 1 at the minimum of ionisation."""
    k1, k2, k3, k4, k5 = _ALEPH

    def raw(x):
        log_x = np.log(x)
        log_beta = log_x - 0.5 * np.log1p(x * x)
        bp = np.exp(k4 * log_beta)
        return k1 / bp * (k2 - bp - np.log(k3 + np.exp(-k5 * log_x)))

    return raw(bg) / raw(_BG_MIP)


def _hypotheses(p):
    """Bethe-Bloch value, beta and gamma of the e, pi, K, p hypotheses, shape (n, 4)."""
    bg = p[:, None] / _MASS4[None, :]
    gamma = np.sqrt(1.0 + bg * bg)
    return _bethe_bloch(bg), bg / gamma, gamma


def _trd_median(bb, gamma_e, is_e):
    """Median TRD signal: the Bethe-Bloch value ``bb``, raised for electrons
    (``is_e`` = 1) by transition radiation, which sets in around a Lorentz factor
    of 1000 (``gamma_e``: the Lorentz factor of the electron hypothesis)."""
    tr = _TRD_TR_GAIN / (1.0 + (_TRD_GAMMA0 / gamma_e) ** 2)
    return bb * (1.0 + tr * is_e)


def _tpc_res(ncls):
    """Relative TPC dE/dx resolution for a track with ``ncls`` clusters."""
    return _TPC_RES * np.sqrt(_NCLS_MEAN / ncls)


def _sigma_beta(beta, eta):
    """TOF beta resolution: sigma_beta = beta^2 sigma_t / (L / c)."""
    t_light = _R_TOF * np.cosh(eta) / _C_M_PER_NS  # ns, flight time at beta = 1
    return beta * beta * _SIGMA_T / t_light


def _dca_sigma(pt):
    sxy = _DCA_XY_A + _DCA_XY_B / pt**1.1
    return sxy, _DCA_Z_FACTOR * sxy


def _survival(pt, mass, ctau):
    """Probability to reach the TOF from the end of the TPC without decaying.

    The decay length is (p/m) c tau and the path R / sin(theta) = R cosh(eta),
    so the ratio R m / (pT c tau) does not depend on eta.
    """
    with np.errstate(divide="ignore"):
        return np.exp(-(_R_TOF - _R_TPC_OUT) * mass / (pt * ctau))


def _norm_logpdf(x, mu, sigma):
    z = (x - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - 0.5 * _LOG_2PI


def _levy_w(pt, mass, c):
    """w = 1 + (mT - m) / c, the variable in which the Levy-Tsallis spectrum is a power law."""
    return 1.0 + (np.sqrt(pt * pt + mass * mass) - mass) / c


def _levy_primitive(w, mass, c, n):
    """Primitive in w of (m + c (w - 1)) w^-n c: pT dpT = mT dmT and dmT = c dw."""
    return c * (mass - c) * w ** (1.0 - n) / (1.0 - n) + c * c * w ** (2.0 - n) / (2.0 - n)


def _levy_log_norm():
    """log of the integral of pT (1 + (mT - m) / (n T))^-n over [PT_MIN, PT_MAX]."""
    w0 = _levy_w(_PT_MIN, _MASS4, _LEVY_C4)
    w1 = _levy_w(_PT_MAX, _MASS4, _LEVY_C4)
    return np.log(
        _levy_primitive(w1, _MASS4, _LEVY_C4, _LEVY_N4)
        - _levy_primitive(w0, _MASS4, _LEVY_C4, _LEVY_N4)
    )


_LEVY_LOG_NORM4 = _levy_log_norm()


def _levy_logpdf(pt):
    """log density of pT under the e, pi, K, p hypotheses, shape (n, 4)."""
    w = _levy_w(pt[:, None], _MASS4, _LEVY_C4)
    return np.log(pt)[:, None] - _LEVY_N4 * np.log(w) - _LEVY_LOG_NORM4


def _check_fraction(value, name):
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not np.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ValueError(f"{name} must be a real number in [0, 1], got {value!r}.")
    return float(value)


def _check_abundances(abundances):
    if abundances is None:
        abundances = _DEFAULT_ABUNDANCES
    if not isinstance(abundances, Mapping):
        raise ValueError(
            "abundances must be None or a mapping {PDG code: relative abundance}, "
            f"got {type(abundances).__name__}."
        )
    unknown = [k for k in abundances if k not in PDG_NAMES]
    if unknown:
        raise ValueError(
            f"abundances has unknown PDG code(s) {unknown}; allowed: {sorted(PDG_NAMES)}."
        )
    w = np.array([float(abundances.get(c, 0.0)) for c in _CLASSES])
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"abundances must be finite, non-negative and not all zero, got {dict(abundances)!r}."
        )
    return w / w.sum()


def _sample_pt(rng, cls):
    """Exact draws from the truncated Levy-Tsallis spectrum, by rejection.

    In w = 1 + (mT - m) / c (c = n T) the density is proportional to
    (m + c (w - 1)) w^-n.  Proposal: the power law w^(1 - n) on [w0, w1], drawn by
    inverting its CDF; acceptance (c + (m - c) / w) / bound with bound the
    maximum of that ratio, reached at w0 or w1.
    """
    h = _MIDX[cls]
    m, c, n_exp = _MASS4[h], _LEVY_C4[h], _LEVY_N4[h]
    w0, w1 = _levy_w(_PT_MIN, m, c), _levy_w(_PT_MAX, m, c)
    a0, a1 = w0 ** (2.0 - n_exp), w1 ** (2.0 - n_exp)
    bound = np.maximum(c + (m - c) / w0, c + (m - c) / w1)
    pt = np.empty(cls.size)
    todo = np.arange(cls.size)
    while todo.size:
        u = rng.random_sample(todo.size)
        w = (a0[todo] + u * (a1[todo] - a0[todo])) ** (1.0 / (2.0 - n_exp[todo]))
        ratio = (c[todo] + (m[todo] - c[todo]) / w) / bound[todo]
        ok = rng.random_sample(todo.size) < ratio
        mt = m[todo[ok]] + c[todo[ok]] * (w[ok] - 1.0)
        pt[todo[ok]] = np.sqrt(np.maximum(mt * mt - m[todo[ok]] ** 2, 0.0))
        todo = todo[~ok]
    return np.clip(pt, _PT_MIN, _PT_MAX)


def _log_likelihood(
    X,
    prior,
    tof_pt_threshold,
    tof_efficiency,
    its_efficiency,
    trd_efficiency,
    tpc_gain=1.0,
    tpc_resolution_scale=1.0,
    tof_shift=0.0,
    tof_resolution_scale=1.0,
):
    """Joint log density log P(s) + log p(x | s) of every class, shape (n, 8).

    The calibration keywords are those of :func:`make_pid_tracks`: the
    densities are those the sample was generated with (the true calibration).

    Only observed columns of ``X`` enter.  The signals of particle and
    antiparticle have the same densities, so they are computed for the four
    mass hypotheses and then expanded to the eight classes.  Terms that do not
    depend on the class cancel in the posterior: the densities of eta, phi and
    tpc_ncls and the Jacobian from (pT, eta, phi) to (px, py, pz) are left out;
    the class-independent ITS and TRD presence probabilities are included.
    """
    pt = X["pt"].to_numpy(dtype=np.float64)
    eta = X["eta"].to_numpy(dtype=np.float64)
    px, py, pz = (X[c].to_numpy(dtype=np.float64) for c in ("px", "py", "pz"))
    p = np.sqrt(px * px + py * py + pz * pz)
    bb4, beta4, gamma4 = _hypotheses(p)

    # pT spectrum: truncated Levy-Tsallis
    ll4 = _levy_logpdf(pt)

    # TPC dE/dx, always present; resolution set by the number of clusters
    mu = tpc_gain * (_TPC_MIP * bb4)
    res = (_tpc_res(X["tpc_ncls"].to_numpy(dtype=np.float64)) * tpc_resolution_scale)[:, None]
    ll4 += _norm_logpdf(X["tpc_signal"].to_numpy(dtype=np.float64)[:, None], mu, res * mu)

    with np.errstate(divide="ignore"):
        # ITS dE/dx, present with a class-independent probability
        its = X["its_signal"].to_numpy(dtype=np.float64)
        has = ~np.isnan(its)
        mu = _ITS_MIP * bb4[has]
        ll4[has] += np.log(its_efficiency) + _norm_logpdf(its[has, None], mu, _ITS_RES * mu)
        ll4[~has] += np.log1p(-its_efficiency)

        # TOF: possible above the pT threshold, matched with probability
        # q = tof_efficiency * P(no decay before the TOF | s, pT): informative missingness
        beta = X["tof_beta"].to_numpy(dtype=np.float64)
        above = pt > tof_pt_threshold
        has = above & ~np.isnan(beta)
        miss = above & np.isnan(beta)
        q = tof_efficiency * _survival(pt[has, None], _MASS4, _CTAU4)
        b = beta[has, None]
        mismatch = np.where(
            (b >= _MISMATCH_LO) & (b <= _MISMATCH_HI),
            np.log(_TOF_MISMATCH / (_MISMATCH_HI - _MISMATCH_LO)),
            -np.inf,
        )
        beta_h = beta4[has]
        # a time offset dt maps the smeared beta b0 to b = b0 / (1 + b0 k), k = dt / t_light;
        # its inverse b0 = b / (1 - b k) has the Jacobian 1 / (1 - b k)^2
        k = tof_shift * _C_M_PER_NS / (_R_TOF * np.cosh(eta[has, None]))
        b0 = b / (1.0 - b * k)
        good = (
            np.log1p(-_TOF_MISMATCH)
            + _norm_logpdf(b0, beta_h, _sigma_beta(beta_h, eta[has, None]) * tof_resolution_scale)
            - 2.0 * np.log(np.abs(1.0 - b * k))
        )
        ll4[has] += np.log(q) + np.logaddexp(good, mismatch)
        ll4[miss] += np.log1p(-tof_efficiency * _survival(pt[miss, None], _MASS4, _CTAU4))

        # TRD, present with a class-independent probability; log-normal signal
        trd = X["trd_signal"].to_numpy(dtype=np.float64)
        has = ~np.isnan(trd)
        log_trd = np.log(trd[has, None])
        median = _trd_median(bb4[has], gamma4[has, :1], _IS_E4)
        ll4[has] += (
            np.log(trd_efficiency) + _norm_logpdf(log_trd, np.log(median), _TRD_SIGMA) - log_trd
        )
        ll4[~has] += np.log1p(-trd_efficiency)

        # from the four hypotheses to the eight classes: prior, charge, DCA
        ll = ll4[:, _MIDX] + np.log(prior)

    # sign: the charge is measured exactly, P(sign | s) is 1 or 0
    ll[X["sign"].to_numpy()[:, None] != _CHARGE] = -np.inf

    # (dca_xy, dca_z): 2-D Gaussian mixture of primaries and (species-dependent
    # fraction of) secondaries
    dxy = X["dca_xy"].to_numpy(dtype=np.float64)
    dz = X["dca_z"].to_numpy(dtype=np.float64)
    sxy, sz = _dca_sigma(pt)
    prim = (_norm_logpdf(dxy, 0.0, sxy) + _norm_logpdf(dz, 0.0, sz))[:, None]
    sec = (_norm_logpdf(dxy, 0.0, _DCA_SEC_XY) + _norm_logpdf(dz, 0.0, _DCA_SEC_Z))[:, None]
    ll += np.logaddexp(np.log1p(-_SEC_FRAC) + prim, np.log(_SEC_FRAC) + sec)
    return ll


def _posterior(X, prior, **eff):
    ll = _log_likelihood(X, prior, **eff)
    return np.exp(ll - logsumexp(ll, axis=1, keepdims=True))


def make_pid_tracks(
    n_samples=100_000,
    *,
    abundances=None,
    tof_pt_threshold=0.5,
    tof_efficiency=0.85,
    its_efficiency=0.9,
    trd_efficiency=0.3,
    tpc_gain=1.0,
    tpc_resolution_scale=1.0,
    tof_shift=0.0,
    tof_resolution_scale=1.0,
    random_state=None,
    return_X_y=False,
):
    """Simulate ALICE-like charged tracks of e, pi, K, p with their exact posterior.

    Every track is drawn as: species ``s`` from ``abundances``; pT from a
    Levy-Tsallis spectrum ``pT (1 + (mT - m) / (n T))^-n`` truncated to
    [0.1, 5] GeV, with ALICE-like parameters per species (mean pT about 0.42
    GeV for e, 0.44 for pi, 0.66 for K, 0.78 for p; power-law tails);
    eta ~ U(-0.9, 0.9), phi ~ U(0, 2 pi); then every
    detector signal *independently given (s, momentum)*:

    - ``sign``: the electric charge, measured exactly (e- has -1).
    - ``dca_xy``, ``dca_z`` [cm]: a 2-D Gaussian mixture, primary tracks with a
      width ``0.0015 + 0.005 / pT**1.1`` (z: x1.4), secondaries with 0.25 cm
      (0.35 cm) in a species-dependent fraction: 30 % of e (conversions), 5 % of
      pi, 1 % of K, 15 % of p (material) and 6 % of pbar.
    - ``tpc_signal``: ALICE TPC dE/dx, ALEPH Bethe-Bloch of beta*gamma = p/m
      normalised to 50 at the minimum of ionisation, Gaussian resolution
      ``6.5 % * sqrt(130 / tpc_ncls)``; always present.  ``tpc_ncls`` is
      round(Normal(130, 15)) clipped to [60, 159], the same for every species.
    - ``its_signal``: ITS dE/dx, same shape normalised to 80, 12 % resolution,
      present with probability ``its_efficiency``.
    - ``tof_beta``: p / E smeared with ``sigma_beta = beta^2 * 80 ps / (L / c)``,
      L = 3.7 m cosh(eta) (about 0.0065 at eta = 0); a 1.5 % mismatch with
      another track's hit gives beta ~ U(0.2, 1.1) instead.  Present only for
      ``pt > tof_pt_threshold``, with probability ``tof_efficiency`` times the
      probability that the particle does not decay between the TPC (2.5 m) and
      the TOF (3.7 m), ``exp(-1.2 m * mass / (pT * c tau))``: pions and above all
      kaons miss the TOF more often, so the missingness itself is informative.
    - ``trd_signal``: log-normal (width 0.3) around the Bethe-Bloch value
      (1 at the minimum of ionisation), raised for electrons by transition
      radiation ``0.8 / (1 + (1000 / gamma)^2)``; present with probability
      ``trd_efficiency``.
    - ``nsigma_tpc_X = (tpc_signal - E_X) / (res * E_X)`` and
      ``nsigma_tof_X = (tof_beta - beta_X) / sigma_beta_X`` for X in pi, ka, pr:
      deterministic functions of the other columns (NaN where TOF is missing).

    **Detector calibration ("data" versus simulation).** ``tpc_gain``,
    ``tpc_resolution_scale``, ``tof_shift`` and ``tof_resolution_scale``
    change how the TPC and TOF signals are generated; their defaults give the
    nominal detector (the output is then unchanged, bit for bit, for a given
    ``random_state``).  The ``nsigma_*`` columns are always computed with the
    *nominal* expectations ``E_X``, ``beta_X`` and resolutions, as a
    reconstruction calibrated on simulation would: a sample drawn with a gain
    or an offset has shifted nsigma, one with a resolution scale wider nsigma.
    Such a sample plays the "data" of a simulation-to-data (domain-shift)
    study, with its true labels for evaluation.  The ``posterior`` is always
    the exact posterior of the sample as generated, i.e. computed with the
    true (mis-)calibration.

    Parameters
    ----------
    n_samples : int, default=100_000
        Number of tracks.
    abundances : mapping {int: float} or None, default=None
        Relative abundance per PDG code, normalised to 1 (codes left out get
        0).  None: pi+- 35 % each, K+- 7 % each, p 4.7 %, pbar 4.3 %,
        e+- 3.5 % each.
    tof_pt_threshold : float, default=0.5
        Tracks with ``pt`` at or below this (GeV) never have a TOF signal.
    tof_efficiency : float, default=0.85
        TOF matching efficiency of stable particles above the threshold.
    its_efficiency : float, default=0.9
        Probability that the ITS dE/dx is present.
    trd_efficiency : float, default=0.3
        Probability that the TRD signal is present.
    tpc_gain : float, default=1.0
        Gain of the TPC: the measured ``tpc_signal`` is ``tpc_gain`` times the
        nominal Bethe-Bloch value (before the resolution smearing).
    tpc_resolution_scale : float, default=1.0
        Factor on the relative TPC dE/dx resolution.
    tof_shift : float, default=0.0
        Offset (ns) of the measured time of flight, as from a mis-calibrated
        start time: ``beta -> beta / (1 + beta * tof_shift / t_light)`` with
        ``t_light = L / c`` the flight time at beta = 1 (positive: later
        arrival, lower beta).  It moves ``nsigma_tof_X`` by about
        ``-tof_shift / 0.080 ns`` at every momentum.  Mismatched hits are not
        shifted.  At most 1 ns in absolute value.
    tof_resolution_scale : float, default=1.0
        Factor on the TOF time (beta) resolution of matched hits.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame, the 19 float64 columns of ``feature_names``, NaN
        where the detector gives no signal), ``target`` (Series ``"pdg"`` of
        PDG codes), ``posterior`` (DataFrame of the exact Bayes posterior
        P(species | track) under the calibration the sample was drawn with, one
        column per PDG code in increasing order, i.e. in the order of a fitted
        classifier's ``classes_``), ``feature_names``,
        ``target_names`` ({PDG code: name}) and ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Notes
    -----
    Since every signal is conditionally independent given (species, momentum)
    and every density is analytic, ``log P(s | x) = log P(s) + log p(pT | s) +
    sum over present signals of log p(signal | s, p) + log P(missingness | s, p)
    - logsumexp_s(...)``, computed vectorised in log space.  The densities of
    eta, phi and tpc_ncls do not depend on the species and cancel.  The
    posterior of a species whose charge differs from ``sign`` is exactly 0.
    Its argmax is the Bayes-optimal classifier (see :func:`bayes_limit`).

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.datasets import make_pid_tracks, bayes_limit
    >>> tracks = make_pid_tracks(2000, random_state=0)
    >>> tracks.data.shape
    (2000, 19)
    >>> sorted(tracks.target.unique().tolist())
    [-2212, -321, -211, -11, 11, 211, 321, 2212]
    >>> bool(np.allclose(tracks.posterior.sum(axis=1), 1.0))
    True
    >>> 0.8 < bayes_limit(tracks.posterior, tracks.target)["accuracy"] < 1.0
    True
    """
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if (
        not isinstance(tof_pt_threshold, numbers.Real)
        or isinstance(tof_pt_threshold, bool)
        or not np.isfinite(tof_pt_threshold)
        or tof_pt_threshold < 0
    ):
        raise ValueError(
            f"tof_pt_threshold must be a finite non-negative number, got {tof_pt_threshold!r}."
        )
    eff = {
        "tof_pt_threshold": float(tof_pt_threshold),
        "tof_efficiency": _check_fraction(tof_efficiency, "tof_efficiency"),
        "its_efficiency": _check_fraction(its_efficiency, "its_efficiency"),
        "trd_efficiency": _check_fraction(trd_efficiency, "trd_efficiency"),
    }
    for name, value in (
        ("tpc_gain", tpc_gain),
        ("tpc_resolution_scale", tpc_resolution_scale),
        ("tof_resolution_scale", tof_resolution_scale),
    ):
        if (
            not isinstance(value, numbers.Real)
            or isinstance(value, bool)
            or not np.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"{name} must be a finite positive number, got {value!r}.")
    if (
        not isinstance(tof_shift, numbers.Real)
        or isinstance(tof_shift, bool)
        or not np.isfinite(tof_shift)
        or abs(tof_shift) > _TOF_SHIFT_MAX
    ):
        raise ValueError(
            f"tof_shift must be a finite number of ns in [-{_TOF_SHIFT_MAX}, {_TOF_SHIFT_MAX}], "
            f"got {tof_shift!r}."
        )
    calib = {
        "tpc_gain": float(tpc_gain),
        "tpc_resolution_scale": float(tpc_resolution_scale),
        "tof_shift": float(tof_shift),
        "tof_resolution_scale": float(tof_resolution_scale),
    }
    tpc_gain, tpc_resolution_scale, tof_shift, tof_resolution_scale = calib.values()
    prior = _check_abundances(abundances)
    rng = check_random_state(random_state)
    n = int(n_samples)

    cls = rng.choice(_CLASSES.size, size=n, p=prior)
    pt_true = _sample_pt(rng, cls)
    eta_true = rng.uniform(-_ETA_MAX, _ETA_MAX, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    px = pt_true * np.cos(phi)
    py = pt_true * np.sin(phi)
    pz = pt_true * np.sinh(eta_true)
    # the observed kinematics, from which all signals are generated
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / pt)
    p = np.sqrt(px * px + py * py + pz * pz)

    # DCA
    sxy, sz = _dca_sigma(pt)
    secondary = rng.random_sample(n) < _SEC_FRAC[cls]
    dca_xy = rng.standard_normal(n) * np.where(secondary, _DCA_SEC_XY, sxy)
    dca_z = rng.standard_normal(n) * np.where(secondary, _DCA_SEC_Z, sz)

    bb4, beta4, gamma4 = _hypotheses(p)
    rows, hyp = np.arange(n), _MIDX[cls]
    bb, beta_true = bb4[rows, hyp], beta4[rows, hyp]
    is_e = _IS_E4[hyp]

    # TPC
    ncls = np.clip(np.rint(rng.normal(_NCLS_MEAN, _NCLS_SD, n)), _NCLS_MIN, _NCLS_MAX)
    tpc_mu = tpc_gain * (_TPC_MIP * bb)
    tpc = tpc_mu * (1.0 + (_tpc_res(ncls) * tpc_resolution_scale) * rng.standard_normal(n))

    # ITS
    its_mu = _ITS_MIP * bb
    its = its_mu * (1.0 + _ITS_RES * rng.standard_normal(n))
    its[rng.random_sample(n) >= eff["its_efficiency"]] = np.nan

    # TOF
    beta = beta_true + (_sigma_beta(beta_true, eta) * tof_resolution_scale) * rng.standard_normal(n)
    # a time offset dt: t = L / (c beta) + dt, i.e. beta -> beta / (1 + beta dt / t_light)
    beta = beta / (1.0 + beta * (tof_shift * _C_M_PER_NS / (_R_TOF * np.cosh(eta))))
    mismatch = rng.random_sample(n) < _TOF_MISMATCH
    beta_mis = rng.uniform(_MISMATCH_LO, _MISMATCH_HI, n)
    beta = np.where(mismatch, beta_mis, beta)
    q = eff["tof_efficiency"] * _survival(pt, _MASS4[hyp], _CTAU4[hyp])
    tof_ok = (pt > eff["tof_pt_threshold"]) & (rng.random_sample(n) < q)
    beta[~tof_ok] = np.nan

    # TRD
    trd = _trd_median(bb, gamma4[:, 0], is_e) * np.exp(_TRD_SIGMA * rng.standard_normal(n))
    trd[rng.random_sample(n) >= eff["trd_efficiency"]] = np.nan

    cols = {
        "px": px,
        "py": py,
        "pz": pz,
        "pt": pt,
        "eta": eta,
        "sign": _CHARGE[cls],
        "dca_xy": dca_xy,
        "dca_z": dca_z,
        "tpc_signal": tpc,
        "tpc_ncls": ncls,
        "its_signal": its,
        "tof_beta": beta,
        "trd_signal": trd,
    }
    res = _tpc_res(ncls)
    hyps = (("pi", 1), ("ka", 2), ("pr", 3))  # columns of the (e, pi, K, p) hypotheses
    for suffix, h in hyps:
        e_h = _TPC_MIP * bb4[:, h]
        cols[f"nsigma_tpc_{suffix}"] = (tpc - e_h) / (res * e_h)
    for suffix, h in hyps:
        beta_h = beta4[:, h]
        cols[f"nsigma_tof_{suffix}"] = (beta - beta_h) / _sigma_beta(beta_h, eta)
    X = pd.DataFrame(cols, columns=FEATURE_NAMES, dtype=np.float64)
    y = pd.Series(_CLASSES[cls], name="pdg", dtype=np.int64)
    if return_X_y:
        return X, y

    post = pd.DataFrame(_posterior(X, prior, **eff, **calib), columns=_CLASSES.tolist())
    post.columns.name = "pdg"
    return Bunch(
        data=X,
        target=y,
        posterior=post,
        feature_names=list(FEATURE_NAMES),
        target_names=dict(PDG_NAMES),
        DESCR=_DESCR,
    )


def bayes_limit(posterior, y):
    """Accuracy of the Bayes-optimal classifier, the argmax of the exact posterior.

    Parameters
    ----------
    posterior : pandas.DataFrame of shape (n_samples, n_classes)
        Posterior probabilities with the class labels as columns, as returned
        by :func:`make_pid_tracks` in its ``posterior`` field.
    y : array-like of shape (n_samples,)
        True class labels.

    Returns
    -------
    result : dict
        ``accuracy``: fraction of ``y`` equal to ``predict``; ``predict``:
        ndarray of the argmax-posterior labels; ``expected_accuracy``: the mean
        of the largest posterior, the accuracy the Bayes classifier has in
        expectation (a lower-variance estimate of the same number when the
        posterior is exact).

    Examples
    --------
    >>> import pandas as pd
    >>> post = pd.DataFrame({211: [0.9, 0.2], 321: [0.1, 0.8]})
    >>> res = bayes_limit(post, [211, 211])
    >>> res["accuracy"], res["predict"].tolist()
    (0.5, [211, 321])
    """
    if not isinstance(posterior, pd.DataFrame):
        raise ValueError(
            "posterior must be a DataFrame whose columns are the class labels, "
            f"got {type(posterior).__name__}."
        )
    y = np.asarray(y)
    if y.shape != (posterior.shape[0],):
        raise ValueError(
            f"y must be 1-D with {posterior.shape[0]} entries like posterior, got shape {y.shape}."
        )
    values = posterior.to_numpy(dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("posterior must be non-empty and finite.")
    labels = np.asarray(posterior.columns)
    predict = labels[np.argmax(values, axis=1)]
    return {
        "accuracy": float(np.mean(predict == y)),
        "predict": predict,
        "expected_accuracy": float(np.mean(values.max(axis=1))),
    }


_DESCR = """\
Simulated ALICE-like charged tracks (e, pi, K, p and antiparticles) with the exact Bayes posterior
---------------------------------------------------------------------------------------------------

Labels: PDG codes 11 (e-), -11 (e+), 211 (pi+), -211 (pi-), 321 (K+), -321 (K-), 2212 (p),
-2212 (pbar).  19 float64 features: px, py, pz, pt [GeV], eta, sign (electric charge),
dca_xy, dca_z [cm], tpc_signal (TPC dE/dx, 50 at the MIP), tpc_ncls, its_signal (ITS dE/dx, 80
at the MIP), tof_beta, trd_signal, and the nsigma of the TPC and TOF for the pi, K (ka) and p (pr)
hypotheses.  NaN where the detector gives no signal: ITS (1 - its_efficiency), TOF (always below
tof_pt_threshold, else unmatched or decayed in flight), TRD (mostly missing).

Every signal is drawn independently given the species and the momentum from analytic densities,
so the posterior P(species | track) is exact and its argmax is the Bayes-optimal classifier: the
accuracy no classifier can beat except by fluctuation.  The physics is a simplified model (ALEPH
Bethe-Bloch, Gaussian resolutions, Gaussian-mixture DCA, log-normal TRD), not a detector
simulation.
"""
