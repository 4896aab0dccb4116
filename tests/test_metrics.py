import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from scipy.spatial.distance import jensenshannon
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.cluster import KMeans
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KernelDensity, LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml.metrics import (
    ams,
    anomaly_response_method,
    anomaly_score,
    anomaly_scorer,
    background_rejection,
    background_rejection_scorer,
    best_ams,
    best_ams_scorer,
    efficiency_score,
    efficiency_scorer,
    f1_optimal_threshold,
    get_scorer,
    inverse_jsd,
    mass_sculpting_jsd,
    max_sic,
    max_sic_scorer,
    multiclass_discriminant,
    pid_report,
    purity_efficiency_f1,
    purity_score,
    purity_scorer,
    r50,
    r50_scorer,
    sic_curve,
)


def _toy(n=200, shift=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = rng.normal(size=n) + shift * y
    return y, score, rng


# --------------------------------------------------------------------------- #
# purity / efficiency / pid_report
# --------------------------------------------------------------------------- #
def test_purity_efficiency_by_hand_weighted():
    y_true = np.array([1, 1, 1, 0, 0])
    y_pred = np.array([1, 0, 1, 1, 0])
    w = np.array([2.0, 1.0, 0.5, 3.0, 4.0])
    # TP weight = 2 + 0.5, true-positive weight = 3.5, predicted-positive weight = 5.5
    assert efficiency_score(y_true, y_pred, sample_weight=w) == pytest.approx(2.5 / 3.5)
    assert purity_score(y_true, y_pred, sample_weight=w) == pytest.approx(2.5 / 5.5)
    # class 0 as pos_label: TP = 4, true = 7, predicted = 5
    assert efficiency_score(y_true, y_pred, pos_label=0, sample_weight=w) == pytest.approx(4 / 7)
    assert purity_score(y_true, y_pred, pos_label=0, sample_weight=w) == pytest.approx(4 / 5)


def test_purity_efficiency_negative_weights_used_as_given():
    y_true = [1, 1, 0]
    y_pred = [1, 1, 1]
    w = [1.0, -0.5, 1.0]
    assert efficiency_score(y_true, y_pred, sample_weight=w) == pytest.approx(1.0)
    assert purity_score(y_true, y_pred, sample_weight=w) == pytest.approx(0.5 / 1.5)


def test_purity_efficiency_zero_denominator_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert purity_score([1, 0], [0, 0]) == 0.0
        assert efficiency_score([0, 0], [1, 0]) == 0.0
        assert efficiency_score([1, 1], [1, 1], sample_weight=[1.0, -1.0]) == 0.0


def test_pid_report_by_hand():
    y_true = [211, 211, 321, 321, 2212]
    y_pred = [211, 321, 321, 321, 211]
    w = [1.0, 2.0, 1.0, 1.0, 3.0]
    rep = pid_report(y_true, y_pred, sample_weight=w)
    assert list(rep.columns) == ["purity", "efficiency", "f1", "support"]
    assert list(rep.index) == [211, 321, 2212]
    # pion: TP 1, true 3, predicted 4
    assert rep.loc[211, "purity"] == pytest.approx(1 / 4)
    assert rep.loc[211, "efficiency"] == pytest.approx(1 / 3)
    assert rep.loc[211, "f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))
    assert rep.loc[211, "support"] == pytest.approx(3.0)
    # kaon: TP 2, true 2, predicted 4
    assert rep.loc[321, "purity"] == pytest.approx(0.5)
    assert rep.loc[321, "efficiency"] == pytest.approx(1.0)
    # proton never predicted
    assert rep.loc[2212].tolist() == [0.0, 0.0, 0.0, 3.0]


def test_pid_report_matches_sklearn_and_labels_order():
    rng = np.random.default_rng(1)
    labels = np.array([-211, 11, 211, 321])
    y_true = rng.choice(labels, 100)
    y_pred = np.where(rng.random(100) < 0.6, y_true, rng.choice(labels, 100))
    w = rng.random(100)
    rep = pid_report(y_true, y_pred, labels=[321, -211], sample_weight=w)
    assert list(rep.index) == [321, -211]
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=[321, -211], sample_weight=w, zero_division=0
    )
    np.testing.assert_allclose(rep["purity"], p)
    np.testing.assert_allclose(rep["efficiency"], r)
    np.testing.assert_allclose(rep["f1"], f)
    np.testing.assert_allclose(rep["support"], [w[y_true == 321].sum(), w[y_true == -211].sum()])


# --------------------------------------------------------------------------- #
# F1 scans
# --------------------------------------------------------------------------- #
def _brute_f1(y, s, w):
    best_t, best_f1 = None, -np.inf
    for t in np.unique(s)[::-1]:  # tightest first: ties go to the tightest cut
        sel = s >= t
        tp = w[sel & (y == 1)].sum()
        fp = w[sel & (y == 0)].sum()
        fn = w[~sel & (y == 1)].sum()
        den = 2 * tp + fp + fn
        f1 = 2 * tp / den if den != 0 else 0.0
        if f1 > best_f1:
            best_t, best_f1 = t, f1
    return best_t, best_f1


@pytest.mark.parametrize("negative", [False, True])
def test_f1_optimal_threshold_brute_force(negative):
    y, s, rng = _toy(150, seed=2)
    s = np.round(s, 1)  # many ties
    w = rng.uniform(0.1, 2.0, y.size)
    if negative:
        w[rng.random(y.size) < 0.1] *= -0.3
    t, f1 = f1_optimal_threshold(y, s, sample_weight=w)
    bt, bf1 = _brute_f1(y, s, w)
    assert f1 == pytest.approx(bf1)
    assert t == pytest.approx(bt)
    if not negative:
        assert f1 == pytest.approx(f1_score(y, s >= t, sample_weight=w))


def test_f1_optimal_threshold_bool_labels():
    t, f1 = f1_optimal_threshold(np.array([False, True, True]), [0.1, 0.5, 0.7])
    assert (t, f1) == (0.5, 1.0)


def test_purity_efficiency_f1():
    y = [0, 1, 1, 0, 1]
    s = [0.2, 0.6, 0.9, 0.7, 0.1]
    w = [1.0, 1.0, 2.0, 1.0, 1.0]
    res = purity_efficiency_f1(y, s, threshold=0.5, sample_weight=w)
    assert set(res) == {"threshold", "purity", "efficiency", "f1"}
    assert res["purity"] == pytest.approx(3 / 4)
    assert res["efficiency"] == pytest.approx(3 / 4)
    assert res["f1"] == pytest.approx(3 / 4)
    opt = purity_efficiency_f1(y, s, sample_weight=w)
    t, f1 = f1_optimal_threshold(y, s, sample_weight=w)
    assert opt["threshold"] == t
    assert opt["f1"] == pytest.approx(f1)


# --------------------------------------------------------------------------- #
# ROC-based metrics
# --------------------------------------------------------------------------- #
def test_background_rejection_exact():
    y = [1, 0, 1, 0, 0, 1, 0, 0]
    s = [0.9, 0.85, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1]
    # eps_S = 2/3 reached after one of five background events
    assert background_rejection(y, s, signal_efficiency=2 / 3) == pytest.approx(5.0)
    assert r50(y, s) == pytest.approx(5.0)
    # eps_S = 1/3 needs no background
    assert background_rejection(y, s, signal_efficiency=1 / 3) == np.inf
    # full efficiency: the loosest cut with eps_S = 1 (at 0.3) keeps 3 of 5 background
    assert background_rejection(y, s, signal_efficiency=1.0) == pytest.approx(5 / 3)


def test_background_rejection_interpolates():
    # one signal and one background at the same score: the ROC is the diagonal
    assert r50([1, 0], [0.5, 0.5]) == pytest.approx(2.0)
    assert background_rejection([1, 0], [0.5, 0.5], signal_efficiency=0.25) == pytest.approx(4.0)
    # ROC points (eps_B, eps_S): (0,0) (0,0.5) (0.5,0.5) (0.5,1) (1,1)
    y = [1, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.6]
    assert background_rejection(y, s, signal_efficiency=0.75) == pytest.approx(2.0)
    # weights: second signal counts 3x -> eps_S jumps from 0.25 to 1 at eps_B 0.5
    assert background_rejection(
        y, s, signal_efficiency=0.5, sample_weight=[1, 1, 3, 1]
    ) == pytest.approx(2.0)


def test_r50_perfect_separation_and_weights():
    assert r50([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == np.inf
    y = [1, 1, 0, 0]
    s = [0.9, 0.3, 0.5, 0.1]
    # with equal weights eps_S = 0.5 at eps_B = 0: inf; weighting the low signal 3x
    # gives points (eps_B, eps_S) (0, 0.25) (0.5, 0.25) (0.5, 1): eps_B = 0.5
    assert r50(y, s) == np.inf
    assert r50(y, s, sample_weight=[1, 3, 1, 1]) == pytest.approx(2.0)


def test_sic_curve_and_max_sic():
    y = [1, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.6]
    eps_s, sic = sic_curve(y, s)
    np.testing.assert_allclose(eps_s, [0.5, 1.0, 1.0])
    np.testing.assert_allclose(sic, [0.5 / np.sqrt(0.5), 1 / np.sqrt(0.5), 1.0])
    assert max_sic(y, s) == pytest.approx(np.sqrt(2))
    assert max_sic(y, s, min_background_efficiency=0.9) == pytest.approx(1.0)
    y2, s2, _ = _toy(300, seed=3)
    e, v = sic_curve(y2, s2)
    assert e.shape == v.shape and np.all(np.diff(e) >= 0)
    assert max_sic(y2, s2) == pytest.approx(v.max())
    assert np.all(np.isfinite(v))
    with pytest.raises(ValueError, match="min_background_efficiency"):
        max_sic(y, s, min_background_efficiency=0.0)


# --------------------------------------------------------------------------- #
# AMS
# --------------------------------------------------------------------------- #
def test_ams_formula_and_limit():
    s, b = 25.0, 400.0
    expected = np.sqrt(2 * ((s + b + 10) * np.log(1 + s / (b + 10)) - s))
    assert ams(s, b) == pytest.approx(expected)
    assert ams(s, b, b_reg=0.0) == pytest.approx(np.sqrt(2 * ((s + b) * np.log(1 + s / b) - s)))
    # s << b: AMS ~ s / sqrt(b + b_reg)
    assert ams(1.0, 1e6) == pytest.approx(1.0 / np.sqrt(1e6 + 10), rel=1e-5)
    assert ams(0.0, 5.0) == 0.0
    out = ams(np.array([1.0, 25.0]), np.array([1e6, 400.0]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [ams(1.0, 1e6), expected])
    with pytest.raises(ValueError, match="b_reg"):
        ams(1.0, -20.0)
    with pytest.raises(ValueError, match="NaN"):
        ams(np.nan, 1.0)


def test_best_ams_brute_force():
    y, s, rng = _toy(200, seed=4)
    s = np.round(s, 1)
    w = rng.uniform(0.0, 0.5, y.size)
    a, t = best_ams(y, s, sample_weight=w, b_reg=1.0)
    vals = {
        u: ams(w[(s >= u) & (y == 1)].sum(), w[(s >= u) & (y == 0)].sum(), b_reg=1.0)
        for u in np.unique(s)
    }
    bt = max(vals, key=vals.get)
    assert a == pytest.approx(vals[bt])
    assert t == pytest.approx(bt)


# --------------------------------------------------------------------------- #
# mass sculpting
# --------------------------------------------------------------------------- #
def test_jsd_identical_is_zero():
    # background passing (score 0.9x) and failing (0.1x) have the same masses
    y = [1, 1, 0, 0, 0, 0, 0, 0]
    s = [0.9, 0.05, 0.91, 0.92, 0.93, 0.11, 0.12, 0.13]
    m = [125, 125, 70, 90, 110, 70, 90, 110]
    assert mass_sculpting_jsd(y, s, m, bins=3) == pytest.approx(0.0, abs=1e-12)
    assert inverse_jsd(y, s, m, bins=3) == np.inf


def test_jsd_disjoint_is_one():
    y = [1, 1, 0, 0, 0, 0]
    s = [0.9, 0.05, 0.91, 0.92, 0.11, 0.12]
    m = [125, 125, 60, 65, 140, 145]
    assert mass_sculpting_jsd(y, s, m, bins=4) == pytest.approx(1.0)
    assert inverse_jsd(y, s, m, bins=4) == pytest.approx(1.0)


def test_jsd_matches_direct_histograms():
    y, s, rng = _toy(400, seed=5)
    m = rng.uniform(50, 150, y.size) + 5 * s
    w = rng.uniform(0.5, 1.5, y.size)
    sig_w = np.where(y == 1, w, 0.0)
    order = np.argsort(-s)
    eff = np.cumsum(sig_w[order]) / sig_w.sum()
    cut = s[order][np.argmax(eff >= 0.3)]
    bkg = y == 0
    p, edges = np.histogram(
        m[bkg & (s >= cut)], bins=10, range=(20, 180), weights=w[bkg & (s >= cut)]
    )
    q, _ = np.histogram(m[bkg & (s < cut)], bins=edges, weights=w[bkg & (s < cut)])
    expected = jensenshannon(p / p.sum(), q / q.sum(), base=2) ** 2
    got = mass_sculpting_jsd(
        y, s, m, signal_efficiency=0.3, bins=10, range=(20, 180), sample_weight=w
    )
    assert got == pytest.approx(expected)
    assert 0 < got < 1


def test_jsd_no_background_passing_raises():
    with pytest.raises(ValueError, match="passes"):
        mass_sculpting_jsd([1, 1, 0, 0], [0.9, 0.8, 0.1, 0.2], [1, 2, 3, 4])


# --------------------------------------------------------------------------- #
# weight 2 == duplicated row, for every weighted metric
# --------------------------------------------------------------------------- #
_BINARY_METRICS = {
    "f1_optimal_threshold": lambda y, s, m, w: f1_optimal_threshold(y, s, sample_weight=w),
    "purity_efficiency_f1": lambda y, s, m, w: tuple(
        purity_efficiency_f1(y, s, threshold=0.3, sample_weight=w).values()
    ),
    "background_rejection": lambda y, s, m, w: background_rejection(
        y, s, signal_efficiency=0.4, sample_weight=w
    ),
    "r50": lambda y, s, m, w: r50(y, s, sample_weight=w),
    "sic_curve": lambda y, s, m, w: np.concatenate(sic_curve(y, s, sample_weight=w)).max(),
    "max_sic": lambda y, s, m, w: max_sic(y, s, sample_weight=w, min_background_efficiency=0.01),
    "best_ams": lambda y, s, m, w: best_ams(y, s, sample_weight=w),
    "mass_sculpting_jsd": lambda y, s, m, w: mass_sculpting_jsd(y, s, m, bins=8, sample_weight=w),
    "inverse_jsd": lambda y, s, m, w: inverse_jsd(y, s, m, bins=8, sample_weight=w),
    "efficiency_score": lambda y, s, m, w: efficiency_score(y, s > 0.3, sample_weight=w),
    "purity_score": lambda y, s, m, w: purity_score(y, s > 0.3, sample_weight=w),
    "pid_report": lambda y, s, m, w: pid_report(
        y, (s > 0.3).astype(int), sample_weight=w
    ).to_numpy(),
}


@pytest.mark.parametrize("name", sorted(_BINARY_METRICS))
def test_weight_two_equals_duplicated_row(name):
    rng = np.random.default_rng(6)
    n = 80
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(size=n) + y, 2)
    m = rng.uniform(0, 10, n) + 2 * s
    dup = rng.choice(n, 15, replace=False)
    w = np.ones(n)
    w[dup] = 2.0
    idx = np.r_[np.arange(n), dup]
    fn = _BINARY_METRICS[name]
    weighted = fn(y, s, m, w)
    duplicated = fn(y[idx], s[idx], m[idx], None)
    np.testing.assert_allclose(np.asarray(weighted, float), np.asarray(duplicated, float))
    # and the weights matter at all
    unweighted = fn(y, s, m, None)
    assert not np.allclose(np.asarray(weighted, float), np.asarray(unweighted, float))


# --------------------------------------------------------------------------- #
# multiclass discriminant
# --------------------------------------------------------------------------- #
def test_multiclass_discriminant_matches_direct_formula():
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(4), size=20)
    f = np.array([0.1, 0.2, 0.3, 0.4])
    got_default = multiclass_discriminant(p)
    got_frac = multiclass_discriminant(p, fractions=f * 7)  # scale does not matter
    for i in range(4):
        others = [j for j in range(4) if j != i]
        np.testing.assert_allclose(got_default[:, i], np.log10(p[:, i] / p[:, others].sum(1)))
        fo = f[others] / f[others].sum()
        np.testing.assert_allclose(got_frac[:, i], np.log10(p[:, i] / (p[:, others] @ fo)))


def test_multiclass_discriminant_guards_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = multiclass_discriminant([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    assert np.all(np.isfinite(d))
    assert d[0, 0] == pytest.approx(12.0)
    assert d[0, 1] == pytest.approx(-12.0)
    with pytest.raises(ValueError, match="shape"):
        multiclass_discriminant([0.2, 0.8])
    with pytest.raises(ValueError, match="fractions"):
        multiclass_discriminant([[0.2, 0.8]], fractions=[1.0])
    with pytest.raises(ValueError, match="non-negative"):
        multiclass_discriminant([[-0.2, 1.2]])


# --------------------------------------------------------------------------- #
# input validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: r50([1, 0, 1], [0.1, 0.2]), "Inconsistent"),
        (lambda: r50([1, 0], [0.1, 0.2], sample_weight=[1.0]), "Inconsistent"),
        (lambda: r50([1, 2, 0], [0.1, 0.2, 0.3]), "binary"),
        (lambda: max_sic(["a", "b"], [0.1, 0.2]), "binary"),
        (lambda: f1_optimal_threshold([], []), "empty"),
        (lambda: purity_score([], []), "empty"),
        (lambda: best_ams([1, 0], [0.1, np.nan]), "NaN"),
        (lambda: r50([1, 0], [0.1, 0.2], sample_weight=[1.0, np.nan]), "NaN"),
        (lambda: r50([1, 1], [0.1, 0.2]), "background"),
        (lambda: r50([0, 0], [0.1, 0.2]), "signal"),
        (lambda: r50([[1, 0], [0, 1]], [0.1, 0.2]), "1-D"),
        (lambda: background_rejection([1, 0], [0.1, 0.2], signal_efficiency=1.5), "signal_eff"),
        (lambda: efficiency_score([1, 0], [1]), "Inconsistent"),
        (lambda: mass_sculpting_jsd([1, 0], [0.1, 0.2], [1.0]), "Inconsistent"),
        (lambda: mass_sculpting_jsd([1, 0], [0.1, 0.2], [1.0, np.nan]), "NaN"),
    ],
)
def test_validation_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- #
# scorers
# --------------------------------------------------------------------------- #
def _toy_xy(n=240, seed=8):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 2)) + 0.8 * y[:, None]
    return X, y, rng


def test_scorer_equals_metric_on_decision_function():
    X, y, _ = _toy_xy()
    clf = LogisticRegression().fit(X[:150], y[:150])
    Xt, yt = X[150:], y[150:]
    d = clf.decision_function(Xt)
    assert r50_scorer(clf, Xt, yt) == pytest.approx(r50(yt, d))
    assert max_sic_scorer(clf, Xt, yt) == pytest.approx(max_sic(yt, d))
    assert best_ams_scorer(clf, Xt, yt) == pytest.approx(best_ams(yt, d)[0])
    assert background_rejection_scorer(0.7)(clf, Xt, yt) == pytest.approx(
        background_rejection(yt, d, signal_efficiency=0.7)
    )
    pred = clf.predict(Xt)
    assert purity_scorer(0)(clf, Xt, yt) == pytest.approx(purity_score(yt, pred, pos_label=0))
    assert efficiency_scorer()(clf, Xt, yt) == pytest.approx(efficiency_score(yt, pred))
    # an estimator with predict_proba only: the positive-class column is used
    nb = GaussianNB().fit(X[:150], y[:150])
    assert r50_scorer(nb, Xt, yt) == pytest.approx(r50(yt, nb.predict_proba(Xt)[:, 1]))


def test_grid_search_with_r50_scorer():
    X, y, _ = _toy_xy()
    gs = GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, scoring=r50_scorer, cv=3)
    gs.fit(X, y)
    scores = gs.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores > 1)
    assert gs.best_score_ == pytest.approx(scores.max())
    for scorer in (max_sic_scorer, best_ams_scorer, get_scorer("max_sic")):
        cv = cross_val_score(LogisticRegression(), X, y, scoring=scorer, cv=3)
        assert np.all(np.isfinite(cv))


def test_sample_weight_routing_changes_score():
    X, y, rng = _toy_xy(seed=9)
    w = rng.uniform(0.1, 3.0, y.size)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = get_scorer("r50").set_score_request(sample_weight=True)
        est = LogisticRegression().set_fit_request(sample_weight=False)
        weighted = cross_validate(est, X, y, scoring=scorer, cv=3, params={"sample_weight": w})
        unit = cross_validate(
            est, X, y, scoring=scorer, cv=3, params={"sample_weight": np.ones(y.size)}
        )
        plain = cross_validate(est, X, y, scoring=scorer, cv=3)
    np.testing.assert_allclose(unit["test_score"], plain["test_score"])
    assert not np.allclose(weighted["test_score"], plain["test_score"])


def test_get_scorer_copies_and_falls_back():
    s = get_scorer("r50")
    assert s is not r50_scorer
    assert repr(s) == repr(r50_scorer)
    assert repr(get_scorer("best_ams")) == repr(best_ams_scorer)
    assert get_scorer("roc_auc")._score_func.__name__ == "roc_auc_score"
    with pytest.raises(ValueError):
        get_scorer("no_such_scorer")
    # the module-level object is untouched by requests on the copy
    before = copy.deepcopy(r50_scorer.get_metadata_routing().score.requests)
    with sklearn.config_context(enable_metadata_routing=True):
        get_scorer("r50").set_score_request(sample_weight=True)
    assert r50_scorer.get_metadata_routing().score.requests == before


def test_purity_scorer_pdg_labels():
    X = np.zeros((4, 1))
    y = np.array([211, 211, 211, 321])
    clf = DummyClassifier(strategy="most_frequent").fit(X, y)
    assert purity_scorer(211)(clf, X, y) == pytest.approx(0.75)
    assert efficiency_scorer(211)(clf, X, y) == pytest.approx(1.0)


# --------------------------------------------------------------------------- #
# anomaly scorers (outlier detectors: lower score_samples = more abnormal)
# --------------------------------------------------------------------------- #
def _outliers(n=400, n_out=40, seed=10):
    """Background N(0, 1) in 3-D and a few far-away anomalies (y = 1)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n, 3)), rng.normal(0, 1, (n_out, 3)) + 5.0])
    y = np.r_[np.zeros(n, dtype=int), np.ones(n_out, dtype=int)]
    order = rng.permutation(y.size)
    return X[order], y[order], rng


def test_anomaly_scorer_handles_the_sign():
    X, y, _ = _outliers()
    iso = IsolationForest(n_estimators=50, random_state=0).fit(X)
    # the plain scorer rates decision_function the wrong way round
    assert roc_auc_score(y, iso.decision_function(X)) < 0.1
    assert get_scorer("roc_auc")(iso, X, y) < 0.1
    auc = anomaly_scorer()(iso, X, y)
    assert auc > 0.9
    assert auc == pytest.approx(roc_auc_score(y, -iso.score_samples(X)))
    np.testing.assert_allclose(anomaly_score(iso, X), -iso.score_samples(X))
    s = anomaly_score(iso, X)
    assert get_scorer("anomaly_max_sic")(iso, X, y) == pytest.approx(max_sic(y, s))
    for name, eff in [
        ("anomaly_r50", 0.5),
        ("anomaly_rejection_10", 0.1),
        ("anomaly_rejection_30", 0.3),
    ]:
        assert get_scorer(name)(iso, X, y) == pytest.approx(
            background_rejection(y, s, signal_efficiency=eff)
        )
    floor = anomaly_scorer("max_sic", min_background_efficiency=0.05)(iso, X, y)
    assert floor == pytest.approx(max_sic(y, s, min_background_efficiency=0.05))
    # bool labels and a pandas Series are fine
    assert anomaly_scorer()(iso, X, y.astype(bool)) == pytest.approx(auc)
    assert anomaly_scorer()(iso, X, pd.Series(y)) == pytest.approx(auc)


class _DecisionOnly(OutlierMixin, BaseEstimator):
    """An outlier detector with decision_function only (score_samples - 3)."""

    def fit(self, X, y=None):
        self.iso_ = IsolationForest(n_estimators=30, random_state=0).fit(X)
        return self

    def decision_function(self, X):
        return self.iso_.score_samples(X) - 3.0

    def predict(self, X):
        return np.where(self.decision_function(X) < 0, -1, 1)


def test_anomaly_score_falls_back_to_decision_function_and_takes_densities():
    X, y, _ = _outliers()
    det = _DecisionOnly().fit(X)
    assert anomaly_response_method(det) == "decision_function"
    np.testing.assert_allclose(anomaly_score(det, X), 3.0 - det.iso_.score_samples(X))
    assert anomaly_scorer()(det, X, y) == pytest.approx(anomaly_scorer()(det.iso_, X, y))
    # a density estimator: score_samples is a log-density, lower = more abnormal
    kde = KernelDensity(bandwidth=0.5).fit(X[y == 0])
    assert anomaly_scorer()(kde, X, y) > 0.95
    # a Pipeline ending in a detector
    pipe = make_pipeline(StandardScaler(), IsolationForest(n_estimators=30, random_state=0))
    assert anomaly_scorer()(pipe.fit(X), X, y) > 0.9


def test_anomaly_scorer_refuses_other_estimators():
    X, y, _ = _outliers()
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(TypeError, match="LogisticRegression is a classifier"):
        anomaly_scorer()(clf, X, y)
    with pytest.raises(TypeError, match="regressor"):
        anomaly_score(LinearRegression().fit(X, y), X)
    with pytest.raises(TypeError, match="neither score_samples nor decision_function"):
        anomaly_score(KMeans(n_clusters=2, n_init=1).fit(X), X)
    with pytest.raises(TypeError, match="novelty=True"):
        anomaly_response_method(LocalOutlierFactor())


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (lambda y: np.zeros_like(y), "only background"),
        (lambda y: np.ones_like(y), "only anomalies"),
        (lambda y: 2 * y - 1, "-1/\\+1 of an outlier detector's predict"),
        (lambda y: y + 1, "got values"),
        (lambda y: np.where(y == 1, "sig", "bkg"), "got values"),
        (lambda y: y[:-1], "Inconsistent"),
    ],
)
def test_anomaly_scorer_bad_labels(y, match):
    X, y_ok, _ = _outliers(n=60, n_out=6)
    iso = IsolationForest(n_estimators=10, random_state=0).fit(X)
    with pytest.raises(ValueError, match=match):
        anomaly_scorer()(iso, X, y(y_ok))


def test_one_class_fold_says_stratify():
    X, y, _ = _outliers()
    order = np.argsort(y, kind="stable")  # anomalies last: the first KFold folds have none
    with pytest.raises(ValueError, match="StratifiedKFold"):
        cross_val_score(
            IsolationForest(n_estimators=10, random_state=0),
            X[order],
            y[order],
            scoring=get_scorer("anomaly_roc_auc"),
            cv=5,
            error_score="raise",
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(metric="accuracy"), "metric must be one of"),
        (dict(metric="roc_auc", signal_efficiency=0.3), "signal_efficiency"),
        (dict(metric="background_rejection", signal_efficiency=1.5), "signal_efficiency"),
        (dict(metric="background_rejection", min_background_efficiency=0.1), "max_sic"),
        (dict(metric="max_sic", min_background_efficiency=0.0), r"\(0, 1\]"),
    ],
)
def test_anomaly_scorer_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        anomaly_scorer(**kwargs)


def test_anomaly_scorer_in_grid_search_and_cross_val_score():
    X, y, _ = _outliers(n=300, n_out=30)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    gs = GridSearchCV(
        IsolationForest(n_estimators=20, random_state=0),
        {"max_samples": [8, 64]},
        scoring=get_scorer("anomaly_roc_auc"),
        cv=cv,
        error_score="raise",
    )
    gs.fit(X, y)  # the detector ignores y; the scorer reads it
    scores = gs.cv_results_["mean_test_score"]
    assert np.all(scores > 0.9)
    assert gs.best_score_ == pytest.approx(scores.max())
    cvs = cross_val_score(
        IsolationForest(n_estimators=20, random_state=0),
        X,
        y,
        scoring=anomaly_scorer("max_sic"),
        cv=cv,
        error_score="raise",
    )
    assert np.all(cvs > 1)
    # several anomaly scorers at once (the response cache of multi-metric scoring)
    res = cross_validate(
        IsolationForest(n_estimators=20, random_state=0),
        X,
        y,
        scoring={"auc": anomaly_scorer(), "r30": get_scorer("anomaly_rejection_30")},
        cv=cv,
        error_score="raise",
    )
    np.testing.assert_allclose(
        res["test_auc"],
        cross_val_score(
            IsolationForest(n_estimators=20, random_state=0), X, y, scoring=anomaly_scorer(), cv=cv
        ),
    )
    assert np.all(res["test_r30"] > 1)


def test_anomaly_scorer_sample_weight():
    X, y, rng = _outliers(n=300, n_out=60)
    iso = IsolationForest(n_estimators=20, random_state=0).fit(X)
    w = rng.uniform(0.1, 3.0, y.size)
    s = anomaly_score(iso, X)
    # called directly
    scorer = anomaly_scorer()
    assert scorer(iso, X, y, sample_weight=w) == pytest.approx(roc_auc_score(y, s, sample_weight=w))
    assert scorer(iso, X, y, sample_weight=w) != pytest.approx(scorer(iso, X, y))
    # routed in a search: request the weights on the scorer, not on the detector's fit
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        sc = get_scorer("anomaly_roc_auc").set_score_request(sample_weight=True)
        est = IsolationForest(n_estimators=20, random_state=0).set_fit_request(sample_weight=False)
        weighted = cross_validate(est, X, y, scoring=sc, cv=cv, params={"sample_weight": w})
        plain = cross_validate(est, X, y, scoring=sc, cv=cv)
        gs = GridSearchCV(est, {"max_samples": [16, 64]}, scoring=sc, cv=cv, error_score="raise")
        gs.fit(X, y, sample_weight=w)
    folds = list(cv.split(X, y))
    expected = []
    for train, test in folds:
        fitted = IsolationForest(n_estimators=20, random_state=0).fit(X[train])
        expected.append(
            roc_auc_score(y[test], anomaly_score(fitted, X[test]), sample_weight=w[test])
        )
    np.testing.assert_allclose(weighted["test_score"], expected)
    assert not np.allclose(weighted["test_score"], plain["test_score"])
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    # the request was made on a copy: the next copy has none
    assert hasattr(sc, "_metadata_request")
    assert not hasattr(get_scorer("anomaly_roc_auc"), "_metadata_request")
