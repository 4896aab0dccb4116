import warnings

import numpy as np
import pandas as pd
import pytest
import xgboost
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.utils.class_weight import compute_sample_weight

from skhep_ml.baselines import (
    DEFAULT_SPECIES_SUFFIX,
    NSigmaClassifier,
    RandomForestBaseline,
    XGBoostBaseline,
    pdg_charge,
)

FAST = {
    "rf": RandomForestBaseline(n_estimators=30, n_jobs=1, random_state=0),
    "xgb": XGBoostBaseline(n_estimators=50, n_jobs=1, random_state=0),
}


def make_missing_informative(n=600, seed=0):
    """Class 1 iff x0 is missing; x0 itself is noise, x1 is noise."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = rng.randint(0, 2, size=n)
    X[y == 1, 0] = np.nan
    return X, y


def make_noisy(n=600, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 2.0 * rng.normal(size=n) > 0).astype(int)
    return X, y


# -- tree models -------------------------------------------------------------


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_nan_rows_get_predictions_and_missingness_is_used(name):
    X, y = make_missing_informative(seed=0)
    X_test, y_test = make_missing_informative(seed=1)
    clf = clone(FAST[name]).fit(X, y)
    proba = clf.predict_proba(X_test)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0)
    nan_rows = np.isnan(X_test[:, 0])
    assert nan_rows.any()
    # only the missingness of x0 carries information: the models must route
    # the NaN rows down their own (learned missing) branch
    y_pred = clf.predict(X_test)
    assert np.mean(y_pred[nan_rows] == y_test[nan_rows]) > 0.95
    assert np.mean(y_pred[~nan_rows] == y_test[~nan_rows]) > 0.95


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_sample_weight_changes_the_fit(name):
    X, y = make_noisy(n=300)
    weights = np.where(y == 1, 10.0, 1.0)
    plain = clone(FAST[name]).fit(X, y)
    weighted = clone(FAST[name]).fit(X, y, sample_weight=weights)
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_random_state_reproduces(name):
    X, y = make_noisy(n=300)
    params = {"subsample": 0.5} if name == "xgb" else {}
    est = clone(FAST[name]).set_params(**params)
    a = clone(est).set_params(random_state=3).fit(X, y).predict_proba(X)
    b = clone(est).set_params(random_state=3).fit(X, y).predict_proba(X)
    c = clone(est).set_params(random_state=4).fit(X, y).predict_proba(X)
    assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_pandas_feature_names_and_importances(name):
    X, y = make_noisy(n=300)
    y = (X[:, 2] > 0).astype(int)  # only "c" matters
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = clone(FAST[name]).fit(df, y)
    assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.n_features_in_ == 4
    importances = clf.feature_importances_
    assert importances.shape == (4,)
    assert_allclose(importances.sum(), 1.0)
    assert np.argmax(importances) == 2
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[["d", "c", "b", "a"]])


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_negative_sample_weight_is_refused(name):
    X, y = make_noisy(n=100)
    weights = np.ones(100)
    weights[0] = -0.5
    with pytest.raises(ValueError, match="negative sample weights"):
        clone(FAST[name]).fit(X, y, sample_weight=weights)


def test_xgboost_itself_refuses_negative_weights():
    # documents why XGBoostBaseline raises: XGBoost rejects them
    X, y = make_noisy(n=50)
    weights = np.ones(50)
    weights[0] = -1.0
    with pytest.raises(xgboost.core.XGBoostError, match="Weights must be positive"):
        xgboost.XGBClassifier(n_estimators=2, n_jobs=1).fit(X, y, sample_weight=weights)


# -- XGBoostBaseline ------------------------------------------------------------


def test_xgb_early_stopping_stops_and_predicts_with_best_iteration():
    X, y = make_noisy(n=600)
    clf = XGBoostBaseline(
        n_estimators=500, learning_rate=0.3, early_stopping_rounds=10, n_jobs=1, random_state=0
    ).fit(X, y)
    assert clf.early_stopping_used_
    assert clf.best_iteration_ < 499
    # XGBoost keeps the rounds after the best one...
    n_rounds = clf.booster_.num_boosted_rounds()
    assert n_rounds == clf.best_iteration_ + 1 + 10
    losses = clf.evals_result_["validation_0"]["logloss"]
    assert len(losses) == n_rounds
    assert np.argmin(losses) == clf.best_iteration_
    # ...but predicts with rounds 0..best_iteration_ only
    dmatrix = xgboost.DMatrix(X.astype(np.float32))
    best = clf.booster_.predict(dmatrix, iteration_range=(0, clf.best_iteration_ + 1))
    every_round = clf.booster_.predict(dmatrix)
    assert_allclose(clf.predict_proba(X)[:, 1], best, rtol=1e-5)
    assert not np.allclose(best, every_round, rtol=1e-5)


def test_xgb_without_validation_uses_every_round():
    X, y = make_noisy(n=200)
    clf = XGBoostBaseline(n_estimators=15, validation_fraction=None, n_jobs=1).fit(X, y)
    assert not clf.early_stopping_used_
    assert clf.best_iteration_ == 14
    assert clf.booster_.num_boosted_rounds() == 15
    assert clf.evals_result_ == {}


@pytest.mark.parametrize("y", [[0, 0, 0, 1, 1, 1, 1, 1, 1, 2], [0, 1] * 5])
def test_xgb_too_small_for_a_stratified_split_trains_without_early_stopping(y):
    # a class with a single row, or fewer validation rows (1) than classes
    X = np.arange(20, dtype=float).reshape(10, 2)
    clf = XGBoostBaseline(n_estimators=5, n_jobs=1, random_state=0).fit(X, y)
    assert not clf.early_stopping_used_
    assert clf.best_iteration_ == 4
    assert clf.predict(X).shape == (10,)


def test_xgb_zero_weight_rows_change_nothing():
    X, y = make_noisy(n=300)
    X_extra, y_extra = make_noisy(n=40, seed=5)
    est = XGBoostBaseline(n_estimators=40, n_jobs=1, random_state=0)
    reference = clone(est).fit(X, y)
    padded = clone(est).fit(
        np.vstack([X, X_extra]),
        np.concatenate([y, y_extra]),
        sample_weight=np.concatenate([np.ones(300), np.zeros(40)]),
    )
    assert reference.early_stopping_used_ and padded.early_stopping_used_
    assert_array_equal(reference.predict_proba(X_extra), padded.predict_proba(X_extra))


def test_xgb_class_without_weight_is_refused():
    X, y = make_noisy(n=100)
    with pytest.raises(ValueError, match=r"class 0 sums to 0"):
        XGBoostBaseline(n_estimators=3, n_jobs=1).fit(X, y, sample_weight=y.astype(float))


def test_xgb_balanced_class_weight_is_compute_sample_weight():
    X, y = make_noisy(n=300)
    y = np.where(X[:, 1] > 1.0, 1, 0)  # imbalanced
    est = XGBoostBaseline(n_estimators=20, n_jobs=1, random_state=0)
    balanced = clone(est).set_params(class_weight="balanced").fit(X, y)
    manual = clone(est).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    plain = clone(est).fit(X, y)
    assert_allclose(balanced.predict_proba(X), manual.predict_proba(X))
    assert balanced.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


def test_xgb_multiclass_string_labels():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = np.array(["pion", "kaon", "proton"])[np.argmax(X, axis=1)]
    X[::7, 1] = np.nan
    clf = XGBoostBaseline(n_estimators=30, n_jobs=1, random_state=0).fit(X, y)
    assert_array_equal(clf.classes_, ["kaon", "pion", "proton"])
    assert clf.estimator_.get_params()["objective"] == "multi:softprob"
    assert "mlogloss" in clf.evals_result_["validation_0"]
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.mean(clf.predict(X) == y) > 0.9


# -- NSigmaClassifier -------------------------------------------------------------


def tracks(**columns):
    """A track table with every nσ column at 10 (far from all hypotheses)."""
    n = len(next(iter(columns.values())))
    data = {"pt": np.full(n, 1.0), "sign": np.ones(n)}
    for suffix in DEFAULT_SPECIES_SUFFIX.values():
        data[f"nsigma_tpc_{suffix}"] = np.full(n, 10.0)
        data[f"nsigma_tof_{suffix}"] = np.full(n, 10.0)
    data.update({key: np.asarray(value, dtype=float) for key, value in columns.items()})
    return pd.DataFrame(data)


PDG = [11, -11, 211, -211, 321, -321, 2212, -2212]


def fitted(**params):
    X = tracks(pt=[1.0] * 8)
    return NSigmaClassifier(**params).fit(X, PDG)


def column(pid, pdg):
    return list(pid.classes_).index(pdg)


def test_pdg_charge():
    assert [pdg_charge(p) for p in PDG] == [-1, 1, 1, -1, 1, -1, 1, -1]


def test_pion_is_predicted_with_the_right_charge():
    pid = fitted()
    X = tracks(
        sign=[1, -1],
        nsigma_tpc_pi=[0.4, -0.3],
        nsigma_tof_pi=[0.2, 0.5],
        nsigma_tpc_ka=[2.0, 2.0],
        nsigma_tof_ka=[2.0, 2.0],
    )
    assert_array_equal(pid.predict(X), [211, -211])
    d = pid.distance(X)
    assert_allclose(d[0, column(pid, 211)], np.hypot(0.4, 0.2), rtol=1e-6)
    assert np.isinf(d[0, column(pid, -211)])  # wrong charge
    assert np.isinf(d[1, column(pid, 211)])
    assert_allclose(d[0, column(pid, 321)], np.hypot(2.0, 2.0), rtol=1e-6)


def test_electron_charge_is_opposite_to_its_pdg_sign():
    pid = fitted()
    X = tracks(sign=[-1, 1], nsigma_tpc_e=[0.1, 0.1], nsigma_tof_e=[0.1, 0.1])
    assert_array_equal(pid.predict(X), [11, -11])


def test_tof_is_used_only_above_pt_switch():
    pid = fitted(pt_switch=0.5)
    X = tracks(pt=[0.3, 0.49, 0.5, 2.0], nsigma_tpc_pi=[1.0] * 4, nsigma_tof_pi=[10.0] * 4)
    d = pid.distance(X)[:, column(pid, 211)]
    assert_allclose(d, [1.0, 1.0, np.hypot(1, 10), np.hypot(1, 10)], rtol=1e-6)
    assert_array_equal(pid.select(X)[:, column(pid, 211)], [True, True, False, False])


def test_missing_tof_falls_back_to_tpc():
    pid = fitted()
    X = tracks(pt=[2.0, 2.0], nsigma_tpc_ka=[-1.5, -1.5], nsigma_tof_ka=[np.nan, 15.0])
    d = pid.distance(X)[:, column(pid, 321)]
    assert_allclose(d, [1.5, np.hypot(1.5, 15.0)], rtol=1e-6)
    # the other positive hypotheses are at 10√2 ≈ 14.1 < 15.1
    assert_array_equal(pid.predict(X) == 321, [True, False])


def test_nan_tpc_means_no_hypothesis_and_uniform_proba():
    pid = fitted()
    X = tracks(nsigma_tpc_pi=[np.nan])
    assert np.isinf(pid.distance(X)[0, column(pid, 211)])
    everything_missing = tracks(sign=[np.nan])  # no charge: nothing compatible
    assert np.isinf(pid.distance(everything_missing)).all()
    assert_allclose(pid.predict_proba(everything_missing), np.full((1, 8), 1 / 8))


def test_select_cut_boundaries():
    pid = fitted(cut=3.0)
    X = tracks(pt=[0.2, 0.2, 0.2, 0.2], nsigma_tpc_pr=[2.99, 3.0, -3.0, 3.01])
    assert_array_equal(pid.select(X)[:, column(pid, 2212)], [True, False, False, False])
    # TPC ⊕ TOF: 3-4-5
    pid = fitted(cut=5.0)
    X = tracks(pt=[1.0, 1.0], nsigma_tpc_pr=[3.0, 3.0], nsigma_tof_pr=[4.0, 3.99])
    assert_array_equal(pid.select(X)[:, column(pid, 2212)], [False, True])
    assert pid.select(X).shape == (2, 8)


def test_a_track_may_pass_several_or_no_selection():
    pid = fitted()
    X = tracks(nsigma_tpc_pi=[1.0, 9.0], nsigma_tof_pi=[1.0, 9.0], nsigma_tpc_ka=[2.0, 9.0],
               nsigma_tof_ka=[np.nan, 9.0])  # fmt: skip
    selected = pid.select(X)
    assert selected[0].sum() == 2
    assert selected[1].sum() == 0


def test_scores_are_consistent():
    pid = fitted()
    rng = np.random.RandomState(0)
    X = tracks(
        sign=rng.choice([-1.0, 1.0], 50),
        pt=rng.uniform(0.1, 3, 50),
        nsigma_tpc_pi=rng.normal(0, 3, 50),
        nsigma_tof_pi=np.where(rng.rand(50) < 0.3, np.nan, rng.normal(0, 3, 50)),
        nsigma_tpc_ka=rng.normal(0, 3, 50),
    )
    proba = pid.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    d = pid.distance(X)
    assert_array_equal(pid.predict(X), pid.classes_[np.argmax(proba, axis=1)])
    assert_array_equal(pid.decision_function(X), -d)
    finite = np.isfinite(d)
    expected = np.where(finite, np.exp(-0.5 * np.where(finite, d, 0) ** 2), 0.0)
    assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), atol=1e-12)


def test_binary_decision_function_follows_sklearn_convention():
    X = tracks(pt=[0.2] * 3, nsigma_tpc_pi=[0.5, 2.0, np.nan], nsigma_tpc_ka=[2.0, 0.5, np.nan])
    pid = NSigmaClassifier().fit(X, [211, 321, 211])
    score = pid.decision_function(X)
    assert score.shape == (3,)
    assert_allclose(score, [-1.5, 1.5, 0.0])  # d(pi) - d(K); both inf -> 0
    assert_array_equal(pid.predict(X), pid.classes_[(score > 0).astype(int)])


def test_missing_columns_are_named():
    X = tracks(pt=[1.0, 1.0]).drop(columns=["nsigma_tof_ka", "pt"])
    with pytest.raises(ValueError, match=r"\['nsigma_tof_ka', 'pt'\] not found.*nsigma_tof=None"):
        NSigmaClassifier().fit(X, [321, 211])
    pid = NSigmaClassifier(nsigma_tof=None).fit(X, [321, 211])
    assert_array_equal(pid.tof_columns_, [-1, -1])
    assert pid.pt_column_ == -1


def test_numpy_input_needs_positions():
    X = tracks(pt=[1.0, 1.0], sign=[1.0, -1.0], nsigma_tpc_pi=[0.1, 0.1])
    with pytest.raises(ValueError, match="no column names"):
        NSigmaClassifier().fit(X.to_numpy(), [211, -211])
    names = list(X.columns)
    pid = NSigmaClassifier(
        nsigma_tpc={211: names.index("nsigma_tpc_pi"), 321: names.index("nsigma_tpc_ka")},
        nsigma_tof={211: names.index("nsigma_tof_pi")},
        pt=names.index("pt"),
        charge=names.index("sign"),
    ).fit(X.to_numpy(), [211, -211])
    assert_array_equal(pid.predict(X.to_numpy()), [211, -211])
    assert_allclose(pid.distance(X.to_numpy()).min(axis=1), np.hypot(0.1, 10))


def test_unknown_labels_are_never_predicted():
    X = tracks(pt=[1.0, 1.0, 1.0], nsigma_tpc_pi=[0.1, 0.1, 0.1], nsigma_tof_pi=[0.1] * 3)
    with pytest.warns(UserWarning, match="never predicted"):
        pid = NSigmaClassifier().fit(X, [211, 1000010020, 999])
    assert np.isnan(pid.class_charge_[column(pid, 999)])
    assert set(pid.predict(tracks(pt=np.linspace(0.1, 3, 20)))) <= {211}
    with pytest.warns(UserWarning, match="uniform"):
        constant = NSigmaClassifier().fit(np.zeros((4, 2)), [0, 1, 2, 2])
    assert_allclose(constant.predict_proba(np.ones((3, 2))), np.full((3, 3), 1 / 3))


def test_custom_species_suffix_is_not_mutated():
    suffixes = {13: "mu", 211: "pi"}
    X = tracks(sign=[1.0, 1.0], nsigma_tpc_pi=[5.0, 0.1], nsigma_tof_pi=[5.0, 0.1])
    X["nsigma_tpc_mu"] = [0.1, 5.0]
    X["nsigma_tof_mu"] = [0.1, 5.0]
    pid = NSigmaClassifier(species_suffix=suffixes).fit(X, [-13, 211])
    assert pid.species_suffix is suffixes
    assert suffixes == {13: "mu", 211: "pi"}
    assert_array_equal(pid.predict(X), [-13, 211])  # mu+ is -13
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NSigmaClassifier(species_suffix=suffixes).fit(X, [-13, 211])


def test_sample_weight_is_accepted_and_unused():
    X = tracks(pt=[1.0, 1.0], nsigma_tpc_pi=[0.1, 0.1])
    a = NSigmaClassifier().fit(X, [211, 321]).predict_proba(X)
    b = NSigmaClassifier().fit(X, [211, 321], sample_weight=[1.0, 5.0]).predict_proba(X)
    assert_array_equal(a, b)


def test_missing_column_is_named_once_for_both_charges():
    X = tracks(pt=[1.0, 1.0]).drop(columns=["nsigma_tpc_pr"])
    with pytest.raises(ValueError, match=r"column\(s\) \['nsigma_tpc_pr'\] not found"):
        NSigmaClassifier().fit(X, [2212, -2212])
