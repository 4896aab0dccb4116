import _thread
import threading
import time

import numpy as np
import pandas as pd
import pytest
import xgboost
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.class_weight import compute_sample_weight

from skhep_ml.baselines import RandomForestBaseline, XGBoostBaseline

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


# Passes once the lead's change is merged: validate_fit_data(..., classifier=True)
# refuses a class whose total sample_weight is not positive (RandomForestBaseline
# has no check of its own; XGBoostBaseline's own check would also catch it).
@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_class_of_zero_weight_is_refused(name):
    X, y = make_noisy(n=100)
    with pytest.raises(ValueError, match="weight"):
        clone(FAST[name]).fit(X, y, sample_weight=(y == 1).astype(float))


@pytest.mark.parametrize("name", ["rf", "xgb"])
def test_a_failed_refit_forgets_the_earlier_fit(name):
    X, y = make_noisy(n=100)
    clf = clone(FAST[name]).fit(X, y)
    weights = np.ones(100)
    weights[0] = -1.0
    with pytest.raises(ValueError, match="negative sample weights"):
        clf.fit(X, y, sample_weight=weights)
    assert not [key for key in vars(clf) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X)


SLOW_RF = RandomForestBaseline(n_estimators=10_000, n_jobs=1, random_state=0)
SLOW_XGB = XGBoostBaseline(n_estimators=100_000, learning_rate=0.01, n_jobs=1, random_state=0)


@pytest.mark.parametrize(
    ("slow_fit", "delay"),
    [
        (SLOW_RF, 0.5),
        # early: in the validation split or while XGBoost builds its QuantileDMatrix
        # through Python callbacks, where a KeyboardInterrupt is lost, turns into an
        # XGBoostError or aborts the interpreter (which of the delays lands there
        # depends on the machine)
        *[(SLOW_XGB, delay) for delay in (0.05, 0.15, 0.25, 0.35)],
        (clone(SLOW_XGB).set_params(validation_fraction=None), 0.5),  # while boosting
        # while boosting and evaluating on the validation set
        (clone(SLOW_XGB).set_params(early_stopping_rounds=None), 1.0),
    ],
    ids=["rf", "xgb-0.05s", "xgb-0.15s", "xgb-0.25s", "xgb-0.35s", "xgb", "xgb-validation"],
)
def test_interrupted_fit_reraises_and_leaves_the_estimator_unfitted(slow_fit, delay):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50_000, 8))
    y = (X[:, 0] + rng.normal(size=50_000) > 0).astype(int)
    # fitted once before: the interrupted refit must not leave that fit behind either
    clf = clone(slow_fit).set_params(n_estimators=3).fit(X[:1000], y[:1000])
    clf.set_params(n_estimators=slow_fit.n_estimators)  # minutes to fit in full
    timer = threading.Timer(delay, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 20  # stopped by the interrupt, not finished
    assert not [key for key in vars(clf) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X[:5])


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


def test_xgb_class_without_weight_after_class_weight_is_refused():
    X, y = make_noisy(n=100)
    est = XGBoostBaseline(n_estimators=3, n_jobs=1, class_weight={0: 0.0, 1: 1.0})
    with pytest.raises(ValueError, match=r"class_weight\) in every class; class\(es\) \[0\]"):
        est.fit(X, y)


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
