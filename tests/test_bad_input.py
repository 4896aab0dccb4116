"""Bad input and faults: a clear error or a correct answer, never silence.

One test (or parametrised family) per class of fault found by fuzzing every
public estimator (issue 11). The loaders' corrupt and wrong-kind files are
tested in tests/test_datasets.py, the nσ column templates in
tests/test_nsigma.py, interrupted tree baselines and CWoLa in their modules.
"""

import _thread
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

import skhep_ml._base
from skhep_ml import (
    AutoencoderAnomalyDetector,
    DNNClassifier,
    FSEAttentionClassifier,
    MDAClassifier,
    PivotClassifier,
    RandomForestBaseline,
    XGBoostBaseline,
)
from skhep_ml.datasets import make_multimodal_nuclei
from skhep_ml.estimator_checks import FAST_PARAMS, check_instances
from skhep_ml.nn import feature_scaling

FAST_DNN = dict(hidden_layers=(16,), max_epochs=15, lr=1e-2, batch_size=32, random_state=0)
# the estimator checks' fast settings, shortened further
FAST_FSE = {**FAST_PARAMS["FSEAttentionClassifier"], "max_epochs": 5, "random_state": 0}
FAST_MDA = {**FAST_PARAMS["MDAClassifier"], "max_epochs": 3, "random_state": 0}
FAST_PIVOT = {**FAST_PARAMS["PivotClassifier"], "max_epochs": 2, "random_state": 0}


def _binary(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


# -- one class in disguise: a class whose weights sum to zero ---------------------


@pytest.mark.parametrize(
    "estimator",
    [
        DNNClassifier(**FAST_DNN),
        FSEAttentionClassifier(**FAST_FSE),
        MDAClassifier(**FAST_MDA),
        PivotClassifier(**FAST_PIVOT),
        RandomForestBaseline(n_estimators=5),
        XGBoostBaseline(n_estimators=5),
    ],
    ids=lambda e: type(e).__name__,
)
def test_class_with_zero_total_weight_is_refused(estimator):
    X, y = _binary()
    w = np.where(y == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="class 1 sums to 0"):
        clone(estimator).fit(X, y, sample_weight=w)
    # net negative is refused the same way; a class with some weight fits
    w[np.flatnonzero(y == 1)[:3]] = -1.0
    with pytest.raises(ValueError, match="class 1 sums to -3"):
        clone(estimator).fit(X, y, sample_weight=w)
    w[np.flatnonzero(y == 1)[:3]] = 5.0
    check_is_fitted(clone(estimator).fit(X, y, sample_weight=w))


def test_mda_unlabelled_rows_without_weight_are_refused():
    d = make_multimodal_nuclei(150, 150, random_state=0)
    X = np.vstack([d.X_mc, d.X_data])
    y = np.concatenate([d.y_mc, np.full(150, -1)])
    w = np.concatenate([np.ones(150), np.zeros(150)])
    with pytest.raises(ValueError, match=r"target .* zero total sample_weight"):
        MDAClassifier(**FAST_MDA).fit(X, y, sample_weight=w)
    # without domain adaptation, -1 is an ordinary label: the MC rows alone fit
    clf = MDAClassifier(**FAST_MDA, domain_adaptation=None).fit(X[:150], y[:150])
    assert np.isfinite(clf.predict_proba(X)).all()


# -- features on a tiny scale are features ----------------------------------------


def test_feature_scaling_is_relative():
    rng = np.random.RandomState(0)
    X = np.c_[rng.exponential(1e-13, 500), np.full(500, 7.0), 1e6 + rng.normal(size=500)]
    _, std = feature_scaling(X)
    assert std[0] == pytest.approx(X[:, 0].std(), rel=1e-3)  # not mistaken for constant
    assert std[1] == 1.0  # truly constant
    assert std[2] == pytest.approx(1.0, rel=0.1)  # a small spread on a large offset


def test_decay_times_in_seconds_are_learned():
    # the only informative feature is a decay time of order 1e-13 s
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, 600)
    tau = rng.exponential(np.where(y == 1, 3e-13, 1e-13))
    X = np.c_[tau, rng.normal(size=600)]
    clf = DNNClassifier(**{**FAST_DNN, "max_epochs": 30}).fit(X, y)
    assert roc_auc_score(y, clf.predict_proba(X)[:, 1]) > 0.7  # Bayes AUC 0.75


# -- values that overflow float32 inside the network ------------------------------


@pytest.fixture(scope="module")
def fitted():
    X, y = _binary()
    return X, {
        "FSE": FSEAttentionClassifier(**FAST_FSE).fit(X, y),
        "DNN": DNNClassifier(**FAST_DNN).fit(X, y),
    }


@pytest.mark.parametrize("big", [1e30, -1e30, 3e38])
@pytest.mark.parametrize("name", ["FSE", "DNN"])
def test_huge_values_at_predict_never_give_nan(fitted, name, big):
    X, models = fitted
    X_bad = X[:4].copy()
    X_bad[1, 0] = big
    try:
        p = models[name].predict_proba(X_bad)
    except ValueError as error:
        assert "overflows float32" in str(error) and "row 1" in str(error)
    else:
        assert np.isfinite(p).all()


def test_fse_huge_value_is_refused_with_the_row(fitted):
    X, models = fitted
    X_bad = X[:5].copy()
    X_bad[3, 2] = 1e30
    with pytest.raises(ValueError, match=r"overflows float32 for 1 row\(s\) \(first: row 3"):
        models["FSE"].predict_proba(X_bad)
    # the other rows still predict on their own
    assert np.isfinite(models["FSE"].predict_proba(np.delete(X_bad, 3, axis=0))).all()


def test_mda_huge_value_is_refused():
    d = make_multimodal_nuclei(150, 10, random_state=0)
    clf = MDAClassifier(**FAST_MDA).fit(d.X_mc, d.y_mc)
    X_bad = d.X_mc.to_numpy()[:3].copy()
    X_bad[0, -3] = 1e30
    with pytest.raises(ValueError, match="overflows float32"):
        clf.predict_proba(X_bad)


def test_value_beyond_float32_is_refused_as_infinite():
    X, y = _binary()
    X[0, 0] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="infinity or a value too large"):
        DNNClassifier(**FAST_DNN).fit(X, y)


def test_diverging_training_stops_with_a_clear_error():
    X, y = _binary()
    est = DNNClassifier(**{**FAST_DNN, "optimizer": "sgd", "lr": 1e25, "max_epochs": 5})
    with pytest.raises(FloatingPointError, match="training diverged"):
        est.fit(X * 1e6, y)
    assert not hasattr(est, "net_")  # nothing half-fitted is left behind


# -- Ctrl-C: never a normal return from a half-trained fit ------------------------


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


@pytest.mark.parametrize(
    "estimator",
    [
        DNNClassifier(hidden_layers=(16,), max_epochs=100_000, early_stopping=False),
        PivotClassifier(protected=-1, max_epochs=100_000, pretrain_epochs=100_000),
        AutoencoderAnomalyDetector(
            hidden_layers=(8, 2, 8), max_epochs=100_000, early_stopping=False
        ),
    ],
    ids=lambda e: type(e).__name__,
)
def test_ctrl_c_during_fit_is_raised_and_recorded(estimator):
    X, y = _binary(2000)
    est = clone(estimator).set_params(random_state=0, verbose=0)
    timer = _interrupt_after(2.0)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            est.fit(X, y)
    finally:
        timer.cancel()
    if "interrupted after" in str(info.value):
        # in training: the partly trained model is kept, flagged, and usable
        assert est.interrupted_ is True
        assert np.isfinite(est.predict(X[:5]).astype(float)).all()
    else:  # a loaded machine may still be validating the input after 2 s
        assert not hasattr(est, "net_")


def test_uninterrupted_fit_says_so():
    X, y = _binary()
    assert DNNClassifier(**FAST_DNN).fit(X, y).interrupted_ is False


def test_early_stopping_is_not_an_interrupt():
    # skorch stops early by raising KeyboardInterrupt; that must not count as Ctrl-C
    X, y = _binary()
    est = DNNClassifier(**{**FAST_DNN, "max_epochs": 500, "n_iter_no_change": 2}).fit(X, y)
    assert est.n_epochs_ < 500 and est.interrupted_ is False


# -- shapes and types --------------------------------------------------------------


@pytest.mark.parametrize("estimator", check_instances(), ids=lambda e: type(e).__name__)
def test_dataframe_without_columns_gets_a_clear_message(estimator):
    X = pd.DataFrame(index=range(10))
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match="0 feature"):
        clone(estimator).fit(X, y)


@pytest.mark.parametrize("unlabelled", [-1, "-1"])
def test_mda_string_labels_with_unlabelled_rows(unlabelled):
    d = make_multimodal_nuclei(150, 150, random_state=0)
    names = np.array(["background", "signal"], dtype=object)[d.y_mc]
    y = np.concatenate([names, np.full(150, unlabelled, dtype=object)])
    if isinstance(unlabelled, str):
        y = y.astype(str)  # a plain string array: the marker is the string "-1"
    X = np.vstack([d.X_mc, d.X_data])
    clf = MDAClassifier(**FAST_MDA).fit(X, y)
    assert list(clf.classes_) == ["background", "signal"]
    assert clf.domain_adapted_
    assert set(clf.predict(X)) <= {"background", "signal"}


# -- progress display --------------------------------------------------------------


def test_short_fit_is_quiet_by_default(capsys):
    X, y = _binary()
    DNNClassifier(**FAST_DNN).fit(X, y)
    assert capsys.readouterr().out == ""


def test_long_fit_shows_progress_by_default(capsys, monkeypatch):
    # "long" is more than _AUTO_VERBOSE_DELAY seconds; zero makes every fit long
    monkeypatch.setattr(skhep_ml._base, "_AUTO_VERBOSE_DELAY", 0.0)
    X, y = _binary()
    DNNClassifier(**{**FAST_DNN, "max_epochs": 3, "early_stopping": False}).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]


def test_mda_progress_shows_the_domain_head_rate(capsys):
    d = make_multimodal_nuclei(150, 150, random_state=0)
    X = np.vstack([d.X_mc, d.X_data])
    y = np.concatenate([d.y_mc, np.full(150, -1)])
    clf = MDAClassifier(**{**FAST_MDA, "verbose": 1, "lr": 1e-3, "domain_lr_ratio": 10.0})
    clf.fit(X, y)
    line = capsys.readouterr().out.splitlines()[0]
    assert "lr 1.0e-03" in line and "lr_domain 1.0e-02" in line and "\x1b[" not in line
    # the classifier's and the domain head's rates are both recorded, per epoch
    assert clf.history_[0, "lr"] == pytest.approx(1e-3)
    assert clf.history_[0, "lr_domain"] == pytest.approx(1e-2)


# -- fit is re-entrant: z is a fit parameter, not state ------------------------


def test_pivot_z_is_routed_not_stored():
    X, y = _binary()
    z = X[:, 2].copy()
    est = PivotClassifier(**{**FAST_PIVOT, "protected": None})
    est.fit(X[:, :2], y, z=z)
    assert not [k for k in vars(est) if "z_fit" in k]
    with pytest.raises(ValueError, match="needs the protected variable"):
        clone(est).fit(X[:, :2], y)  # no z left over from the previous fit


def test_fit_trains_inside_a_callers_no_grad():
    # a notebook cell under torch.no_grad() (or grad mode left off) must not
    # silently stop training, nor break the custom training loops
    X, y = _binary()
    with torch.no_grad():
        pivot = PivotClassifier(**FAST_PIVOT).fit(X, y)
        dnn = DNNClassifier(**FAST_DNN).fit(X, y)
        assert not torch.is_grad_enabled()  # the caller's mode is restored
    for est in (pivot, dnn):
        assert roc_auc_score(y, est.predict_proba(X)[:, 1]) > 0.85


@pytest.mark.parametrize(
    "estimator",
    [e for e in check_instances() if not e.__sklearn_tags__().input_tags.allow_nan],
    ids=lambda e: type(e).__name__,
)
def test_nan_is_refused_naming_the_columns(estimator):
    """An estimator without missing-value handling names the columns holding NaN."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["pt", "eta", "phi"])
    X.loc[3, "eta"] = np.nan
    with pytest.raises(ValueError, match=r"NaN in column\(s\) \['eta'\]"):
        clone(estimator).fit(X, np.arange(40) % 2)


def test_nan_in_an_array_names_the_column_positions():
    X = np.random.default_rng(0).normal(size=(30, 5))
    X[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN in column\(s\) \[3\] \(1 row\(s\)\)"):
        AutoencoderAnomalyDetector(max_epochs=1).fit(X)
