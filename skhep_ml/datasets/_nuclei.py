"""AMS-02-like nuclei events in two domains: labelled simulation ("MC") and
"flight data" with realistic mis-modelling.

The selected nucleus (signal, default phosphorus Z = 15) must be separated
from its neighbours: the next heavier nucleus (Z + 1) that fragments into the
selected one somewhere in the instrument, and the next lighter one (Z - 1).
Layer L1 of the tracker sits above the upper time-of-flight (TOF) counter, as
in AMS-02, so a nucleus fragmenting between L1 and the inner tracker is seen
with charge Z + 1 only on L1 (and, if it fragments below the upper TOF, on
the upper TOF): the L1 charge is the sharpest discriminant in simulation.

The "data" domain differs from simulation the way flight data do:

- the L1 charge scale is shifted (x1.03) and L1 and L8 get extra smearing;
- the TOF beta resolution is twice as wide, with a small offset;
- noise clusters: 30% of the events carry a burst of extra clusters on every
  tracker layer and side (and all a few more in the TOF), which simulation
  knows only as fragmentation debris.

A classifier trained on simulation therefore leans on features that are
shifted in the data, while robust ones (inner tracker charges, upper TOF
charge, the second-track hits, the two rigidities) are modelled correctly.

That is the default, ``shift="mixed"``; two more families of MC-to-data
differences are available (see :func:`make_multimodal_nuclei`):
``"calibration"``, an alignable covariate shift (gains and offsets), and
``"modality"``, one modality (the TOF) mis-modelled beyond repair.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

__all__ = ["make_multimodal_nuclei"]

N_LAYERS = 8
SIDES = ("X", "Y")
N_TRACKS = 2
HIT_FEATURES = ("pos", "charge")
# z position of the layers (cm); L1 on top, above the upper TOF (z = 62)
_Z_LAYER = np.array([160.0, 53.0, 29.0, 25.0, 2.0, -2.0, -25.0, -29.0])
_MASS_NUMBER = {12: 24, 13: 27, 14: 28, 15: 31, 16: 32, 17: 35}
# charge resolution (charge units) per side and extra relative term
_SIGMA_Q = {"X": 0.75, "Y": 0.55}
_SIGMA_Q_REL = 0.01
_SIGMA_TOF_Q = 0.3

TRACKER_COLUMNS = [
    f"hit_L{layer + 1}_{side}_t{track + 1}_{feat}"
    for layer in range(N_LAYERS)
    for side in SIDES
    for track in range(N_TRACKS)
    for feat in HIT_FEATURES
]
CLUSTER_COLUMNS = [f"ncl_L{layer + 1}_{side}" for layer in range(N_LAYERS) for side in SIDES]
RIGIDITY_COLUMNS = ["rigidity_upper", "rigidity_lower"]
TOF_COLUMNS = [
    "tof_beta",
    "tof_charge_upper",
    "tof_charge_lower",
    "tof_ncl_upper",
    "tof_ncl_lower",
]


#: shift="calibration": per-layer gain of the tracker charges, momentum-scale
#: gain of both rigidities, offset of the TOF beta, (gain, offset) of the TOF
#: charges. The TOF is shifted most (about 2 sigma of its charge resolution and
#: 1.5 sigma of beta; the tracker charges by 0.5-1.3 sigma, the rigidity by
#: about 1.3 sigma of its resolution).
_CALIBRATION = {
    "tracker_gain": (1.06, 0.96, 1.04, 0.97, 1.05, 0.95, 1.03, 1.06),
    "rigidity_gain": 1.04,
    "beta_offset": 0.006,
    "tof_charge": (0.94, 0.3),
}
#: shift="modality": the data's TOF (beta resolution 0.004 in MC, charge
#: resolution 0.3, lower-TOF debris 1.0 / 0.1 clusters for fragmented / intact).
_TOF_BAD = {
    "sigma_beta": 0.010,
    "beta_shift": 0.004,
    "sigma_charge": 0.8,
    "charge_shift": 0.3,
    "debris": (0.5, 0.25),
}
SHIFTS = ("mixed", "calibration", "modality")


def _modalities():
    return {
        "tracker_hits": list(TRACKER_COLUMNS),
        "clusters": list(CLUSTER_COLUMNS),
        "rigidity": list(RIGIDITY_COLUMNS),
        "tof": list(TOF_COLUMNS),
    }


def _measured_charge(Z, sigma, rng, scale=1.0, extra_sigma=0.0):
    """Charge with Gaussian core, relative term and a Landau-like upper tail."""
    Z = np.asarray(Z, dtype=np.float64)
    core = rng.normal(0.0, 1.0, Z.shape) * np.hypot(np.hypot(sigma, _SIGMA_Q_REL * Z), extra_sigma)
    tail = rng.exponential(0.25, Z.shape) * (rng.random(Z.shape) < 0.08)
    return scale * (Z + core + tail)


def _simulate(n, signal_fraction, Z, *, shift, rng):
    """One domain: a DataFrame of features and the 0/1 signal labels.

    ``shift``: None (simulation), "mixed" (the flight data's mis-modelling of
    the module docstring) or "modality" (only the TOF mis-modelled).
    """
    data = shift == "mixed"
    y = (rng.random(n) < signal_fraction).astype(np.int64)
    # background: 75% Z+1 fragmenting into Z, 25% Z-1
    heavy = (y == 0) & (rng.random(n) < 0.75)
    Z_top = np.where(y == 1, Z, np.where(heavy, Z + 1, Z - 1))
    # fragmentation point: charge changes just above layer k (0-based);
    # k = 1: between L1 and the upper TOF, k = 2: between upper TOF and L2.
    # N_LAYERS means no fragmentation in the instrument.
    k = np.full(n, N_LAYERS)
    kh = rng.choice([1, 2, 3, 4, 5, 6, 7], size=n, p=[0.35, 0.35, 0.06, 0.06, 0.06, 0.06, 0.06])
    k = np.where(heavy, kh, k)
    # the selected nucleus and its lighter neighbour sometimes fragment low
    low_frag = (~heavy) & (rng.random(n) < 0.12)
    k = np.where(low_frag, rng.randint(4, N_LAYERS, n), k)
    Z_after = np.where(k < N_LAYERS, Z_top - 1, Z_top)
    fragmented = k < N_LAYERS

    A_top = np.vectorize(_MASS_NUMBER.get)(Z_top)
    A_after = np.vectorize(_MASS_NUMBER.get)(Z_after)
    # rigidity spectrum ~ R^-2.7 between 3 and 300 GV
    u = rng.random(n)
    g = -1.7
    R = (3.0**g + u * (300.0**g - 3.0**g)) ** (1.0 / g)
    # momentum per nucleon is conserved at fragmentation
    R_after = R * (A_after / A_top) * (Z_top / Z_after)
    sigma_R = np.hypot(0.03, R / 800.0)
    frag_upper = k <= 4  # the upper rigidity (L1-L5) sees the fragment if it broke early
    R_up_true = np.where(frag_upper & (k > 1), 0.5 * (R + R_after), np.where(k <= 1, R_after, R))
    R_low_true = np.where(fragmented & (k <= 6), R_after, R)
    rig_upper = R_up_true * (1.0 + sigma_R * rng.normal(size=n))
    rig_lower = R_low_true * (1.0 + 1.3 * sigma_R * rng.normal(size=n))

    # per-layer true charge of the primary
    layer = np.arange(N_LAYERS)[None, :]
    Z_layer = np.where(layer < k[:, None], Z_top[:, None], Z_after[:, None])
    # secondary (light fragment) on layers at and below the fragmentation point
    # the light fragment is often lost (large angle, absorbed); when it is
    # tracked, each layer sees it with 80% efficiency
    tracked = rng.random(n) < 0.5
    has_sec = (layer >= k[:, None]) & tracked[:, None] & (rng.random((n, N_LAYERS)) < 0.8)
    Z_sec = np.where(rng.random(n) < 0.6, 1, 2)[:, None] * np.ones((1, N_LAYERS))

    # straight track in x, bending in y (bending ~ 1/R)
    x0, tx = rng.normal(0, 20, n), rng.normal(0, 0.3, n)
    y0, ty = rng.normal(0, 20, n), rng.normal(0, 0.3, n)
    zl = _Z_LAYER[None, :]
    pos = {
        "X": x0[:, None] + tx[:, None] * zl / 100.0,
        "Y": y0[:, None] + ty[:, None] * zl / 100.0 + 30.0 * (zl / 100.0) ** 2 / R[:, None],
    }
    angle = rng.normal(0, 0.05, (n, 2)) + np.sign(rng.normal(size=(n, 2))) * 0.03
    z_k = _Z_LAYER[np.minimum(k, N_LAYERS - 1)][:, None]

    # data: noisy events (electronics bursts, backsplash) carry extra clusters
    burst = np.where(rng.random(n) < 0.3, rng.exponential(2.0, n), 0.2) if data else None
    cols = {}
    for side_i, side in enumerate(SIDES):
        scale = np.ones(N_LAYERS)
        extra = np.zeros(N_LAYERS)
        if data:  # the charge mis-modelling of the flight data
            scale[0], extra[0] = 1.03, 0.8
            extra[7] = 0.35
        q1 = np.column_stack(
            [
                _measured_charge(Z_layer[:, j], _SIGMA_Q[side], rng, scale[j], extra[j])
                for j in range(N_LAYERS)
            ]
        )
        p1 = pos[side] + rng.normal(0, 0.001, (n, N_LAYERS))
        q2 = np.where(has_sec, _measured_charge(Z_sec, 0.3, rng), 0.0)
        p2 = np.where(has_sec, pos[side] + angle[:, side_i : side_i + 1] * (z_k - zl), 0.0)
        # delta rays: a spurious second hit of low charge now and then
        delta = (~has_sec) & (rng.random((n, N_LAYERS)) < 0.06)
        q2 = np.where(delta, np.abs(rng.normal(1.0, 0.4, (n, N_LAYERS))), q2)
        p2 = np.where(delta, pos[side] + rng.normal(0, 1.0, (n, N_LAYERS)), p2)
        for j in range(N_LAYERS):
            cols[(j, side, 0, "pos")] = p1[:, j]
            cols[(j, side, 0, "charge")] = q1[:, j]
            cols[(j, side, 1, "pos")] = p2[:, j]
            cols[(j, side, 1, "charge")] = q2[:, j]
        # clusters: primary + secondary + fragmentation debris + noise
        debris = rng.poisson(np.where(layer >= k[:, None], 0.3, 0.0))
        noise = rng.poisson(0.25 + (burst[:, None] if data else 0.0), (n, N_LAYERS))
        ncl = 1 + (q2 > 0) + debris + noise
        for j in range(N_LAYERS):
            cols[(j, side, "ncl")] = ncl[:, j]

    frame = {}
    for layer_i in range(N_LAYERS):
        for side in SIDES:
            for track in range(N_TRACKS):
                for feat in HIT_FEATURES:
                    frame[f"hit_L{layer_i + 1}_{side}_t{track + 1}_{feat}"] = cols[
                        (layer_i, side, track, feat)
                    ]
    for layer_i in range(N_LAYERS):
        for side in SIDES:
            frame[f"ncl_L{layer_i + 1}_{side}"] = cols[(layer_i, side, "ncl")].astype(np.float64)
    frame["rigidity_upper"] = rig_upper
    frame["rigidity_lower"] = rig_lower

    # TOF: beta from rigidity and mass; upper TOF below L1, lower TOF below L8
    mass = 0.9315 * A_top
    beta = R * Z_top / np.sqrt((R * Z_top) ** 2 + mass**2)
    if shift == "modality":
        sigma_beta, beta_shift = _TOF_BAD["sigma_beta"], _TOF_BAD["beta_shift"]
    else:
        sigma_beta, beta_shift = (0.008, 0.004) if data else (0.004, 0.0)
    frame["tof_beta"] = beta + beta_shift + sigma_beta * rng.normal(size=n)
    Z_tof_up = np.where(k <= 1, Z_after, Z_top)
    Z_tof_low = np.where(fragmented, Z_after, Z_top)
    if shift == "modality":  # wider, offset charges: less separation, not undone by a map
        sigma_q, q_shift = _TOF_BAD["sigma_charge"], _TOF_BAD["charge_shift"]
        frame["tof_charge_upper"] = _measured_charge(Z_tof_up, sigma_q, rng) + q_shift
        frame["tof_charge_lower"] = _measured_charge(Z_tof_low, sigma_q, rng) + q_shift
    else:
        frame["tof_charge_upper"] = _measured_charge(Z_tof_up, _SIGMA_TOF_Q, rng)
        frame["tof_charge_lower"] = _measured_charge(Z_tof_low, _SIGMA_TOF_Q, rng)
    tof_noise = 0.5 if data else 0.0
    frame["tof_ncl_upper"] = (1 + rng.poisson(0.1 + tof_noise, n)).astype(np.float64)
    # fragmentation debris in the lower TOF (the data of "modality" see less of it)
    debris_tof = _TOF_BAD["debris"] if shift == "modality" else (1.0, 0.1)
    frame["tof_ncl_lower"] = (
        1 + rng.poisson(np.where(fragmented, *debris_tof) + tof_noise, n)
    ).astype(np.float64)
    return pd.DataFrame(frame), y


def _calibrate(X):
    """The data of ``shift="calibration"``: smooth invertible per-column maps
    (gain and offset) of a sample simulated like the MC."""
    X = X.copy()
    for layer_i, gain in enumerate(_CALIBRATION["tracker_gain"]):
        for side in SIDES:
            for track in range(N_TRACKS):
                col = f"hit_L{layer_i + 1}_{side}_t{track + 1}_charge"
                X[col] = gain * X[col]  # absent hits (0) stay 0
    for col in RIGIDITY_COLUMNS:
        X[col] = _CALIBRATION["rigidity_gain"] * X[col]
    X["tof_beta"] = X["tof_beta"] + _CALIBRATION["beta_offset"]
    gain, offset = _CALIBRATION["tof_charge"]
    for col in ("tof_charge_upper", "tof_charge_lower"):
        X[col] = gain * X[col] + offset
    return X


def make_multimodal_nuclei(
    n_mc=20000,
    n_data=20000,
    *,
    nucleus="P",
    signal_fraction=0.5,
    data_signal_fraction=None,
    shift="mixed",
    random_state=None,
):
    """Simulated AMS-02-like nuclei: labelled "MC" and mis-modelled "data".

    Every event has four groups of columns (the modalities of
    :class:`skhep_ml.MDAClassifier`):

    - ``tracker_hits`` (64 columns): 8 layers x sides X/Y x two tracks x
      (position, charge), in that nesting order (``hit_L1_X_t1_pos``,
      ``hit_L1_X_t1_charge``, ``hit_L1_X_t2_pos``, ...), so that the columns
      reshape to ``(8, 2, 2, 2)``. Track 2 is the light fragment (or a delta
      ray); absent hits are 0.
    - ``clusters`` (16): cluster counts per layer and side, reshaping to
      ``(8, 2)``.
    - ``rigidity`` (2): rigidity (GV) fitted on the upper and on the lower
      half of the tracker; a fragmentation inside the tracker changes it.
    - ``tof`` (5): TOF beta, upper and lower TOF charges, TOF cluster counts.

    Signal (label 1) is the selected nucleus at the top of the instrument;
    background (label 0) is the heavier neighbour fragmenting into it (75%)
    and the lighter neighbour (25%). How the data domain differs from the
    simulation is set by ``shift``:

    - ``"mixed"`` (the flight data of the module docstring): L1 charge scale
      and smearing, L8 smearing, beta resolution and offset, noise clusters on
      every layer and in the TOF.
    - ``"calibration"``: an alignable covariate shift.  The data are simulated
      exactly like the MC (same physics, same resolutions, so ``p(label |
      true physics)`` and the class separation are unchanged) and then every
      affected column goes through a smooth invertible map: the charges of
      tracker layer L1..L8 (both sides, both tracks; absent hits stay 0) are
      multiplied by 1.06, 0.96, 1.04, 0.97, 1.05, 0.95, 1.03, 1.06; both
      rigidities by 1.04 (momentum scale); ``tof_beta`` gets +0.006; the TOF
      charges become ``0.94 q + 0.3``.  Cluster counts are untouched.  The
      ``tof`` modality is the one shifted most (about 2 sigma of the TOF
      charge resolution and 1.5 sigma of beta; the others 0.5-1.3 sigma).
    - ``"modality"``: only the ``tof`` modality is mis-modelled, in a way no
      per-feature map can undo: beta resolution 0.010 instead of 0.004 and an
      offset of +0.004; TOF charges with resolution 0.8 instead of 0.3 and
      +0.3 offset; lower-TOF fragmentation debris 0.5 / 0.25 extra clusters
      (fragmented / intact) instead of 1.0 / 0.1.  The TOF therefore separates
      signal from background less in the data than in the MC.  The
      ``tracker_hits``, ``clusters`` and ``rigidity`` modalities are modelled
      correctly (as in the MC), so dropping ``tof`` removes the whole shift.

    Parameters
    ----------
    n_mc : int, default=20000
        Simulated (labelled) events.
    n_data : int, default=20000
        Flight-data events; their labels are returned for evaluation only.
    nucleus : {"Si", "P", "S"}, default="P"
        The selected nucleus (Z = 14, 15, 16).
    signal_fraction : float, default=0.5
        Signal fraction of the simulation.
    data_signal_fraction : float or None, default=None
        Signal fraction of the data (None: as the simulation).
    shift : {"mixed", "calibration", "modality"}, default="mixed"
        The family of MC-to-data differences (see above). ``"mixed"``
        reproduces the generator's original output bit for bit; the MC
        sample is the same for every family with the same ``random_state``.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    Bunch
        ``X_mc``, ``X_data`` (DataFrames), ``y_mc``, ``y_data`` (0/1 arrays;
        ``y_data`` is the hidden truth), ``modalities`` (column groups),
        ``graph_shape`` ``(8, 2, 2, 2)``, ``cnn_shape`` ``(8, 2)``,
        ``feature_names``.

    Examples
    --------
    >>> from skhep_ml.datasets import make_multimodal_nuclei
    >>> d = make_multimodal_nuclei(200, 100, random_state=0)
    >>> d.X_mc.shape, d.X_data.shape, sorted(d.modalities)
    ((200, 87), (100, 87), ['clusters', 'rigidity', 'tof', 'tracker_hits'])
    """
    if not isinstance(shift, str) or shift not in SHIFTS:
        raise ValueError(f"shift must be one of {SHIFTS}; got {shift!r}.")
    Z = {"Si": 14, "P": 15, "S": 16}.get(nucleus)
    if Z is None:
        raise ValueError(f"nucleus must be 'Si', 'P' or 'S'; got {nucleus!r}.")
    for name, value in (("n_mc", n_mc), ("n_data", n_data)):
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if data_signal_fraction is None:
        data_signal_fraction = signal_fraction
    for name, value in (
        ("signal_fraction", signal_fraction),
        ("data_signal_fraction", data_signal_fraction),
    ):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be in (0, 1); got {value!r}.")
    rng = check_random_state(random_state)
    X_mc, y_mc = _simulate(int(n_mc), signal_fraction, Z, shift=None, rng=rng)
    X_data, y_data = _simulate(
        int(n_data),
        data_signal_fraction,
        Z,
        shift=None if shift == "calibration" else shift,
        rng=rng,
    )
    if shift == "calibration":
        X_data = _calibrate(X_data)
    return Bunch(
        X_mc=X_mc,
        y_mc=y_mc,
        X_data=X_data,
        y_data=y_data,
        modalities=_modalities(),
        graph_shape=(N_LAYERS, len(SIDES), N_TRACKS, len(HIT_FEATURES)),
        cnn_shape=(N_LAYERS, len(SIDES)),
        feature_names=list(X_mc.columns),
    )
