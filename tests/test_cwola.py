"""CWoLaClassifier, the dijet background fit, the local significance and the generator."""

import _thread
import pickle
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from skhep_ml import CWoLaClassifier, DNNClassifier
from skhep_ml.baselines import XGBoostBaseline
from skhep_ml.bump_hunt import bump_hunt
from skhep_ml.cwola import (
    BumpHuntResult,
    MassCorrelationWarning,
    fit_dijet_background,
    local_significance,
)
from skhep_ml.datasets import DIJET_FEATURE_NAMES, make_dijet_resonance
from skhep_ml.stats import dijet_bin_counts

SR = (3.3, 3.7)


def _xgb():
    # (HistGradientBoostingClassifier bins weighted data slowly: about 1 s per fit)
    return XGBoostBaseline(n_estimators=30, n_jobs=1, random_state=0)


class Memorizer(ClassifierMixin, BaseEstimator):
    """Says 1 for a row it was trained on, 0 for any other row."""

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        self.seen_ = {row.tobytes() for row in np.asarray(X)}
        self.sample_weight_ = None if sample_weight is None else np.asarray(sample_weight)
        return self

    def predict_proba(self, X):
        s = np.array([row.tobytes() in self.seen_ for row in np.asarray(X)], dtype=float)
        return np.c_[1.0 - s, s]


@pytest.fixture(scope="module")
def dijet():
    return make_dijet_resonance(6000, 600, mjj_range=(2.8, 4.4), random_state=0)


@pytest.fixture(scope="module")
def fitted(dijet):
    X, _ = dijet
    return CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0).fit(X)


# --------------------------------------------------------------------------- #
# out-of-fold scores
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("mode", ["mass", "labels"])
def test_oof_scores_never_come_from_a_model_that_trained_on_the_event(dijet, mode):
    X, y = dijet
    clf = CWoLaClassifier(estimator=Memorizer(), n_folds=4, random_state=0)
    if mode == "mass":
        clf.set_params(signal_region=SR, sideband_width=0.2).fit(X)
    else:
        clf.fit(X, y)
    # the memorizer scores 1 exactly on the rows it saw: out of fold it must see none
    assert_array_equal(clf.oof_scores_, 0.0)
    trained = clf.mixed_labels_ >= 0
    # ... while every trained-on row was seen by some model (the test can fail)
    assert np.all(clf.predict_proba(X)[trained, 1] > 0)
    assert np.all(clf.predict_proba(X)[~trained, 1] == 0)
    # each row is in the training set of (n_folds - 1) * (n_folds - 2) of the 12 models
    assert_allclose(clf.predict_proba(X)[trained, 1], 6 / 12)
    # and the ensemble of a fold holds n_folds - 1 models
    assert [len(e) for e in clf.estimators_] == [3, 3, 3, 3]


def test_validation_fold_is_not_trained_on(dijet):
    X, y = dijet
    clf = CWoLaClassifier(estimator=Memorizer(), n_folds=3, random_state=1).fit(X, y)
    # a memorizer never saw its validation fold: it predicts 0 there, so the
    # validation log-loss is that of p(1) = 0 for class-1 events: large
    assert np.all(clf.validation_loss_[~np.eye(3, dtype=bool)] > 1.0)
    assert np.all(np.isnan(np.diag(clf.validation_loss_)))


# --------------------------------------------------------------------------- #
# mixed samples from the mass
# --------------------------------------------------------------------------- #
def test_mixed_labels_and_balanced_sideband_weights(dijet, fitted):
    X, _ = dijet
    m = X.mjj.to_numpy(np.float32)
    labels, w = fitted.mixed_labels_, fitted.mixed_weights_
    assert_array_equal(labels[(m >= 3.3) & (m < 3.7)], 1)
    low, high = (m >= 2.9) & (m < 3.3), (m >= 3.7) & (m < 4.1)  # width = SR width
    assert_array_equal(labels[low | high], 0)
    assert_array_equal(labels[(m < 2.9) | (m >= 4.1)], -1)
    assert_array_equal(w[labels == -1], 0.0)
    sr_total = w[labels == 1].sum()
    assert_allclose([w[low].sum(), w[high].sum()], [sr_total / 2, sr_total / 2], rtol=1e-6)
    assert_array_equal(fitted.classes_, [0, 1])


def test_user_weights_multiply_the_balancing_weights(dijet):
    X, _y = dijet
    sw = np.where(X.mjj < 3.5, 2.0, 1.0)
    clf = CWoLaClassifier(signal_region=SR, estimator=Memorizer(), n_folds=3, random_state=0)
    clf.fit(X, sample_weight=sw)
    # within the signal region the weights are the user weights, unchanged
    sr = clf.mixed_labels_ == 1
    assert_allclose(clf.mixed_weights_[sr], sw[sr])
    # and the inner models receive exactly mixed_weights_ on their rows
    model = clf.estimators_[0][0]
    assert np.isin(model.sample_weight_, clf.mixed_weights_[clf.mixed_labels_ >= 0]).all()
    assert_allclose(model.sample_weight_.sum(), clf.mixed_weights_.sum() / 3, rtol=0.1)


def test_plain_cwola_balances_the_classes(dijet):
    X, y = dijet
    clf = CWoLaClassifier(estimator=Memorizer(), n_folds=3).fit(X, y.map({0: "bkg", 1: "sig"}))
    assert_array_equal(clf.classes_, ["bkg", "sig"])
    w = clf.mixed_weights_
    assert_allclose(w[clf.mixed_labels_ == 0].sum(), w[clf.mixed_labels_ == 1].sum())
    assert set(clf.predict(X)) <= {"bkg", "sig"}


def test_mass_is_never_an_input(dijet, fitted):
    X, _ = dijet
    assert fitted.mass_index_ == 0
    assert list(fitted.input_features_) == DIJET_FEATURE_NAMES[1:]
    assert fitted.n_features_in_ == 5
    assert all(e.n_features_in_ == 4 for fold in fitted.estimators_ for e in fold)
    # the mass alone tells the mixed samples apart perfectly, but cannot be used:
    # with only noise as input the classifier is at chance level
    rng = np.random.default_rng(0)
    Xn = pd.DataFrame({"noise": rng.normal(size=len(X)), "mjj": X.mjj})
    clf = CWoLaClassifier(signal_region=SR, estimator=LogisticRegression(), n_folds=3).fit(Xn)
    trained = clf.mixed_labels_ >= 0
    auc = roc_auc_score(clf.mixed_labels_[trained], clf.oof_scores_[trained])
    assert abs(auc - 0.5) < 0.03


def test_mass_as_column_index_on_arrays(dijet):
    X, _y = dijet
    clf = CWoLaClassifier(mass=0, signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0)
    clf.fit(X.to_numpy())
    assert clf.mass_index_ == 0 and clf.n_features_in_ == 5
    assert not hasattr(clf, "feature_names_in_")


def test_pandas_feature_names_and_column_order(fitted, dijet):
    X, _ = dijet
    assert list(fitted.feature_names_in_) == DIJET_FEATURE_NAMES
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict_proba(X[X.columns[::-1]])


# --------------------------------------------------------------------------- #
# selection
# --------------------------------------------------------------------------- #
def _top_fraction(scores, reference, efficiency):
    """The cut of select(), written out: keep the ceil(e n) best reference scores."""
    ref = np.sort(scores[reference])[::-1]
    return scores >= ref[int(np.ceil(efficiency * ref.size)) - 1]


def test_select_without_X_cuts_the_oof_scores_per_fold(dijet, fitted):
    _X, y = dijet
    region = fitted.mixed_labels_ >= 0
    for eff in (0.5, 0.1):
        passed = fitted.select(efficiency=eff)
        assert_array_equal(passed, fitted.select(None, eff))
        for k in range(3):
            in_k = fitted.folds_ == k
            assert abs(passed[in_k & region].mean() - eff) < 0.01
            # exactly the cut on the out-of-fold scores, with the fold's own threshold
            expected = _top_fraction(fitted.oof_scores_[in_k], region[in_k], eff)
            assert_array_equal(passed[in_k], expected)
    assert fitted.select(efficiency=1.0).all()
    # CWoLa enriches the signal
    assert y[fitted.select(efficiency=0.05)].mean() > 10 * y.mean()


def test_training_rows_passed_as_X_are_new_data(dijet, fitted):
    """No content matching: X (even the training rows themselves) is scored by all models."""
    X, _ = dijet
    oof_cut = fitted.select(efficiency=0.1)
    region = fitted.mixed_labels_ >= 0
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    subset = np.sort(rng.choice(len(X), 3000, replace=False))
    for rows in (np.arange(len(X)), perm, subset):
        passed = fitted.select(X.iloc[rows], 0.1)
        in_sample = fitted.predict_proba(X.iloc[rows])[:, 1]
        assert_array_equal(passed, _top_fraction(in_sample, region[rows], 0.1))
        # ... which is not the out-of-fold cut of those rows
        assert (passed != oof_cut[rows]).mean() > 0.005
    # the in-sample scores of the training rows are not their out-of-fold scores
    assert not np.allclose(fitted.predict_proba(X)[:, 1], fitted.oof_scores_)


def test_fit_select_is_fit_then_select_of_the_training_rows(dijet, fitted):
    X, _ = dijet
    passed = clone(fitted).fit_select(X, efficiency=0.1)
    assert_array_equal(passed, fitted.select(efficiency=0.1))
    with pytest.raises(ValueError, match="efficiency"):
        clone(fitted).fit_select(X.iloc[:2000], efficiency=0.0)


def test_select_on_new_data_uses_the_fold_average(fitted):
    X2, _ = make_dijet_resonance(3000, 100, mjj_range=(2.8, 4.4), random_state=5)
    passed = fitted.select(X2, 0.2)
    score = fitted.predict_proba(X2)[:, 1]
    region = ((X2.mjj >= 2.9) & (X2.mjj < 4.1)).to_numpy()
    assert abs(passed[region].mean() - 0.2) < 0.01
    assert_array_equal(passed, score >= score[passed].min())


@pytest.mark.parametrize("eff", [0.0, 1.5, "a", None])
def test_select_rejects_bad_efficiency(fitted, dijet, eff):
    with pytest.raises(ValueError, match="efficiency"):
        fitted.select(dijet[0], eff)
    with pytest.raises(ValueError, match="efficiency"):
        fitted.select(efficiency=eff)


# --------------------------------------------------------------------------- #
# mass-correlation check
# --------------------------------------------------------------------------- #
def test_warns_on_mass_correlated_input(dijet):
    X, _ = dijet
    Xc = X.assign(mj1=X.mj1 + 0.2 * X.mjj)  # a jet mass that grows with mjj
    clf = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0)
    with pytest.warns(MassCorrelationWarning, match="mj1"):
        clf.fit(Xc)
    assert clf.mass_correlation_["mj1"] > 0.2
    assert abs(clf.mass_correlation_["tau21_j1"]) < 0.1


def test_no_warning_on_the_generator(dijet, recwarn):
    X, _ = dijet
    clf = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0).fit(X)
    assert not [w for w in recwarn if issubclass(w.category, MassCorrelationWarning)]
    assert (clf.mass_correlation_.abs() < 0.1).all()


# --------------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------------- #
def test_errors(dijet):
    X, y = dijet
    est = CWoLaClassifier(estimator=_xgb(), n_folds=3)
    with pytest.raises(ValueError, match="signal_region"):
        est.fit(X)
    with pytest.raises(ValueError, match="not a column"):
        clone(est).set_params(mass="m_jj", signal_region=SR).fit(X)
    with pytest.raises(ValueError, match="no column names"):
        clone(est).set_params(signal_region=SR).fit(X.to_numpy())
    with pytest.raises(ValueError, match="requires y"):
        clone(est).set_params(mass=None).fit(X.to_numpy())
    with pytest.raises(ValueError, match="lo < hi"):
        clone(est).set_params(signal_region=(3.7, 3.3)).fit(X)
    with pytest.raises(ValueError, match="high sideband"):
        clone(est).set_params(signal_region=(4.0, 4.4)).fit(X)
    with pytest.raises(ValueError, match="Only binary"):
        est.fit(X, np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="besides the mass"):
        est.fit(X[["mjj"]], y)
    with pytest.raises(ValueError, match="at least n_folds"):
        est.fit(X.iloc[:10], np.r_[np.ones(2), np.zeros(8)])
    with pytest.raises(ValueError, match="sample_weight"):
        CWoLaClassifier(estimator=_NoWeights(), n_folds=3).fit(X, y)


class _NoWeights(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.zeros((len(X), 2))


# --------------------------------------------------------------------------- #
# reproducibility, pickling, the default inner estimator
# --------------------------------------------------------------------------- #
def test_random_state_reproducible_and_pickle(dijet, fitted):
    X, _ = dijet
    again = clone(fitted).fit(X)
    assert_array_equal(again.oof_scores_, fitted.oof_scores_)
    assert_array_equal(again.folds_, fitted.folds_)
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert_array_equal(restored.select(X, 0.1), fitted.select(X, 0.1))
    assert_array_equal(restored.select(efficiency=0.1), fitted.select(efficiency=0.1))


def test_default_inner_estimator_is_boosted_trees_and_the_network_one_parameter_away(dijet):
    base = CWoLaClassifier()._base_estimator()
    assert isinstance(base, HistGradientBoostingClassifier)
    assert base.get_params()["early_stopping"] is True
    X, y = dijet
    dnn = DNNClassifier(hidden_layers=(8,), max_epochs=3, batch_size=256, random_state=0)
    clf = CWoLaClassifier(estimator=dnn, n_folds=3, random_state=0).fit(X.iloc[:1500], y[:1500])
    assert isinstance(clf.estimators_[0][0], DNNClassifier)
    assert clf.estimators_[0][0] is not dnn
    assert clf.predict_proba(X.iloc[:5]).shape == (5, 2)


class _RecordsValidation(HistGradientBoostingClassifier):
    """HistGradientBoosting that keeps the size of the validation set it was given."""

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        self.n_val_ = None if X_val is None else len(X_val)
        return super().fit(
            X, y, sample_weight, X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val
        )


def test_default_trees_stop_early_on_the_validation_fold(dijet):
    X, y = dijet
    inner = _RecordsValidation(max_iter=300, early_stopping=True, random_state=0)
    clf = CWoLaClassifier(estimator=inner, n_folds=3, random_state=0).fit(X, y)
    for _k, models in enumerate(clf.estimators_):
        for model in models:
            # each model early-stopped on its own validation fold (a third of the rows),
            # not on a random tenth of its training folds
            assert model.n_val_ == pytest.approx(len(X) / 3, abs=2)
            assert model.n_iter_ < 300
    # without early stopping nothing is passed
    plain = clone(clf).set_params(estimator=_RecordsValidation(max_iter=5, early_stopping=False))
    assert plain.fit(X, y).estimators_[0][0].n_val_ is None


def test_n_jobs_does_not_change_the_result_and_verbose_shows_fold_progress(dijet, capsys):
    X, _y = dijet
    kw = dict(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0)
    one = CWoLaClassifier(**kw, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "model 6/6 (test fold 2, validation fold 1)" in out
    assert "test fold 3/3 scored out of fold" in out
    two = CWoLaClassifier(**kw, n_jobs=2).fit(X)
    assert_allclose(two.oof_scores_, one.oof_scores_)
    assert_allclose(two.validation_loss_, one.validation_loss_)
    assert one.fit_time_ > 0


def test_n_inits_keeps_the_best_validation_loss(dijet):
    X, y = dijet
    one = CWoLaClassifier(estimator=_xgb(), n_folds=3, random_state=0).fit(X, y)
    three = CWoLaClassifier(estimator=_xgb(), n_folds=3, n_inits=3, random_state=0).fit(X, y)
    assert three.validation_loss_.shape == (3, 3)
    # the same folds; the best of three seeds is never worse than ... some seed:
    # here, on average, not worse than a single seed by more than noise
    off = ~np.eye(3, dtype=bool)
    assert np.nanmean(three.validation_loss_[off]) <= np.nanmean(one.validation_loss_[off]) + 1e-3


# --------------------------------------------------------------------------- #
# Ctrl-C
# --------------------------------------------------------------------------- #
def _timed(cls):
    """``cls`` recording the start time of every fit (the real fit runs)."""

    class Timed(cls):
        starts = []

        def fit(self, X, y, sample_weight=None):
            Timed.starts.append(time.monotonic())
            return super().fit(X, y, sample_weight=sample_weight)

    return Timed


def _interrupt_during(fit, delay):
    """Run ``fit()`` with a Ctrl-C after ``delay`` s; the time the Ctrl-C was sent."""
    fired = []

    def interrupt():
        fired.append(time.monotonic())
        _thread.interrupt_main()

    handler = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(delay, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fit()
    finally:
        timer.cancel()
    assert fired, "the fit ended before the Ctrl-C"
    assert signal.getsignal(signal.SIGINT) is handler  # the Ctrl-C handler is restored
    return fired[0]


def _assert_unfitted(clf, X):
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    with pytest.raises(NotFittedError):
        clf.select(efficiency=0.1)
    assert not [v for v in vars(clf) if v.endswith("_")]


# each inner fit runs for seconds (many slow trees): the Ctrl-C lands in the first one
_LONG_FITS = {
    "xgboost": lambda: _timed(XGBoostBaseline)(
        n_estimators=20_000, learning_rate=1e-3, early_stopping_rounds=None, n_jobs=1
    ),
    "hist_gradient_boosting": lambda: _timed(HistGradientBoostingClassifier)(
        max_iter=20_000, learning_rate=1e-3, early_stopping=False
    ),
}


@pytest.mark.parametrize("inner", list(_LONG_FITS))
def test_ctrl_c_stops_every_fold_and_leaves_it_unfitted(dijet, inner):
    X, _ = dijet
    estimator = _LONG_FITS[inner]()
    clf = CWoLaClassifier(signal_region=SR, estimator=estimator, n_folds=3, random_state=0)
    sent = _interrupt_during(lambda: clf.fit(X), delay=0.5)
    assert time.monotonic() - sent < 5  # it stopped promptly, ...
    starts = type(estimator).starts
    assert len(starts) == 1 and starts[0] < sent  # ... in the first of the 6 models
    _assert_unfitted(clf, X)


class _SwallowsCtrlC(ClassifierMixin, BaseEstimator):
    """Like xgboost building its DMatrix through a ctypes callback: Ctrl-C is lost."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                time.sleep(0.01)
            except KeyboardInterrupt:
                pass
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


def test_ctrl_c_swallowed_by_an_inner_estimator_still_stops_the_fit(dijet):
    X, y = dijet
    clf = CWoLaClassifier(mass=None, estimator=_SwallowsCtrlC(), n_folds=3)
    _interrupt_during(lambda: clf.fit(X, y), delay=0.3)
    assert _SwallowsCtrlC.fits == 1  # the inner fit returned; no other model was started
    _assert_unfitted(clf, X)


def test_a_refit_after_ctrl_c_works(dijet):
    X, y = dijet
    inner = _LONG_FITS["hist_gradient_boosting"]()
    clf = CWoLaClassifier(mass=None, estimator=inner, n_folds=3, random_state=0)
    _interrupt_during(lambda: clf.fit(X, y), delay=0.3)
    clf.set_params(estimator=_xgb()).fit(X.iloc[:2000], y[:2000])
    assert clf.oof_scores_.shape == (2000,) and np.isfinite(clf.oof_scores_).all()


# --------------------------------------------------------------------------- #
# dijet fit and significance
# --------------------------------------------------------------------------- #
def test_dijet_fit_recovers_the_generator_shape():
    edges = np.round(np.arange(2.8, 4.61, 0.1), 3)
    X, _ = make_dijet_resonance(100_000, 0, mjj_range=(2.8, 4.6), random_state=3)
    counts, _ = np.histogram(X.mjj, bins=edges)
    fit = fit_dijet_background(counts, edges, exclude=SR)
    assert fit.success and fit.ndf == counts.size - 4 - 3
    assert fit.chi2 / fit.ndf < 2.5
    err = np.sqrt(np.diag(fit.covariance))
    assert abs(fit.params[1] - 10.0) < 4 * err[1]
    assert abs(fit.params[2] - 5.0) < 4 * err[2]
    b, db = fit.expected(*SR)
    n = counts[5:9].sum()  # bins 3.3-3.7
    assert abs(n - b) < 4 * np.sqrt(b + db**2)
    assert 0 < db < np.sqrt(b)  # a fit of 14 bins knows b better than its Poisson error
    mu, _dmu = fit.expected()
    assert_allclose(mu[~fit.fitted].sum(), b)


def test_dijet_fit_uncertainty_covers_the_truth():
    # pulls of the expected window count over toy spectra drawn from the fit model
    edges = np.linspace(2.8, 4.6, 19)
    truth, _ = dijet_bin_counts(np.array([0.0, 10.0, 5.0]), edges, 13.0)
    truth *= 3000 / truth.sum()
    rng = np.random.default_rng(0)
    pulls = []
    for _ in range(100):
        fit = fit_dijet_background(rng.poisson(truth), edges, exclude=SR)
        b, db = fit.expected(*SR)
        pulls.append((b - truth[5:9].sum()) / db)
    assert abs(np.mean(pulls)) < 0.3
    assert 0.75 < np.std(pulls) < 1.3


def test_dijet_fit_errors():
    edges = np.linspace(2.8, 4.6, 19)
    with pytest.raises(ValueError, match="one more"):
        fit_dijet_background(np.ones(5), edges)
    with pytest.raises(ValueError, match="same units"):
        fit_dijet_background(np.ones(18), edges * 1000)
    with pytest.raises(ValueError, match="bin edges"):
        fit_dijet_background(np.ones(18), edges, exclude=(3.33, 3.7))
    with pytest.raises(ValueError, match="at least 4"):
        fit_dijet_background(np.ones(18), edges, exclude=(2.8, 4.4))


def test_local_significance():
    # without uncertainty: the Poisson likelihood-ratio formula
    n, b = 150.0, 100.0
    assert_allclose(local_significance(n, b), np.sqrt(2 * (n * np.log(n / b) - (n - b))))
    assert local_significance(100, 100, 3) == 0.0
    assert local_significance(80, 100, 3) < 0
    assert local_significance(0, 4.0) == pytest.approx(-np.sqrt(8.0))
    # the fit uncertainty always lowers it, continuously
    z = local_significance(150, 100, np.array([0.0, 1e-4, 5.0, 20.0]))
    assert z[0] == pytest.approx(z[1], rel=1e-4) and z[0] > z[2] > z[3] > 0
    # large counts: close to (n - b) / sqrt(b + sigma^2)
    assert local_significance(1.01e6, 1e6, 1e3) == pytest.approx(1e4 / np.sqrt(2e6), rel=0.01)
    with pytest.raises(ValueError):
        local_significance(1, 0)


# --------------------------------------------------------------------------- #
# the bump hunt
# --------------------------------------------------------------------------- #
# the strong injected signal sits in the sidebands of the off-peak windows and
# correlates its large jet masses with the mass there: the warning is right
@pytest.mark.filterwarnings("ignore::skhep_ml.cwola.MassCorrelationWarning")
def test_bump_hunt_finds_the_injected_resonance(dijet):
    X, _y = make_dijet_resonance(30_000, 1_500, mjj_range=(2.8, 4.6), random_state=1)
    clf = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0)
    edges = np.round(np.arange(2.8, 4.61, 0.1), 3)
    res = clf.bump_hunt(
        X, efficiencies=(1.0, 0.1), bins=edges, windows=[(3.1, 3.5), (3.3, 3.7), (3.9, 4.3)]
    )
    assert len(res.table) == 6 and len(res.estimators) == 3
    t = res.table.set_index(["window_lo", "efficiency"]).significance
    assert t[3.3, 0.1] > 2 * t[3.3, 1.0]
    assert t[3.3, 0.1] > 5
    assert abs(t[3.9, 0.1]) < 3
    assert not hasattr(clf, "estimators_")  # the estimator itself is untouched
    assert res.estimators[1].signal_region == (3.3, 3.7)
    # the spectra: the cut keeps about 10 % in the signal region + sidebands
    s1, s01 = res.spectra[1, 1.0], res.spectra[1, 0.1]
    assert 0.08 < s01[1:12].sum() / s1[1:12].sum() < 0.12
    # ... cut on the out-of-fold scores of the window's classifier
    passed = res.estimators[1].select(efficiency=0.1)
    assert_array_equal(s01, np.histogram(X.mjj[passed], bins=edges)[0])
    assert isinstance(res, BumpHuntResult)
    disp = res.plot()
    assert len(disp.spectra_) == len(res.efficiencies) == len(disp.significance_lines_)


def test_bump_hunt_scan_windows_and_no_cut():
    X, _ = make_dijet_resonance(5000, 0, mjj_range=(2.8, 4.6), random_state=2)
    clf = CWoLaClassifier(sideband_width=0.2)
    res = clf.bump_hunt(X, efficiencies=(1.0,), bins=np.round(np.arange(2.8, 4.61, 0.1), 3))
    # windows of two bins with one 0.2-wide sideband on each side: 3.0-3.2 ... 4.2-4.4
    assert res.windows[0] == pytest.approx((3.0, 3.2)) and res.windows[-1] == pytest.approx(
        (4.2, 4.4)
    )
    assert len(res.windows) == 13 and res.estimators == [None] * 13
    assert (res.table.significance.abs() < 4).all()
    with pytest.raises(ValueError, match="efficiencies"):
        clf.bump_hunt(X, efficiencies=(0.0,))
    with pytest.raises(ValueError, match="mass column"):
        CWoLaClassifier(mass=None).bump_hunt(X)


def test_claim_the_cwola_cut_raises_a_bump_and_makes_none_from_background():
    """The method's claim, small and fast: a 2.5 sigma bump grows past 5 sigma; none is made."""
    edges = np.linspace(2.8, 4.4, 17)
    efficiencies = (1.0, 0.1, 0.03)
    z = {}
    for n_signal in (200, 0):
        X, _ = make_dijet_resonance(20_000, n_signal, mjj_range=(2.8, 4.4), random_state=3)
        clf = CWoLaClassifier(estimator=_xgb(), n_folds=3, random_state=0)
        res = clf.bump_hunt(X, efficiencies, bins=edges, windows=[SR])
        z[n_signal] = res.table.set_index("efficiency").significance
    # injected signal (about 2.5 sigma without a cut): the tight cut doubles it, past 5
    assert 1.5 < z[200][1.0] < 3.5
    assert z[200][0.03] > 2 * z[200][1.0] and z[200][0.03] > 5
    # background only: no bump at any efficiency
    assert (z[0].abs() < 3).all()


def test_bump_hunt_function_on_given_ranks():
    X, _y = make_dijet_resonance(5000, 0, mjj_range=(2.8, 4.4), random_state=0)
    windows = []

    def ranks(lo, hi):
        windows.append((lo, hi))
        return np.linspace(0, 1, len(X), endpoint=False)  # the first events rank highest

    res = bump_hunt(X.mjj, ranks, (1.0, 0.5), np.linspace(2.8, 4.4, 17), windows=[SR])
    assert windows == [SR] and res.estimators == []
    first_half, _ = np.histogram(X.mjj[: len(X) // 2], bins=res.edges)
    assert_array_equal(res.spectra[0, 0.5], first_half)
    with pytest.raises(ValueError, match="needs ranks"):
        bump_hunt(X.mjj, None, (1.0, 0.5))
    with pytest.raises(ValueError, match="bin edges"):
        bump_hunt(X.mjj, None, (1.0,), np.linspace(2.8, 4.4, 17), windows=[(3.33, 3.7)])


# --------------------------------------------------------------------------- #
# generator
# --------------------------------------------------------------------------- #
def test_make_dijet_resonance():
    X, y = make_dijet_resonance(20_000, 2_000, random_state=0)
    assert list(X.columns) == DIJET_FEATURE_NAMES and len(X) == 22_000 and y.sum() == 2_000
    assert X.mjj.between(2.5, 6.0).all() and (X.delta_mj >= 0).all()
    assert X[["tau21_j1", "tau21_j2"]].stack().between(0, 1).all()
    s, b = X[y == 1], X[y == 0]
    assert abs(s.mjj.median() - 3.5) < 0.02
    assert abs(s.mj1.median() - 0.1) < 0.01 and abs((s.mj1 + s.delta_mj).median() - 0.5) < 0.03
    assert s.tau21_j1.median() < 0.4 < 0.6 < b.tau21_j1.median()
    # falling spectrum; features nearly independent of mjj in the background
    counts, _ = np.histogram(b.mjj, bins=np.linspace(2.5, 6.0, 8))
    assert np.all(np.diff(counts) < 0)
    assert b.corr(method="spearman").mjj.drop("mjj").abs().max() < 0.1
    X2, _y2 = make_dijet_resonance(20_000, 2_000, random_state=0)
    pd.testing.assert_frame_equal(X, X2)
    with pytest.raises(ValueError, match="n_signal"):
        make_dijet_resonance(10, -1)
    with pytest.raises(ValueError, match="mjj_range"):
        make_dijet_resonance(10, 0, mjj_range=(2.0, 14.0))
    with pytest.raises(ValueError, match="outside"):
        make_dijet_resonance(10, 5, mjj_range=(4.0, 5.0))


def test_dijet_fit_is_a_falling_spectrum_and_cannot_peak_in_the_window():
    # after a tight cut: almost all events in the window, a handful outside
    edges = np.linspace(2.8, 4.6, 19)
    counts = np.zeros(18)
    counts[5:9] = [10, 14, 12, 9]
    counts[[1, 3, 10, 14]] = 1
    fit = fit_dijet_background(counts, edges, exclude=SR)
    assert np.all(fit.params[1:] >= 0)
    mu, _ = fit.expected()
    assert np.all(np.diff(mu) <= 1e-12)
    b, db = fit.expected(*SR)
    assert b < 5 and np.isfinite(db)
    assert local_significance(counts[5:9].sum(), b, db) > 5


# --------------------------------------------------------------------------- #
# score(X, y=None): tuning on fit(X)
# --------------------------------------------------------------------------- #
def test_score_is_the_mixed_sample_auc_and_grid_search_runs_on_fit_X(dijet, fitted):
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y = dijet
    sr = ((X.mjj >= SR[0]) & (X.mjj < SR[1])).to_numpy()
    sb = ~sr & (X.mjj >= SR[0] - 0.4).to_numpy() & (X.mjj < SR[1] + 0.4).to_numpy()
    keep = sr | sb
    expected = roc_auc_score(sr[keep], fitted.predict_proba(X)[keep, 1])
    assert fitted.score(X) == pytest.approx(expected)
    # with truth labels, the signal-vs-background AUC
    assert fitted.score(X, y) == pytest.approx(roc_auc_score(y, fitted.predict_proba(X)[:, 1]))
    est = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0)
    scores = cross_val_score(est, X, cv=2)
    assert np.isfinite(scores).all() and (scores > 0.5).all()  # 10 % signal in the SR
    search = GridSearchCV(est, {"sideband_width": [0.2, 0.4]}, cv=2).fit(X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_["sideband_width"] in (0.2, 0.4)


def test_score_on_background_only_is_near_one_half():
    X, _ = make_dijet_resonance(20000, 0, mjj_range=(2.8, 4.4), random_state=3)
    est = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0)
    est.fit(X.iloc[:10000])
    assert abs(est.score(X.iloc[10000:]) - 0.5) < 0.03


def test_score_errors(dijet, fitted):
    X, y = dijet
    plain = CWoLaClassifier(estimator=_xgb(), n_folds=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="fitted by fit\\(X, y\\): pass y"):
        plain.score(X)
    with pytest.raises(ValueError, match="not in classes_"):
        plain.score(X, y + 5)
    with pytest.raises(ValueError, match="both mixed samples"):
        fitted.score(X[(X.mjj >= SR[0]) & (X.mjj < SR[1])])


# --------------------------------------------------------------------------- #
# background="interpolated" (CATHODE)
# --------------------------------------------------------------------------- #
def _small_flow():
    from skhep_ml import FlowAnomalyDetector

    # the default flow with fewer epochs (a much smaller one leaves the template
    # visibly different from the data)
    return FlowAnomalyDetector(max_epochs=30, verbose=0)


def _cathode():
    return CWoLaClassifier(
        signal_region=SR,
        estimator=_xgb(),
        n_folds=3,
        background="interpolated",
        density_estimator=_small_flow(),
        random_state=0,
    )


def _mass_dependent(n, seed, n_signal=0):
    """Dijet events whose lighter-jet mass follows mjj in the background (as ungroomed
    jet masses do)."""
    X, y = make_dijet_resonance(n, n_signal, mjj_range=(2.8, 4.4), random_state=seed)
    return X.assign(mj1=X.mj1 * (X.mjj / 3.5) ** 4), y


@pytest.fixture(scope="module")
def interpolated():
    X, _y = _mass_dependent(8000, 0)
    clf = _cathode()
    return X, clf.fit(X)


def test_interpolated_template_is_sampled_at_signal_region_masses(interpolated):
    X, clf = interpolated
    sr = ((X.mjj >= SR[0]) & (X.mjj < SR[1])).to_numpy()
    assert clf.n_template_ == 4 * sr.sum()
    # the sidebands (here: every event outside the SR) feed the density, not the classifier
    assert_array_equal(clf.mixed_labels_, np.where(sr, 1, -1))
    assert clf.density_estimator_.context_index_.tolist() == [X.shape[1] - 1]
    assert clf.density_estimator_.n_features_in_ == X.shape[1]
    assert clf.oof_scores_.shape == (len(X),)
    # the template (4x the events) is weighted to the signal-region total: on background
    # only, the signal-region events score about 0.5, not the 0.2 of an unweighted template
    assert abs(clf.oof_scores_[sr].mean() - 0.5) < 0.1


def test_claim_the_interpolated_template_does_not_learn_the_mass_where_sidebands_do(
    interpolated,
):
    """On background only, with a feature that follows the mass: CWoLa's sidebands
    differ from the signal region, so its classifier separates them (a fake signal),
    while the template interpolated by the conditional density does not."""
    X, cathode = interpolated
    X_new, _ = _mass_dependent(8000, 1)
    with pytest.warns(MassCorrelationWarning):
        cwola = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3, random_state=0).fit(
            X
        )
    fake, interpolated = cwola.score(X_new) - 0.5, cathode.score(X_new) - 0.5
    assert fake > 0.07  # the sidebands are told from the signal region by the mass
    assert abs(interpolated) < 0.04  # data vs template: hardly separable
    assert fake > 3 * abs(interpolated)


def test_interpolated_finds_the_signal_and_hunts_bumps():
    X, y = make_dijet_resonance(12000, 150, mjj_range=(2.8, 4.4), random_state=0)
    clf = _cathode()
    res = clf.bump_hunt(X, (1.0, 0.05), bins=np.linspace(2.8, 4.4, 17), windows=[SR])
    z = res.table.significance.to_numpy()
    assert z[1] > 2 * max(z[0], 1.0)
    cut = res.estimators[0].select(efficiency=0.05)
    assert y[cut].mean() > 5 * y.mean()


def test_interpolated_bad_input():
    X, _y = make_dijet_resonance(3000, 0, mjj_range=(2.8, 4.4), random_state=0)
    clf = CWoLaClassifier(
        signal_region=SR, background="interpolated", density_estimator=_small_flow()
    )
    with pytest.raises(ValueError, match="fit\\(X, y\\) takes the two mixed samples"):
        clf.fit(X, (X.mjj > 3.5).astype(int))
    with pytest.raises(ValueError, match="fewer than 100: too few to fit the density"):
        clf.set_params(sideband_width=0.005).fit(X)


# --------------------------------------------------------------------------- #
# bad input of issue 13
# --------------------------------------------------------------------------- #
def test_mass_column_scaled_in_a_pipeline_is_detected():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = make_dijet_resonance(3000, 100, mjj_range=(2.8, 4.4), random_state=0)
    clf = CWoLaClassifier(signal_region=SR, estimator=_xgb(), n_folds=3)
    scaled = make_pipeline(StandardScaler().set_output(transform="pandas"), clf)
    with pytest.raises(ValueError, match="was the mass column scaled") as err:
        scaled.fit(X)
    assert "spans [-" in str(err.value) and "'mjj'" in str(err.value)
    names_lost = make_pipeline(StandardScaler(), clf)
    with pytest.raises(ValueError, match="set_output\\(transform='pandas'\\)"):
        names_lost.fit(X)


def test_regions_without_events_name_the_cause():
    X, _ = make_dijet_resonance(3000, 0, mjj_range=(2.8, 4.4), random_state=0)
    clf = CWoLaClassifier(estimator=_xgb(), n_folds=3)
    with pytest.raises(ValueError, match="No event has a mass in the signal region"):
        clf.set_params(signal_region=(6.0, 6.5)).fit(X)  # a signal region inside no data
    with pytest.raises(ValueError, match=r"The high sideband \[4.4, 4.6\) holds no events"):
        clf.set_params(signal_region=(4.2, 4.4), sideband_width=0.2).fit(X)
    with pytest.raises(ValueError, match="fewer than n_folds=3"):
        clf.set_params(signal_region=(4.3, 4.39), sideband_width=0.01).fit(X.iloc[:300])
    X.loc[3, "mjj"] = np.nan
    with pytest.raises(ValueError, match="NaN in column\\(s\\) \\['mjj'\\]"):
        clf.set_params(signal_region=SR, sideband_width=None).fit(X)


def test_interpolated_is_reproducible_and_pickles(interpolated):
    X, clf = interpolated
    again = clone(clf).fit(X)
    assert_allclose(again.oof_scores_, clf.oof_scores_)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.score(X) == pytest.approx(clf.score(X))
