"""Tests of skhep_ml.datasets: the simulated PID sample and the real-data loaders."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import os
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import LabelEncoder

import skhep_ml.datasets._nuclei as nuclei
import skhep_ml.datasets._pid as pid
from skhep_ml.datasets import (
    HIGGSML_FEATURE_NAMES,
    PDG_NAMES,
    PID_FEATURE_NAMES,
    bayes_limit,
    default_data_dir,
    higgsml_full_totals,
    load_higgsml,
    load_lhco_rnd,
    load_magic,
    make_multimodal_nuclei,
    make_pid_tracks,
    rescale_weights,
)

EXPECTED_COLUMNS = [
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
CHARGE = {11: -1, -11: 1, 211: 1, -211: -1, 321: 1, -321: -1, 2212: 1, -2212: -1}
MASS = {"pi": 0.13957, "ka": 0.49368, "pr": 0.93827}


@pytest.fixture(scope="module")
def big():
    """200k tracks: enough for calibration tests at the percent level (< 1 s)."""
    return make_pid_tracks(200_000, random_state=12345)


# --------------------------------------------------------------------------------------
# make_pid_tracks: format
# --------------------------------------------------------------------------------------
def test_format():
    t = make_pid_tracks(3000, random_state=0)
    assert list(t.data.columns) == EXPECTED_COLUMNS == t.feature_names == PID_FEATURE_NAMES
    assert (t.data.dtypes == np.float64).all()
    assert t.target.name == "pdg"
    assert t.target.dtype == np.int64
    assert set(t.target.unique()) == set(PDG_NAMES)
    assert t.target_names == PDG_NAMES
    assert t.target_names[211] == "pi+" and t.target_names[-2212] == "pbar"
    assert list(t.posterior.columns) == sorted(PDG_NAMES)
    assert t.posterior.shape == (3000, 8)
    np.testing.assert_allclose(t.posterior.sum(axis=1), 1.0, rtol=1e-12)
    assert (t.posterior.to_numpy() >= 0).all()
    # columns that are always present
    always = ["px", "py", "pz", "pt", "eta", "sign", "dca_xy", "dca_z", "tpc_signal"]
    assert not t.data[always].isna().any().any()
    assert t.data["tpc_ncls"].between(60, 159).all()
    assert (t.data["tpc_ncls"] == np.round(t.data["tpc_ncls"])).all()
    assert t.data["pt"].between(0.1 - 1e-9, 5.0 + 1e-9).all()
    assert t.data["eta"].abs().max() <= 0.9 + 1e-9
    np.testing.assert_allclose(np.hypot(t.data["px"], t.data["py"]), t.data["pt"])
    # sign is the electric charge of the true species
    np.testing.assert_array_equal(t.data["sign"], t.target.map(CHARGE).astype(float))
    assert "Bayes" in t.DESCR

    X, y = make_pid_tracks(3000, random_state=0, return_X_y=True)
    pd.testing.assert_frame_equal(X, t.data)
    pd.testing.assert_series_equal(y, t.target)


def test_reproducible():
    a = make_pid_tracks(2000, random_state=7)
    b = make_pid_tracks(2000, random_state=7)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_series_equal(a.target, b.target)
    pd.testing.assert_frame_equal(a.posterior, b.posterior)
    c = make_pid_tracks(2000, random_state=8)
    assert not np.allclose(a.data["pt"], c.data["pt"])


def test_default_abundances(big):
    frac = big.target.value_counts(normalize=True)
    n = len(big.target)
    for code, expected in pid._DEFAULT_ABUNDANCES.items():
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(frac[code] - expected) < 5 * se
    pions = frac[211] + frac[-211]
    assert 0.69 < pions < 0.71


def test_custom_abundances():
    t = make_pid_tracks(2000, abundances={211: 1.0, 2212: 1.0}, random_state=0)
    assert set(t.target.unique()) == {211, 2212}
    others = [c for c in PDG_NAMES if c not in (211, 2212)]
    assert (t.posterior[others].to_numpy() == 0.0).all()
    np.testing.assert_allclose(t.posterior.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"tof_efficiency": 1.5}, "tof_efficiency"),
        ({"its_efficiency": -0.1}, "its_efficiency"),
        ({"trd_efficiency": np.nan}, "trd_efficiency"),
        ({"tof_pt_threshold": -1.0}, "tof_pt_threshold"),
        ({"abundances": {999: 1.0}}, "unknown PDG"),
        ({"abundances": {211: -1.0, 321: 2.0}}, "non-negative"),
        ({"abundances": {211: 0.0}}, "not all zero"),
        ({"abundances": [0.5, 0.5]}, "mapping"),
    ],
)
def test_bad_parameters(kwargs, match):
    kwargs = {"n_samples": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_pid_tracks(**kwargs)


@pytest.mark.parametrize(
    "eff",
    [
        {"tof_efficiency": 1.0, "its_efficiency": 1.0, "trd_efficiency": 1.0},
        {"tof_efficiency": 0.0, "its_efficiency": 0.0, "trd_efficiency": 0.0},
    ],
)
def test_extreme_efficiencies(eff):
    t = make_pid_tracks(3000, random_state=1, **eff)
    post = t.posterior.to_numpy()
    assert np.isfinite(post).all()
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=1e-12)
    assert t.data["its_signal"].isna().mean() == 1.0 - eff["its_efficiency"]
    assert t.data["trd_signal"].isna().mean() == 1.0 - eff["trd_efficiency"]
    # the true species is never ruled out
    true_post = post[np.arange(len(post)), np.searchsorted(sorted(PDG_NAMES), t.target)]
    assert (true_post > 0).all()


# --------------------------------------------------------------------------------------
# make_pid_tracks: detector model
# --------------------------------------------------------------------------------------
def test_wrong_charge_posterior_is_exactly_zero(big):
    sign = big.data["sign"].to_numpy()
    for code in PDG_NAMES:
        wrong = sign != CHARGE[code]
        assert wrong.any()
        assert (big.posterior[code].to_numpy()[wrong] == 0.0).all()


@pytest.mark.parametrize("threshold", [0.5, 1.0])
def test_tof_missing_below_threshold(threshold):
    t = make_pid_tracks(5000, tof_pt_threshold=threshold, random_state=2)
    below = t.data["pt"] <= threshold
    assert below.any() and (~below).any()
    assert t.data.loc[below, "tof_beta"].isna().all()
    tof_cols = ["nsigma_tof_pi", "nsigma_tof_ka", "nsigma_tof_pr"]
    np.testing.assert_array_equal(
        t.data[tof_cols].isna().to_numpy(),
        np.repeat(t.data["tof_beta"].isna().to_numpy()[:, None], 3, axis=1),
    )
    assert t.data.loc[~below, "tof_beta"].notna().any()


def test_missingness_fractions(big):
    X, y = big.data, big.target
    n = len(X)

    def close(observed, p, m):
        assert abs(observed - p) < 5 * np.sqrt(p * (1 - p) / m) + 1e-12, (observed, p)

    close(X["its_signal"].notna().mean(), 0.9, n)
    close(X["trd_signal"].notna().mean(), 0.3, n)
    # TOF above threshold: the matching efficiency for stable particles (e, p) ...
    above = (X["pt"] > 0.5).to_numpy()
    stable = y.abs().isin([11, 2212]).to_numpy() & above
    close(X.loc[stable, "tof_beta"].notna().mean(), 0.85, stable.sum())
    # ... times the probability not to decay before the TOF for pi and K
    m = np.array([pid._MASS_BY_ABS[abs(c)] for c in y])
    ctau = np.array([pid._CTAU_BY_ABS[abs(c)] for c in y])
    q = 0.85 * np.exp(-1.2 * m / (X["pt"].to_numpy() * ctau))
    for code in (211, 321):
        sel = (y.abs() == code).to_numpy() & above
        expected = q[sel].mean()
        close(X.loc[sel, "tof_beta"].notna().mean(), expected, sel.sum())
    kaons = (y.abs() == 321).to_numpy() & above
    assert X.loc[kaons, "tof_beta"].notna().mean() < 0.8  # kaon decays in flight
    # several missingness patterns, as in real data
    patterns = X[["its_signal", "tof_beta", "trd_signal"]].isna().value_counts()
    assert len(patterns) == 8


def _bethe_bloch_aleph(bg):
    k1, k2, k3, k4, k5 = 0.76176e-1, 10.632, 0.13279e-4, 1.8631, 1.9479

    def raw(x):
        beta = x / np.sqrt(1 + x * x)
        return k1 / beta**k4 * (k2 - beta**k4 - np.log(k3 + 1 / x**k5))

    return raw(bg) / raw(3.6)


def test_nsigma_columns_follow_their_definition():
    t = make_pid_tracks(5000, random_state=3)
    X, y = t.data, t.target
    p = np.sqrt(X["px"] ** 2 + X["py"] ** 2 + X["pz"] ** 2)
    res = 0.065 * np.sqrt(130.0 / X["tpc_ncls"])
    t_light = 3.7 * np.cosh(X["eta"]) / 0.299792458
    for h, mass in MASS.items():
        expected = 50.0 * _bethe_bloch_aleph(p / mass)
        np.testing.assert_allclose(
            X[f"nsigma_tpc_{h}"], (X["tpc_signal"] - expected) / (res * expected), rtol=1e-9
        )
        beta_h = p / np.sqrt(p**2 + mass**2)
        sigma = beta_h**2 * 0.080 / t_light
        np.testing.assert_allclose(
            X[f"nsigma_tof_{h}"], (X["tof_beta"] - beta_h) / sigma, rtol=1e-9, atol=1e-9
        )
    # under the true hypothesis, the TPC nsigma is a standard normal
    for h, code in (("pi", 211), ("ka", 321), ("pr", 2212)):
        ns = X.loc[(y.abs() == code).to_numpy(), f"nsigma_tpc_{h}"]
        assert abs(ns.mean()) < 0.15
        assert 0.9 < ns.std() < 1.1


# --------------------------------------------------------------------------------------
# make_pid_tracks: exactness of the posterior
# --------------------------------------------------------------------------------------
BINS = (0.05, 0.2, 0.4, 0.6, 0.8, 0.95)


def _calibration_z(post, y, min_count=30):
    """z-scores of (truly-c count - sum of P(c)) per class and posterior bin.

    Given the posteriors, the indicators 1[y == c] are independent Bernoulli(P(c)) when
    the posterior is exact, so the count minus the summed posterior has variance
    sum P(c) (1 - P(c)) exactly.
    """
    y = np.asarray(y)
    zs = {}
    for code in post.columns:
        pc = post[code].to_numpy()
        for lo, hi in itertools.pairwise(BINS):
            sel = (pc >= lo) & (pc < hi)
            if sel.sum() < min_count:
                continue
            var = np.sum(pc[sel] * (1 - pc[sel]))
            zs[(code, lo)] = (np.sum(y[sel] == code) - np.sum(pc[sel])) / np.sqrt(var)
    return zs


def test_posterior_is_calibrated(big):
    zs = _calibration_z(big.posterior, big.target)
    assert len(zs) >= 25  # enough ambiguous tracks in most classes and bins
    worst = max(zs, key=lambda k: abs(zs[k]))
    # 40 tests at most: P(max |z| > 4.5) < 40 * 7e-6 for an exact posterior
    assert abs(zs[worst]) < 4.5, (worst, zs[worst])

    # the brief's example: tracks with P(K+) in [0.4, 0.6] are K+ about half the time
    pk = big.posterior[321].to_numpy()
    sel = (pk >= 0.4) & (pk <= 0.6)
    assert sel.sum() > 200
    frac = np.mean(big.target.to_numpy()[sel] == 321)
    se = np.sqrt(np.sum(pk[sel] * (1 - pk[sel]))) / sel.sum()
    assert abs(frac - pk[sel].mean()) < 4 * se
    assert 0.4 < frac < 0.6


def test_calibration_test_has_power(big):
    """The same test flags a posterior computed with a slightly wrong detector model."""
    # tempered posterior (over-confident)
    logp = np.log(big.posterior.to_numpy().clip(1e-300))
    sharp = np.exp(1.5 * logp)
    sharp /= sharp.sum(axis=1, keepdims=True)
    zs = _calibration_z(pd.DataFrame(sharp, columns=big.posterior.columns), big.target)
    assert max(abs(z) for z in zs.values()) > 6
    # TPC resolution assumed 15 % better than the truth
    prior = pid._check_abundances(None)
    eff = {
        "tof_pt_threshold": 0.5,
        "tof_efficiency": 0.85,
        "its_efficiency": 0.9,
        "trd_efficiency": 0.3,
    }
    try:
        pid._TPC_RES, saved = pid._TPC_RES * 0.85, pid._TPC_RES
        wrong = pid._posterior(big.data, prior, **eff)
    finally:
        pid._TPC_RES = saved
    zs = _calibration_z(pd.DataFrame(wrong, columns=big.posterior.columns), big.target)
    assert max(abs(z) for z in zs.values()) > 6
    # and the exact one is recovered by the private function
    np.testing.assert_allclose(pid._posterior(big.data, prior, **eff), big.posterior, rtol=1e-12)


def test_expected_accuracy_matches_argmax_accuracy(big):
    res = bayes_limit(big.posterior, big.target)
    pmax = big.posterior.to_numpy().max(axis=1)
    se = np.sqrt(np.sum(pmax * (1 - pmax))) / len(pmax)
    assert abs(res["accuracy"] - res["expected_accuracy"]) < 4.5 * se
    assert 0.9 < res["accuracy"] < 0.99  # realistic, not trivial


def test_bayes_beats_trained_classifiers():
    xgboost = pytest.importorskip("xgboost")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t = make_pid_tracks(40_000, random_state=4)
    X, y, post = t.data, t.target.to_numpy(), t.posterior
    tr, te = slice(0, 20_000), slice(20_000, None)
    bayes = bayes_limit(post.iloc[te], y[te])
    n_te = len(y[te])

    le = LabelEncoder().fit(y)
    clf = xgboost.XGBClassifier(n_estimators=100, max_depth=4, learning_rate=0.2, n_jobs=2)
    clf.fit(X.iloc[tr], le.transform(y[tr]))
    xgb_pred = le.inverse_transform(clf.predict(X.iloc[te]))
    acc_xgb = np.mean(xgb_pred == y[te])
    # paired comparison on the same tracks: the difference of accuracies has
    # standard error at most sqrt(disagreement fraction / n)
    se = np.sqrt(np.mean(xgb_pred != bayes["predict"]) / n_te)
    assert bayes["accuracy"] >= acc_xgb - 3 * se
    assert acc_xgb > bayes["accuracy"] - 0.03  # the problem is learnable
    # the exact posterior also has the smaller log-loss (proper scoring rule)
    assert log_loss(y[te], post.iloc[te].to_numpy(), labels=list(post.columns)) < log_loss(
        le.transform(y[te]), clf.predict_proba(X.iloc[te])
    )

    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    logreg.fit(X.iloc[tr].fillna(0.0), y[tr])
    lr_pred = logreg.predict(X.iloc[te].fillna(0.0))
    se = np.sqrt(np.mean(lr_pred != bayes["predict"]) / n_te)
    assert bayes["accuracy"] >= np.mean(lr_pred == y[te]) - 3 * se


def test_bayes_limit():
    post = pd.DataFrame({211: [0.9, 0.2, 0.5], 321: [0.1, 0.8, 0.5]})
    res = bayes_limit(post, np.array([211, 211, 211]))
    assert res["predict"].tolist() == [211, 321, 211]
    assert res["accuracy"] == pytest.approx(2 / 3)
    assert res["expected_accuracy"] == pytest.approx((0.9 + 0.8 + 0.5) / 3)
    with pytest.raises(ValueError, match="DataFrame"):
        bayes_limit(post.to_numpy(), [211, 211, 211])
    with pytest.raises(ValueError, match="entries"):
        bayes_limit(post, [211])


# --------------------------------------------------------------------------------------
# make_pid_tracks: detector calibration ("data" versus simulation)
# --------------------------------------------------------------------------------------
CALIBRATION_DEFAULTS = {
    "tpc_gain": 1.0,
    "tpc_resolution_scale": 1.0,
    "tof_shift": 0.0,
    "tof_resolution_scale": 1.0,
}


def _checksum(df):
    """Digest of a frame rounded to 1e-6 (insensitive to last-bit differences of libm)."""
    a = np.round(np.nan_to_num(df.to_numpy(dtype=np.float64), nan=-999.0), 6)
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:20]


def test_pid_default_calibration_is_unchanged():
    t = make_pid_tracks(2000, random_state=11)
    explicit = make_pid_tracks(2000, random_state=11, **CALIBRATION_DEFAULTS)
    # the defaults are the nominal detector, bit for bit
    np.testing.assert_array_equal(t.data.to_numpy(), explicit.data.to_numpy())
    np.testing.assert_array_equal(t.posterior.to_numpy(), explicit.posterior.to_numpy())
    # and the output of the generator before the calibration keywords existed
    assert _checksum(t.data) == "dfacf6a063c4c2cdb0a8"
    assert _checksum(t.posterior) == "7759c06c673e73c2d225"


def _pions(t, lo=0.6, hi=0.8):
    pt = t.data["pt"].to_numpy()
    return (t.target.abs().to_numpy() == 211) & (pt > lo) & (pt < hi)


def test_pid_tpc_gain_scales_the_signal_not_the_nsigma_reference():
    nominal = make_pid_tracks(20_000, random_state=5)
    data = make_pid_tracks(20_000, random_state=5, tpc_gain=1.05)
    ratio = data.data["tpc_signal"].median() / nominal.data["tpc_signal"].median()
    assert ratio == pytest.approx(1.05, rel=1e-9)  # same draws: every signal x 1.05
    # nsigma keeps the nominal expectation: pions move by 0.05 / 6.5 % = 0.77 sigma
    sel = _pions(nominal)
    shift = (
        data.data.loc[sel, "nsigma_tpc_pi"].mean() - nominal.data.loc[sel, "nsigma_tpc_pi"].mean()
    )
    assert 0.7 < shift < 0.85
    for col in ("its_signal", "tof_beta", "trd_signal", "pt", "dca_xy"):
        np.testing.assert_array_equal(data.data[col].to_numpy(), nominal.data[col].to_numpy())


def test_pid_tpc_resolution_scale_widens_nsigma():
    nominal = make_pid_tracks(20_000, random_state=6)
    data = make_pid_tracks(20_000, random_state=6, tpc_resolution_scale=1.3)
    sel = _pions(nominal)
    assert sel.sum() > 1000
    sd0 = nominal.data.loc[sel, "nsigma_tpc_pi"].std()
    sd1 = data.data.loc[sel, "nsigma_tpc_pi"].std()
    assert 0.93 < sd0 < 1.07
    assert sd1 / sd0 == pytest.approx(1.3, rel=1e-6)
    assert abs(data.data.loc[sel, "nsigma_tpc_pi"].mean()) < 0.1  # no gain: centred


def test_pid_tof_shift_and_resolution_move_nsigma_tof():
    nominal = make_pid_tracks(20_000, random_state=7)
    late = make_pid_tracks(20_000, random_state=7, tof_shift=0.04)
    wide = make_pid_tracks(20_000, random_state=7, tof_resolution_scale=1.5)
    ns0 = nominal.data["nsigma_tof_pi"].to_numpy()
    sel = _pions(nominal, 0.6, 1.5) & (np.abs(ns0) < 4)  # matched pions (no mismatch)
    assert sel.sum() > 1000
    assert abs(ns0[sel].mean()) < 0.1
    # 40 ps later: beta lower, nsigma lower by about 40 / 80 at every momentum
    ns1 = late.data["nsigma_tof_pi"].to_numpy()[sel]
    assert ns1.mean() - ns0[sel].mean() == pytest.approx(-0.5, abs=0.03)
    ns2 = wide.data["nsigma_tof_pi"].to_numpy()[sel]
    assert ns2.std() / ns0[sel].std() == pytest.approx(1.5, rel=0.02)
    np.testing.assert_array_equal(late.data["tpc_signal"], nominal.data["tpc_signal"])
    # the TOF is present on the same tracks
    np.testing.assert_array_equal(late.data["tof_beta"].isna(), nominal.data["tof_beta"].isna())


def test_pid_posterior_stays_exact_under_miscalibration():
    calib = {
        "tpc_gain": 1.05,
        "tpc_resolution_scale": 1.3,
        "tof_shift": 0.04,
        "tof_resolution_scale": 1.5,
    }
    t = make_pid_tracks(150_000, random_state=21, **calib)
    zs = _calibration_z(t.posterior, t.target)
    worst = max(zs, key=lambda k: abs(zs[k]))
    assert abs(zs[worst]) < 4.5, (worst, zs[worst])
    # the nominal posterior (what a reconstruction with the MC calibration would use) is off
    prior = pid._check_abundances(None)
    eff = {
        "tof_pt_threshold": 0.5,
        "tof_efficiency": 0.85,
        "its_efficiency": 0.9,
        "trd_efficiency": 0.3,
    }
    wrong = pd.DataFrame(pid._posterior(t.data, prior, **eff), columns=t.posterior.columns)
    zs = _calibration_z(wrong, t.target)
    assert max(abs(z) for z in zs.values()) > 6
    assert bayes_limit(t.posterior, t.target)["accuracy"] > bayes_limit(wrong, t.target)["accuracy"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tpc_gain": 0.0}, "tpc_gain"),
        ({"tpc_gain": np.inf}, "tpc_gain"),
        ({"tpc_resolution_scale": -1.0}, "tpc_resolution_scale"),
        ({"tof_resolution_scale": True}, "tof_resolution_scale"),
        ({"tof_shift": 2.0}, "tof_shift"),
        ({"tof_shift": np.nan}, "tof_shift"),
        ({"tof_shift": "0.1"}, "tof_shift"),
    ],
)
def test_pid_bad_calibration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_pid_tracks(10, **kwargs)


# --------------------------------------------------------------------------------------
# make_multimodal_nuclei: shift families
# --------------------------------------------------------------------------------------
def test_nuclei_mixed_is_the_default_and_unchanged():
    d = make_multimodal_nuclei(300, 200, random_state=11)
    m = make_multimodal_nuclei(300, 200, shift="mixed", random_state=11)
    pd.testing.assert_frame_equal(d.X_mc, m.X_mc)
    pd.testing.assert_frame_equal(d.X_data, m.X_data)
    np.testing.assert_array_equal(d.y_data, m.y_data)
    # the output of the generator before shift= existed
    assert _checksum(d.X_mc) == "a620ccddf17108ae849d"
    assert _checksum(d.X_data) == "ce565ecc0563d4ce1f4b"


def _inverse_calibration(X):
    X = X.copy()
    for layer, gain in enumerate(nuclei._CALIBRATION["tracker_gain"]):
        cols = [c for c in X.columns if c.startswith(f"hit_L{layer + 1}_") and c.endswith("charge")]
        X[cols] = X[cols] / gain
    X[["rigidity_upper", "rigidity_lower"]] /= nuclei._CALIBRATION["rigidity_gain"]
    X["tof_beta"] -= nuclei._CALIBRATION["beta_offset"]
    gain, offset = nuclei._CALIBRATION["tof_charge"]
    X[["tof_charge_upper", "tof_charge_lower"]] = (
        X[["tof_charge_upper", "tof_charge_lower"]] - offset
    ) / gain
    return X


def _auc(y, x):
    from sklearn.metrics import roc_auc_score

    a = roc_auc_score(y, x)
    return max(a, 1 - a)


@pytest.fixture(scope="module")
def nuclei_families():
    return {s: make_multimodal_nuclei(4000, 4000, shift=s, random_state=3) for s in nuclei.SHIFTS}


def test_nuclei_families_share_the_mc(nuclei_families):
    ref = nuclei_families["mixed"]
    for d in nuclei_families.values():
        pd.testing.assert_frame_equal(d.X_mc, ref.X_mc)
        assert list(d.X_data.columns) == ref.feature_names


def test_nuclei_calibration_is_an_invertible_map_of_mc_like_data(nuclei_families):
    cal, mod = nuclei_families["calibration"], nuclei_families["modality"]
    np.testing.assert_array_equal(cal.y_data, mod.y_data)
    undone = _inverse_calibration(cal.X_data)
    # the same draws as the "modality" data, whose non-TOF modalities are simulated like MC
    not_tof = [c for c in cal.feature_names if c not in cal.modalities["tof"]]
    np.testing.assert_allclose(undone[not_tof], mod.X_data[not_tof], rtol=1e-12, atol=1e-12)
    # the shift is there: L1 charge gain, beta offset, TOF charge map
    mc = cal.X_mc
    ratio = cal.X_data["hit_L1_X_t1_charge"].median() / mc["hit_L1_X_t1_charge"].median()
    assert ratio == pytest.approx(1.06, abs=0.01)
    assert cal.X_data["tof_beta"].mean() - mc["tof_beta"].mean() == pytest.approx(0.006, abs=0.001)
    # the class separation of each shifted column is that of the MC (monotone maps)
    for col in ("hit_L1_X_t1_charge", "rigidity_upper", "tof_charge_upper", "tof_beta"):
        assert _auc(cal.y_data, cal.X_data[col]) == pytest.approx(_auc(cal.y_mc, mc[col]), abs=0.03)


def test_nuclei_modality_mismodels_only_the_tof(nuclei_families):
    d = nuclei_families["modality"]
    mc, data = d.X_mc, d.X_data
    # the other modalities: same distribution as the MC
    for col in ("hit_L1_X_t1_charge", "hit_L4_Y_t1_charge", "ncl_L3_X", "rigidity_upper"):
        assert _auc(d.y_data, data[col]) == pytest.approx(_auc(d.y_mc, mc[col]), abs=0.03)
        assert data[col].median() == pytest.approx(mc[col].median(), rel=0.03)
    # TOF: offset, worse resolution, less separation
    assert data["tof_beta"].mean() - mc["tof_beta"].mean() == pytest.approx(0.004, abs=0.001)
    assert data["tof_beta"].std() > mc["tof_beta"].std()
    for col in ("tof_charge_upper", "tof_ncl_lower"):  # the separating TOF columns
        assert _auc(d.y_data, data[col]) < _auc(d.y_mc, mc[col]) - 0.03, col
    assert _auc(d.y_data, data["tof_charge_lower"]) < _auc(d.y_mc, mc["tof_charge_lower"])
    assert data["tof_charge_upper"].std() > 1.3 * mc["tof_charge_upper"].std()


def test_nuclei_bad_shift():
    with pytest.raises(ValueError, match="shift"):
        make_multimodal_nuclei(10, 10, shift="gain")


# --------------------------------------------------------------------------------------
# Real-data loaders (skipped without the data folder)
# --------------------------------------------------------------------------------------
def _data_dir():
    path = default_data_dir()
    if path is None or not path.is_dir():
        pytest.skip("real datasets not found (../shared/data or SKHEP_ML_DATA)")
    return path


def test_default_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SKHEP_ML_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="higgsml_atlas_2014_subset"):
        load_higgsml()
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
        load_magic(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="LHCO"):
        load_lhco_rnd(tmp_path)


def test_higgsml():
    folder = _data_dir() / "higgsml_atlas_2014_subset"
    h = load_higgsml(folder)
    assert h.data.shape == (22889, 30)
    assert len(h.feature_names) == 30
    assert all(c.startswith(("DER_", "PRI_")) for c in h.feature_names)
    assert (h.data.dtypes == np.float64).all()
    assert h.target.value_counts().to_dict() == {0: 15072, 1: 7817}
    assert not (h.data == -999.0).any().any()
    nan = h.data.isna().mean()
    assert nan["DER_mass_MMC"] == pytest.approx(0.152, abs=0.001)
    assert nan["DER_mass_jet_jet"] == pytest.approx(0.708, abs=0.001)
    assert nan["PRI_jet_subleading_pt"] == pytest.approx(0.708, abs=0.001)
    assert nan["PRI_jet_leading_pt"] == pytest.approx(0.398, abs=0.001)
    assert nan["PRI_tau_pt"] == 0.0
    # jet variables are missing exactly when there are too few jets
    np.testing.assert_array_equal(h.data["PRI_jet_leading_pt"].isna(), h.data["PRI_jet_num"] == 0)
    w, y = h.sample_weight, h.target.to_numpy()
    assert w[y == 1].sum() == pytest.approx(64.611, abs=1e-3)
    assert w[y == 0].sum() == pytest.approx(37467.64, abs=1e-2)
    w2 = load_higgsml(folder, weight="Weight").sample_weight
    assert w2[y == 1].sum() == pytest.approx(19.833, abs=1e-3)
    # the file itself works too, and return_X_y
    X, y2 = load_higgsml(
        folder / "atlas-higgs-challenge-2014-v2_first22889.csv.gz", return_X_y=True
    )
    pd.testing.assert_frame_equal(X, h.data)
    pd.testing.assert_series_equal(y2, h.target)
    with pytest.raises(ValueError, match="weight"):
        load_higgsml(folder, weight="nope")

    # AMS normalisation on a held-out half
    half = slice(0, 11_000)
    ws = rescale_weights(y[half], w[half], higgsml_full_totals())
    totals = higgsml_full_totals()
    assert ws[y[half] == 1].sum() == pytest.approx(totals[1], rel=1e-12)
    assert ws[y[half] == 0].sum() == pytest.approx(totals[0], rel=1e-12)


def test_higgsml_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape("nothing.csv.gz")):
        load_higgsml(tmp_path / "nothing.csv.gz")


def test_rescale_weights():
    totals = higgsml_full_totals()
    assert totals == {1: 691.988607712, 0: 410999.847322}
    y = np.array([1, 0, 1, 0, 0])
    w = np.array([1.0, 2.0, 3.0, 4.0, 2.0])
    out = rescale_weights(y, w)
    assert out[y == 1].sum() == pytest.approx(totals[1])
    assert out[y == 0].sum() == pytest.approx(totals[0])
    np.testing.assert_allclose(out[y == 1] / out[y == 1].sum(), [0.25, 0.75])
    with pytest.raises(ValueError, match="same length"):
        rescale_weights(y, w[:3])
    with pytest.raises(ValueError, match="no entry"):
        rescale_weights(np.array([2, 0]), np.ones(2))
    with pytest.raises(ValueError, match="sum to"):
        rescale_weights(np.array([1, 0]), np.array([0.0, 1.0]))


@pytest.mark.parametrize(
    ("subset", "n_rows", "n_signal"),
    [("data", 60_000, 395), ("data_test", 62_124, 377), ("test", 60_000, 20_000)],
)
def test_lhco(subset, n_rows, n_signal):
    folder = _data_dir() / "lhco2020_rnd_signal_region"
    d = load_lhco_rnd(folder, subset=subset)
    assert d.data.shape == (n_rows, 5)
    assert list(d.data.columns) == ["mjj", "mj1", "delta_mj", "tau21_j1", "tau21_j2"]
    assert int(d.target.sum()) == n_signal
    assert d.data["mjj"].between(3.3, 3.7).all()
    assert (d.data["delta_mj"] >= 0).all()


def test_lhco_extrasig_overlap():
    folder = _data_dir() / "lhco2020_rnd_signal_region"
    full = load_lhco_rnd(folder, subset="extrasig", exclude_test_overlap=False)
    clean = load_lhco_rnd(folder, subset="extrasig")
    assert len(full.data) == 74_527
    assert len(full.data) - len(clean.data) == 20_000
    assert (clean.target == 1).all()
    test = load_lhco_rnd(folder, subset="test")
    merged = clean.data.merge(test.data, how="inner")
    assert len(merged) == 0
    assert len(full.data.merge(test.data[test.target == 1], how="inner")) == 20_000
    with pytest.raises(ValueError, match="subset"):
        load_lhco_rnd(folder, subset="sideband")
    with pytest.raises(ValueError, match="folder"):
        load_lhco_rnd(folder / "innerdata_train.npy")


def test_magic():
    m = load_magic(_data_dir() / "magic_gamma_telescope")
    assert m.data.shape == (19020, 10)
    assert m.feature_names[0] == "fLength" and m.feature_names[-1] == "fDist"
    assert m.target.value_counts().to_dict() == {1: 12332, 0: 6688}
    assert not m.data.isna().any().any()


def test_lhco_reports_the_overlap_it_removes():
    folder = _data_dir() / "lhco2020_rnd_signal_region"
    assert load_lhco_rnd(folder, subset="extrasig").n_removed_test_overlap == 20_000
    full = load_lhco_rnd(folder, subset="extrasig", exclude_test_overlap=False)
    assert full.n_removed_test_overlap == 0
    assert load_lhco_rnd(folder, subset="test").n_removed_test_overlap == 0


def test_higgsml_real_event_ids_and_names():
    h = load_higgsml(_data_dir() / "higgsml_atlas_2014_subset")
    assert h.feature_names == HIGGS_FEATURES == HIGGSML_FEATURE_NAMES
    assert h.event_id.dtype == np.int64
    np.testing.assert_array_equal(h.event_id, np.arange(100000, 122889))
    assert (h.sample_weight > 0).all()


# --------------------------------------------------------------------------------------
# Real-data loaders on small files written in the public formats (always run)
# --------------------------------------------------------------------------------------
# The 30 HiggsML features as listed in the dataset's documentation (CERN Open Data 328).
HIGGS_FEATURES = (
    "DER_mass_MMC DER_mass_transverse_met_lep DER_mass_vis DER_pt_h DER_deltaeta_jet_jet "
    "DER_mass_jet_jet DER_prodeta_jet_jet DER_deltar_tau_lep DER_pt_tot DER_sum_pt "
    "DER_pt_ratio_lep_tau DER_met_phi_centrality DER_lep_eta_centrality PRI_tau_pt "
    "PRI_tau_eta PRI_tau_phi PRI_lep_pt PRI_lep_eta PRI_lep_phi PRI_met PRI_met_phi "
    "PRI_met_sumet PRI_jet_num PRI_jet_leading_pt PRI_jet_leading_eta PRI_jet_leading_phi "
    "PRI_jet_subleading_pt PRI_jet_subleading_eta PRI_jet_subleading_phi PRI_jet_all_pt"
).split()
# The first two rows of the public file, verbatim.
HIGGS_HEADER = ",".join(
    ["EventId", *HIGGS_FEATURES, "Weight", "Label", "KaggleSet", "KaggleWeight"]
)
HIGGS_ROWS = [
    "100000,138.47,51.655,97.827,27.98,0.91,124.711,2.666,3.064,41.928,197.76,1.582,1.396,0.2,"
    "32.638,1.017,0.381,51.626,2.273,-2.414,16.824,-0.277,258.733,2,67.435,2.15,0.444,46.062,"
    "1.24,-2.475,113.497,0.00081448039868,s,t,0.00265331133733",
    "100001,160.937,68.768,103.235,48.146,-999.0,-999.0,-999.0,3.473,2.078,125.157,0.879,1.414,"
    "-999.0,42.014,2.039,-3.011,36.918,0.501,0.103,44.704,-1.916,164.546,1,46.226,0.725,1.158,"
    "-999.0,-999.0,-999.0,46.226,0.681041906806,b,t,2.23358448717",
]
MAGIC_ROWS = [
    "28.7967,16.0021,2.6449,0.3918,0.1982,27.7004,22.011,-8.2027,40.092,81.8828,g",
    "31.6036,11.7235,2.5185,0.5303,0.3773,26.2722,23.8238,-9.9574,6.3609,205.261,g",
    "93.7035,37.9432,3.1454,0.168,0.1011,53.2566,89.0566,-42.2891,3.0,312.31,h",
]


def _write(file, text, *, gz=None):
    """Write text to file, gzip-compressed when the name ends in .gz (or gz=True)."""
    data = text.encode()
    if gz or (gz is None and file.name.endswith(".gz")):
        data = gzip.compress(data)
    file.write_bytes(data)
    return file


def _higgs_text(header=HIGGS_HEADER, rows=HIGGS_ROWS):
    return "\n".join([header, *rows]) + "\n"


def _field(row, column, value, header=HIGGS_HEADER):
    """The row with one field replaced."""
    fields = row.split(",")
    fields[header.split(",").index(column)] = value
    return ",".join(fields)


def _refused(load, file, *fragments):
    """load(file) raises a ValueError naming the file and containing every fragment."""
    with pytest.raises(ValueError, match=re.escape(str(file))) as info:
        load(file)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return info.value


def test_higgsml_small_file(tmp_path):
    file = _write(tmp_path / "atlas-higgs-challenge-2014-v2.csv.gz", _higgs_text())
    h = load_higgsml(file)
    assert h.feature_names == HIGGS_FEATURES == HIGGSML_FEATURE_NAMES
    assert list(h.data.columns) == HIGGS_FEATURES
    assert (h.data.dtypes == np.float64).all()
    assert h.target.tolist() == [1, 0]
    np.testing.assert_array_equal(h.sample_weight, [0.00265331133733, 2.23358448717])
    np.testing.assert_array_equal(h.event_id, [100000, 100001])
    assert h.data.loc[0, "DER_mass_MMC"] == 138.47
    # -999.0 becomes NaN exactly where it was written
    assert h.data.loc[1].isna().sum() == 7
    assert h.data.loc[1, ["DER_mass_jet_jet", "PRI_jet_subleading_pt"]].isna().all()
    assert not h.data.loc[0].isna().any()
    assert load_higgsml(file, weight="Weight").sample_weight[1] == 0.681041906806
    # the folder (one matching file), an uncompressed csv, a gzip not named .gz
    pd.testing.assert_frame_equal(load_higgsml(tmp_path).data, h.data)
    plain = _write(tmp_path / "plain.csv", _higgs_text())
    pd.testing.assert_frame_equal(load_higgsml(plain).data, h.data)
    hidden = _write(tmp_path / "hidden.csv", _higgs_text(), gz=True)
    pd.testing.assert_frame_equal(load_higgsml(hidden).data, h.data)
    # Kaggle's training.csv: no KaggleSet, KaggleWeight
    cut = HIGGS_HEADER.split(",").index("KaggleSet")
    kaggle = _higgs_text(
        ",".join(HIGGS_HEADER.split(",")[:cut]),
        [",".join(r.split(",")[:cut]) for r in HIGGS_ROWS],
    )
    k = load_higgsml(_write(tmp_path / "training.csv", kaggle), weight="Weight")
    pd.testing.assert_frame_equal(k.data, h.data)
    with pytest.raises(ValueError, match="missing columns \\['KaggleWeight'\\]"):
        load_higgsml(tmp_path / "training.csv")


def _higgs_rows_with(column, value):
    return [HIGGS_ROWS[0], _field(HIGGS_ROWS[1], column, value)]


HIGGS_BAD = {
    # a truncated file: the last row stops after 20 fields
    "truncated": (
        _higgs_text(rows=[HIGGS_ROWS[0], ",".join(HIGGS_ROWS[1].split(",")[:20])]),
        ["empty or NA fields in 1 row", "'PRI_met': 1", "'KaggleWeight': 1", "truncated"],
    ),
    "nan feature": (
        _higgs_text(rows=_higgs_rows_with("PRI_tau_pt", "nan")),
        ["{'PRI_tau_pt': 1}", "empty or NA", "1 row"],
    ),
    "empty weight": (
        _higgs_text(rows=_higgs_rows_with("KaggleWeight", "")),
        ["{'KaggleWeight': 1}", "empty or NA", "1 row"],
    ),
    "inf feature": (
        _higgs_text(rows=_higgs_rows_with("DER_pt_h", "inf")),
        ["'DER_pt_h'", "infinite", "1 row"],
    ),
    "text feature": (
        _higgs_text(rows=_higgs_rows_with("PRI_met", "abc")),
        ["'PRI_met'", "not a number", "1 row"],
    ),
    "sentinel where never missing": (
        _higgs_text(rows=_higgs_rows_with("PRI_tau_pt", "-999.0")),
        ["'PRI_tau_pt'", "-999.0", "1 row"],
    ),
    "jet count": (
        _higgs_text(rows=_higgs_rows_with("PRI_jet_num", "4")),
        ["'PRI_jet_num'", "0, 1, 2, 3"],
    ),
    "label": (
        _higgs_text(rows=_higgs_rows_with("Label", "x")),
        ["'Label'", "'s'/'b'", "1 row"],
    ),
    "sentinel weight": (
        _higgs_text(rows=_higgs_rows_with("KaggleWeight", "-999.0")),
        ["'KaggleWeight'", "non-positive", "1 row"],
    ),
    "repeated event": (
        _higgs_text(rows=_higgs_rows_with("EventId", "100000")),
        ["'EventId'", "repeated", "1 row"],
    ),
    "repeated header": (
        _higgs_text(header=HIGGS_HEADER.replace("DER_pt_h", "DER_mass_vis")),
        ["repeated columns ['DER_mass_vis']", "missing columns ['DER_pt_h']"],
    ),
    "unknown header": (
        _higgs_text(header=HIGGS_HEADER.replace("KaggleSet", "Something")),
        ["unknown columns ['Something']"],
    ),
    "missing header": (
        _higgs_text(
            header=HIGGS_HEADER.replace(",Label", ""),
            rows=[r.replace(",s,", ",").replace(",b,", ",") for r in HIGGS_ROWS],
        ),
        ["missing columns ['Label']"],
    ),
    "every row one field too many": (
        _higgs_text(rows=[r + ",1" for r in HIGGS_ROWS]),
        ["rows have 36 fields but the header has 35"],
    ),
    "one row one field too many": (
        _higgs_text(rows=[HIGGS_ROWS[0], HIGGS_ROWS[1] + ",1"]),
        ["is not a HiggsML csv file", "ParserError"],
    ),
    "header only": (HIGGS_HEADER + "\n", ["holds no data"]),
}


@pytest.mark.parametrize("case", list(HIGGS_BAD))
def test_higgsml_refuses_corrupt_content(tmp_path, case):
    text, fragments = HIGGS_BAD[case]
    file = _write(tmp_path / "atlas-higgs-challenge-2014-v2.csv.gz", text)
    _refused(load_higgsml, file, *fragments)


def test_higgsml_refuses_other_kinds_of_file(tmp_path):
    npy = tmp_path / "events.npy"
    np.save(npy, np.ones((3, 35)))
    err = _refused(load_higgsml, npy, "is not a HiggsML csv file")
    assert isinstance(err.__cause__, UnicodeDecodeError)
    fake_gz = _write(tmp_path / "fake.csv.gz", _higgs_text(), gz=False)
    err = _refused(load_higgsml, fake_gz, "is not a HiggsML csv file", "BadGzipFile")
    assert isinstance(err.__cause__, gzip.BadGzipFile)
    # a gzip stream cut short (a partial download)
    whole = gzip.compress(_higgs_text(rows=HIGGS_ROWS * 200).encode())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    err = _refused(load_higgsml, cut, "is not a HiggsML csv file")
    assert isinstance(err.__cause__, EOFError)
    empty = _write(tmp_path / "empty.csv", "")
    _refused(load_higgsml, empty, "is empty")
    empty_gz = _write(tmp_path / "empty.csv.gz", "")
    _refused(load_higgsml, empty_gz, "holds no data")


LHCO_GOOD = np.array(
    [
        [3.51, 0.10, 0.38, 0.45, 0.62, 0.0],
        [3.49, 0.11, 0.39, 0.21, 0.33, 1.0],
        [3.35, 0.05, 0.60, 0.70, 0.50, 0.0],
    ]
)


def _lhco_folder(tmp_path, **arrays):
    """A folder in the public layout; arrays are keyed by subset name."""
    (tmp_path / "separated_data").mkdir(exist_ok=True)
    names = {
        "data": "innerdata_train.npy",
        "data_test": "innerdata_test.npy",
        "extrasig": "innerdata_extrasig.npy",
        "test": "separated_data/innerdata_test.npy",
    }
    for subset, a in arrays.items():
        np.save(tmp_path / names[subset], a)
    return tmp_path


def test_lhco_small_files(tmp_path):
    signal = np.column_stack([np.linspace(3.4, 3.6, 5), np.full((5, 4), 0.3), np.ones(5)])
    test = np.vstack([signal[[1, 3]], LHCO_GOOD[[0, 2]]])
    folder = _lhco_folder(tmp_path, data=LHCO_GOOD, extrasig=signal, test=test)
    d = load_lhco_rnd(folder)
    np.testing.assert_array_equal(d.data.to_numpy(), LHCO_GOOD[:, :5])
    assert d.target.tolist() == [0, 1, 0] and d.target.dtype == np.int64
    assert d.n_removed_test_overlap == 0
    clean = load_lhco_rnd(folder, subset="extrasig")
    assert clean.n_removed_test_overlap == 2
    np.testing.assert_array_equal(clean.data.to_numpy(), signal[[0, 2, 4], :5])
    full = load_lhco_rnd(folder, subset="extrasig", exclude_test_overlap=False)
    assert len(full.data) == 5 and full.n_removed_test_overlap == 0
    X, y = load_lhco_rnd(folder, subset="test", return_X_y=True)
    assert X.shape == (4, 5) and y.tolist() == [1, 1, 0, 0]
    # float32 and integer files are read as float64
    np.save(folder / "innerdata_train.npy", LHCO_GOOD.astype(np.float32))
    assert (load_lhco_rnd(folder).data.dtypes == np.float64).all()


def _with(a, row, col, value):
    a = a.copy()
    a[row, col] = value
    return a


LHCO_BAD = {
    "label 2": (_with(LHCO_GOOD, 1, 5, 2.0), ["'label'", "0/1", "1 row"]),
    "label 0.5": (_with(LHCO_GOOD, 0, 5, 0.5), ["'label'", "0/1", "first: data row 1"]),
    "label nan": (_with(LHCO_GOOD, 2, 5, np.nan), ["'label'", "0/1"]),
    "nan feature": (_with(LHCO_GOOD, 2, 3, np.nan), ["'tau21_j1'", "NaN", "1 row"]),
    "inf feature": (_with(LHCO_GOOD, 0, 0, -np.inf), ["'mjj'", "infinite"]),
    "5 columns": (LHCO_GOOD[:, :5], ["shape (n, 6)", "(3, 5)"]),
    "1-D": (LHCO_GOOD[0], ["shape (n, 6)", "(6,)"]),
    "no rows": (np.empty((0, 6)), ["n > 0", "(0, 6)"]),
    "strings": (LHCO_GOOD.astype(str), ["is not a LHCO 2020 R&D .npy file", "dtype"]),
    "bool": (LHCO_GOOD > 0, ["is not a LHCO 2020 R&D .npy file", "dtype"]),
}


@pytest.mark.parametrize("case", list(LHCO_BAD))
def test_lhco_refuses_corrupt_content(tmp_path, case):
    a, fragments = LHCO_BAD[case]
    folder = _lhco_folder(tmp_path, data=a)
    _refused(lambda _: load_lhco_rnd(folder), folder / "innerdata_train.npy", *fragments)


def test_lhco_refuses_background_in_extrasig_and_a_corrupt_test_file(tmp_path):
    folder = _lhco_folder(tmp_path, extrasig=LHCO_GOOD, test=LHCO_GOOD)
    extrasig = folder / "innerdata_extrasig.npy"
    _refused(lambda _: load_lhco_rnd(folder, subset="extrasig"), extrasig, "values other than 1")
    signal = LHCO_GOOD.copy()
    signal[:, 5] = 1.0
    _lhco_folder(folder, extrasig=signal, test=_with(LHCO_GOOD, 0, 5, 3.0))
    test_file = folder / "separated_data" / "innerdata_test.npy"
    _refused(lambda _: load_lhco_rnd(folder, subset="extrasig"), test_file, "'label'")
    # the test file is not read when the overlap is kept
    assert len(load_lhco_rnd(folder, subset="extrasig", exclude_test_overlap=False).data) == 3


def test_lhco_refuses_other_kinds_of_file(tmp_path):
    folder = _lhco_folder(tmp_path)
    file = folder / "innerdata_train.npy"
    kind = "is not a LHCO 2020 R&D .npy file"

    def load(_):
        return load_lhco_rnd(folder)

    # a pickled object array: refused without unpickling (the payload would create `marker`)
    marker = tmp_path / "unpickled"
    np.save(file, np.array([_MakeDir(str(marker))], dtype=object), allow_pickle=True)
    err = _refused(load, file, kind, "allow_pickle=False", "pickle")
    assert isinstance(err.__cause__, ValueError)
    assert not marker.exists()
    np.load(file, allow_pickle=True)  # the payload works: the check above can fail
    assert marker.exists()
    _write(file, "3.5,0.1,0.4,0.5,0.6,0\n", gz=False)  # a csv
    _refused(load, file, kind, "allow_pickle=False")
    _write(file, "3.5,0.1,0.4,0.5,0.6,0\n", gz=True)  # a gzip
    _refused(load, file, kind, "allow_pickle=False")
    with open(file, "wb") as fh:  # a .npz archive
        np.savez(fh, a=LHCO_GOOD)
    _refused(load, file, kind, ".npz archive")
    np.save(file, LHCO_GOOD)
    file.write_bytes(file.read_bytes()[:-20])  # truncated
    _refused(load, file, kind)
    file.write_bytes(b"")
    err = _refused(load, file, kind)
    assert isinstance(err.__cause__, EOFError)


class _MakeDir:
    """Unpickling this creates a directory: evidence that pickle ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_magic_small_file(tmp_path):
    file = _write(tmp_path / "magic04.data", "\n".join(MAGIC_ROWS) + "\n")
    m = load_magic(file)
    assert m.data.shape == (3, 10)
    assert (m.data.dtypes == np.float64).all()
    assert m.target.tolist() == [1, 1, 0]
    assert m.data["fDist"].tolist() == [81.8828, 205.261, 312.31]
    X, y = load_magic(tmp_path, return_X_y=True)
    pd.testing.assert_frame_equal(X, m.data)
    pd.testing.assert_series_equal(y, m.target)


def _magic_rows_with(col, value):
    fields = MAGIC_ROWS[1].split(",")
    fields[col] = value
    return "\n".join([MAGIC_ROWS[0], ",".join(fields), MAGIC_ROWS[2]]) + "\n"


MAGIC_BAD = {
    "empty": ("", ["is empty"]),
    "blank lines": ("\n\n", ["holds no data"]),
    "header line": (
        "fLength,fWidth,fSize,fConc,fConc1,fAsym,fM3Long,fM3Trans,fAlpha,fDist,class\n"
        + "\n".join(MAGIC_ROWS),
        ["'fLength'", "not a number", "first: data row 1"],
    ),
    "10 fields": ("\n".join(r.rsplit(",", 1)[0] for r in MAGIC_ROWS), ["rows have 10 fields"]),
    "short row": (
        "\n".join([MAGIC_ROWS[0], MAGIC_ROWS[1].rsplit(",", 3)[0], MAGIC_ROWS[2]]),
        ["{'fAlpha': 1, 'fDist': 1, 'class': 1}", "in 1 row", "truncated"],
    ),
    "long row": (
        "\n".join([MAGIC_ROWS[0], MAGIC_ROWS[1] + ",g", MAGIC_ROWS[2]]),
        ["is not a MAGIC magic04.data file", "ParserError"],
    ),
    "nan": (_magic_rows_with(4, "NaN"), ["{'fConc1': 1}", "empty or NA", "1 row"]),
    "inf": (_magic_rows_with(0, "inf"), ["'fLength'", "infinite", "1 row"]),
    "class": (_magic_rows_with(10, "x"), ["'class'", "'g'/'h'", "first: data row 2"]),
}


@pytest.mark.parametrize("case", list(MAGIC_BAD))
def test_magic_refuses_corrupt_content(tmp_path, case):
    text, fragments = MAGIC_BAD[case]
    _refused(load_magic, _write(tmp_path / "magic04.data", text, gz=False), *fragments)


def test_magic_refuses_a_binary_file(tmp_path):
    file = tmp_path / "magic04.data"
    file.write_bytes(bytes(range(256)) * 8)
    err = _refused(load_magic, file, "is not a MAGIC magic04.data file")
    assert isinstance(err.__cause__, (UnicodeDecodeError, pd.errors.ParserError))
    np.save(tmp_path / "x.npy", np.ones((3, 11)))
    err = _refused(load_magic, tmp_path / "x.npy", "is not a MAGIC magic04.data file")
    assert isinstance(err.__cause__, UnicodeDecodeError)
