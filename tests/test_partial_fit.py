"""Out-of-core training: ``partial_fit`` of the neural estimators, chunk by chunk."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skhep_ml import (
    AutoencoderAnomalyDetector,
    DNNClassifier,
    FlowAnomalyDetector,
    FSEAttentionClassifier,
    MDAClassifier,
    PivotClassifier,
)
from skhep_ml._base import BaseNeuralEstimator
from skhep_ml.datasets import make_pid_tracks
from skhep_ml.estimator_checks import FAST_PARAMS
from skhep_ml.nn import dann_lambda

# the columns every track has (the DNN refuses NaN)
COLUMNS = ["pt", "eta", "dca_xy", "dca_z", "tpc_signal", "tpc_ncls", "nsigma_tpc_pi"]
SPECIES = {211: 0, 321: 1, 2212: 2}
CLASSES = [0, 1, 2]
FAST = dict(hidden_layers=(32, 16), lr=1e-2, batch_size=128, lr_schedule=None, random_state=0)


@pytest.fixture(scope="module")
def tracks():
    """pi+, K+, p tracks labelled 0, 1, 2: 6000 to train on, 3000 to test on."""
    d = make_pid_tracks(9000, abundances={c: 1.0 for c in SPECIES}, random_state=0)
    frame = d.data[COLUMNS].copy()
    frame["label"] = d.target.map(SPECIES).to_numpy()
    return frame.iloc[:6000], frame.iloc[6000:]


def _chunks(frame, n):
    return [frame.iloc[rows] for rows in np.array_split(np.arange(len(frame)), n)]


def _partial_fit(est, chunks, passes=1, **kwargs):
    for _ in range(passes):
        for chunk in chunks:
            est.partial_fit(chunk[COLUMNS], chunk["label"], classes=CLASSES, **kwargs)
    return est


def test_chunks_reach_the_accuracy_of_fit_on_the_concatenation(tracks):
    """3 passes over 4 chunks against fit on the 6000 rows for 3 epochs: the same
    number of passes and of minibatch steps. Measured over random_state 0-4: fit
    0.869-0.889, partial_fit 0.878-0.891, largest difference 0.011 (4 passes: 0.017);
    the binomial error of one accuracy on the 3000 test tracks is 0.006, and a
    model that learns nothing scores 0.33."""
    train, test = tracks
    full = DNNClassifier(max_epochs=3, validation_fraction=None, **FAST)
    full.fit(train[COLUMNS], train["label"])
    chunked = _partial_fit(DNNClassifier(**FAST), _chunks(train, 4), passes=3)
    acc_full = full.score(test[COLUMNS], test["label"])
    acc_chunked = chunked.score(test[COLUMNS], test["label"])
    assert acc_full > 0.85
    assert abs(acc_chunked - acc_full) < 0.03, (acc_chunked, acc_full)
    assert chunked.n_epochs_ == len(chunked.history_) == 12  # one epoch per call


def test_a_first_call_on_all_rows_is_one_epoch_of_fit(tracks):
    train, _ = tracks
    one = DNNClassifier(max_epochs=1, validation_fraction=None, **FAST)
    one.fit(train[COLUMNS], train["label"])
    chunk = DNNClassifier(**FAST).partial_fit(train[COLUMNS], train["label"], classes=CLASSES)
    assert_array_equal(chunk.predict_proba(train[COLUMNS]), one.predict_proba(train[COLUMNS]))


def test_optimiser_and_schedule_state_carry_over_between_calls(tracks):
    train, _ = tracks
    chunks = _chunks(train, 3)  # 2000 rows: 16 minibatches of 128
    est = DNNClassifier(**{**FAST, "lr_schedule": "exponential", "lr_decay": 0.5})
    steps = []
    for chunk in chunks:
        est.partial_fit(chunk[COLUMNS], chunk["label"], classes=CLASSES)
        state = est.net_.optimizer_.state_dict()["state"]
        steps.append(int(state[0]["step"]))
    assert steps == [16, 32, 48]  # Adam's step count (and its moments) kept
    assert_allclose(est.history_[:, "lr"], [1e-2, 0.5e-2, 0.25e-2])
    assert est.history_[:, "epoch"] == [1, 2, 3]


def test_pickling_between_calls_changes_nothing(tracks):
    train, test = tracks
    chunks = _chunks(train, 4)
    straight = _partial_fit(DNNClassifier(**FAST), chunks)
    halfway = _partial_fit(DNNClassifier(**FAST), chunks[:2])
    halfway = _partial_fit(pickle.loads(pickle.dumps(halfway)), chunks[2:])
    assert_array_equal(halfway.predict_proba(test[COLUMNS]), straight.predict_proba(test[COLUMNS]))


def test_same_chunks_in_the_same_order_give_the_same_model(tracks):
    train, test = tracks
    chunks = _chunks(train.iloc[:3000], 3)
    a = _partial_fit(DNNClassifier(**FAST), chunks, passes=2)
    b = _partial_fit(DNNClassifier(**FAST), chunks, passes=2)
    other = _partial_fit(DNNClassifier(**{**FAST, "random_state": 1}), chunks, passes=2)
    assert_array_equal(a.predict_proba(test[COLUMNS]), b.predict_proba(test[COLUMNS]))
    assert not np.allclose(a.predict_proba(test[COLUMNS]), other.predict_proba(test[COLUMNS]))


def test_every_pass_over_a_chunk_gets_new_minibatches(tracks):
    """Each call is seeded after the epochs before it, so that a second pass over a
    chunk is not shuffled as the first. With a step too small to move the weights,
    the batch losses show the batches: their mean over the epoch is the same, the
    losses of the single batches are not."""
    train, _ = tracks
    chunk = train.iloc[:1000]
    est = DNNClassifier(**{**FAST, "dropout": 0.0, "optimizer": "sgd", "lr": 1e-30})
    for _ in range(2):
        est.partial_fit(chunk[COLUMNS], chunk["label"], classes=CLASSES)
    assert est.history_[0, "train_loss"] == pytest.approx(est.history_[1, "train_loss"])
    losses = est.history_[:, "batches", :, "train_loss"]
    assert not np.allclose(losses[0], losses[1])


def test_classes_are_required_first_and_consistent_afterwards(tracks):
    train, _ = tracks
    X, y = train[COLUMNS].iloc[:1000], train["label"].iloc[:1000]
    est = DNNClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    est.partial_fit(X, y, classes=np.array(CLASSES))
    est.partial_fit(X, y)  # later calls may omit them
    assert_array_equal(est.classes_, CLASSES)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        est.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] not in classes_"):
        est.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="at least 2 classes"):
        DNNClassifier(**FAST).partial_fit(X, y, classes=[0])


def test_a_chunk_may_hold_a_single_class(tracks):
    """Files sorted by class give single-class chunks: accepted, as in SGDClassifier."""
    train, _ = tracks
    est = DNNClassifier(**FAST)
    for label in CLASSES:
        chunk = train[train["label"] == label].iloc[:1000]
        est.partial_fit(chunk[COLUMNS], chunk["label"], classes=CLASSES)
    assert est.n_epochs_ == 3
    assert est.predict_proba(train[COLUMNS].iloc[:5]).shape == (5, 3)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_features_are_checked_against_the_first_chunk(tracks):
    train, _ = tracks
    X, y = train[COLUMNS].iloc[:1000], train["label"].iloc[:1000]
    est = DNNClassifier(**FAST).partial_fit(X, y, classes=CLASSES)
    assert list(est.feature_names_in_) == COLUMNS
    with pytest.raises(ValueError, match="X has 6 features, but DNNClassifier is expecting 7"):
        est.partial_fit(X.to_numpy()[:, :-1], y)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        est.partial_fit(X[COLUMNS[::-1]], y)
    est.partial_fit(X, y)
    assert list(est.feature_names_in_) == COLUMNS and est.n_epochs_ == 2


def test_balanced_class_weight_is_refused_and_a_dict_is_applied(tracks):
    train, _ = tracks
    X, y = train[COLUMNS].iloc[:1000], train["label"].iloc[:1000]
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported"):
        DNNClassifier(class_weight="balanced", **FAST).partial_fit(X, y, classes=CLASSES)
    # a dict weighs the loss as sample_weight would
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    by_dict = DNNClassifier(class_weight=weights, **FAST).partial_fit(X, y, classes=CLASSES)
    by_rows = DNNClassifier(**FAST).partial_fit(
        X, y, classes=CLASSES, sample_weight=y.map(weights).to_numpy()
    )
    assert_allclose(by_dict.history_[:, "train_loss"], by_rows.history_[:, "train_loss"])
    assert not np.allclose(
        by_dict.history_[:, "train_loss"],
        DNNClassifier(**FAST).partial_fit(X, y, classes=CLASSES).history_[:, "train_loss"],
    )


def test_fit_starts_over_and_partial_fit_continues_a_fit(tracks):
    train, test = tracks
    X, y = train[COLUMNS].iloc[:2000], train["label"].iloc[:2000]
    kw = {**FAST, "max_epochs": 2, "validation_fraction": None}
    fresh = DNNClassifier(**kw).fit(X, y)
    refit = _partial_fit(DNNClassifier(**kw), _chunks(train, 3)).fit(X, y)
    assert refit.n_epochs_ == 2
    assert_array_equal(refit.predict_proba(test[COLUMNS]), fresh.predict_proba(test[COLUMNS]))
    # partial_fit after fit (with early stopping) continues the fitted network
    fitted = DNNClassifier(**{**FAST, "max_epochs": 3}).fit(X, y)
    steps = int(fitted.net_.optimizer_.state_dict()["state"][0]["step"])
    fitted.partial_fit(X, y)  # classes_ come from fit
    assert fitted.n_epochs_ == 4 and "valid_loss" not in fitted.history_[-1]
    assert int(fitted.net_.optimizer_.state_dict()["state"][0]["step"]) == steps + 16


@pytest.mark.parametrize("schedule", ["cosine", "one_cycle"])
def test_warnings_on_a_tiny_first_chunk_and_past_a_finite_schedule(tracks, schedule):
    train, _ = tracks
    X, y = train[COLUMNS], train["label"]
    with pytest.warns(UserWarning, match="first partial_fit chunk has 50 rows"):
        DNNClassifier(**FAST).partial_fit(X[:50], y[:50], classes=CLASSES)
    est = DNNClassifier(**{**FAST, "lr_schedule": schedule, "max_epochs": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.partial_fit(X[:1000], y[:1000], classes=CLASSES).partial_fit(X[:1000], y[:1000])
    with pytest.warns(UserWarning, match=f"past the {schedule} schedule's max_epochs=2"):
        est.partial_fit(X[:1000], y[:1000])


def test_partial_fit_calls_continue_the_one_cycle(tracks):
    # two calls of one epoch each: the rates of one fit of two epochs
    train, _ = tracks
    X, y = train[COLUMNS][:1000], train["label"][:1000]
    kw = {**FAST, "lr_schedule": "one_cycle", "max_epochs": 2, "validation_fraction": None}
    whole = DNNClassifier(**kw).fit(X, y)
    calls = DNNClassifier(**kw).partial_fit(X, y, classes=CLASSES).partial_fit(X, y)
    np.testing.assert_allclose(calls.history_[:, "lr"], whole.history_[:, "lr"], rtol=1e-9)
    assert whole.history_[-1, "lr"] < whole.lr / 1e5


# -- every neural estimator ---------------------------------------------------


def _smoke_cases():
    """(estimator, kind): "classifier", "nan" (a classifier given missing values) or
    "detector"."""
    fast = {name: {**params, "random_state": 0} for name, params in FAST_PARAMS.items()}
    return [
        (DNNClassifier(hidden_layers=(8,), batch_size=256, random_state=0), "classifier"),
        (FSEAttentionClassifier(**fast["FSEAttentionClassifier"]), "nan"),
        (MDAClassifier(**fast["MDAClassifier"]), "classifier"),
        (PivotClassifier(**{**fast["PivotClassifier"], "protected": "tpc_ncls"}), "classifier"),
        (AutoencoderAnomalyDetector(**fast["AutoencoderAnomalyDetector"]), "detector"),
        (FlowAnomalyDetector(**fast["FlowAnomalyDetector"]), "detector"),
    ]


def test_the_smoke_cases_cover_every_neural_estimator():
    import skhep_ml

    neural = {
        name
        for name in skhep_ml.__all__
        if isinstance(getattr(skhep_ml, name), type)
        and issubclass(getattr(skhep_ml, name), BaseNeuralEstimator)
    }
    assert neural == {type(est).__name__ for est, _ in _smoke_cases()}


@pytest.mark.parametrize(
    ("est", "kind"), _smoke_cases(), ids=[type(est).__name__ for est, _ in _smoke_cases()]
)
def test_every_neural_estimator_trains_chunk_by_chunk_on_numpy_arrays(tracks, est, kind):
    """As dask-ml's Incremental calls it: numpy blocks, classes on every call, a
    pickled copy between calls; the model is usable and picklable after."""
    train, _ = tracks
    d = make_pid_tracks(2000, abundances={c: 1.0 for c in SPECIES}, random_state=1)
    if kind == "nan":  # with the detector signals that may be missing
        X = d.data[[*COLUMNS, "its_signal", "tof_beta", "trd_signal"]].to_numpy()
        y = d.target.map(SPECIES).to_numpy()
        assert np.isnan(X).any()
    else:
        X, y = train[COLUMNS].to_numpy()[:2000], train["label"].to_numpy()[:2000]
    if est.__class__ is PivotClassifier:
        X = train[COLUMNS].iloc[:2000]  # the protected column by name
    kwargs = {} if kind == "detector" else {"classes": CLASSES}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no small-chunk warning, no other
        for _ in range(2):
            for rows in np.array_split(np.arange(2000), 2):
                est = pickle.loads(pickle.dumps(est))
                X_rows = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
                y_rows = None if kind == "detector" else y[rows]
                est = est.partial_fit(X_rows, y_rows, **kwargs)
    assert est.n_epochs_ == 4 and est.n_features_in_ == X.shape[1]
    assert "_partial_fitting" not in vars(est)  # nothing left of the call
    again = pickle.loads(pickle.dumps(est))
    rows = X.iloc[:20] if hasattr(X, "iloc") else X[:20]
    if kind == "detector":
        assert_array_equal(again.score_samples(rows), est.score_samples(rows))
        assert set(np.unique(est.predict(rows))) <= {-1, 1}
    else:
        assert_array_equal(again.predict_proba(rows), est.predict_proba(rows))
        assert set(np.unique(est.predict(rows))) <= set(CLASSES)


def test_outlier_detectors_fix_the_scaling_on_the_first_chunk(tracks):
    train, _ = tracks
    chunks = [c[COLUMNS].to_numpy() for c in _chunks(train, 3)]
    ad = AutoencoderAnomalyDetector(hidden_layers=(8, 2, 8), contamination=0.1, random_state=0)
    ad.partial_fit(chunks[0])
    transform = pickle.dumps(ad.transform_)
    assert_allclose(ad.transform_.shift_, chunks[0].mean(axis=0).astype(np.float64), rtol=1e-5)
    ad.partial_fit(chunks[1]).partial_fit(chunks[2])
    assert pickle.dumps(ad.transform_) == transform
    # offset_ from the latest chunk, scored by the latest model
    assert ad.offset_ == pytest.approx(np.percentile(ad.score_samples(chunks[2]), 10.0))
    with pytest.raises(ValueError, match="classes is for classifiers"):
        ad.partial_fit(chunks[0], classes=[0, 1])


def test_fse_keeps_the_threshold_of_a_class_absent_from_the_chunk(tracks):
    train, _ = tracks
    params = {**FAST_PARAMS["FSEAttentionClassifier"], "thresholds": "f1", "random_state": 0}
    fse = FSEAttentionClassifier(**params)
    fse.partial_fit(train[COLUMNS].iloc[:1000], train["label"].iloc[:1000], classes=CLASSES)
    before = fse.thresholds_.copy()
    no_protons = train[train["label"] != 2].iloc[:1000]
    fse.partial_fit(no_protons[COLUMNS], no_protons["label"])
    assert fse.thresholds_[2] == before[2]
    assert not np.allclose(fse.thresholds_[:2], before[:2])


# -- extra inputs: domain adaptation, the protected variable -------------------


@pytest.fixture(scope="module")
def two_domains(tracks):
    """Chunks of 500 labelled simulated tracks and 500 unlabelled "data" tracks
    (y = -1) of a detector with 10% more TPC gain."""
    train, _ = tracks
    d = make_pid_tracks(1500, abundances={c: 1.0 for c in SPECIES}, tpc_gain=1.1, random_state=2)
    chunks = []
    for k in range(3):
        sim = train.iloc[500 * k : 500 * (k + 1)]
        data = d.data[COLUMNS].iloc[500 * k : 500 * (k + 1)]
        X = pd.concat([sim[COLUMNS], data], ignore_index=True)
        y = np.r_[sim["label"].to_numpy(), np.full(500, -1)]
        chunks.append((X, y))
    return chunks


def test_domain_adaptation_continues_its_ramp_across_calls(two_domains):
    est = DNNClassifier(hidden_layers=(16,), domain_adaptation="dann", max_epochs=3, random_state=0)
    for X, y in two_domains:
        est.partial_fit(X, y, classes=CLASSES)
    assert est.domain_adapted_ and est.n_epochs_ == 3
    # the strength follows the calls: at the end of call k, p = k / max_epochs
    # (a ramp planned anew at every call would stay at dann_lambda(1 / 3))
    expected = [dann_lambda(k / 3) for k in range(1, 4)]
    assert_allclose(est.history_[:, "domain_lambda"], expected, rtol=1e-6)
    assert 0.0 <= est.domain_probe_auc_ <= 1.0


@pytest.mark.filterwarnings("ignore:The first partial_fit chunk")
def test_domain_adaptation_needs_both_domains_in_every_chunk(two_domains):
    (X, y), (X2, y2) = two_domains[0], two_domains[1]
    est = DNNClassifier(hidden_layers=(8,), domain_adaptation="dann", random_state=0)
    with pytest.raises(ValueError, match="classes holds -1"):
        est.partial_fit(X, y, classes=[-1, 0, 1, 2])
    est.partial_fit(X, y, classes=CLASSES)
    with pytest.raises(ValueError, match="every chunk needs target rows"):
        est.partial_fit(X2[y2 != -1], y2[y2 != -1])
    with pytest.raises(ValueError, match="has only target rows"):
        est.partial_fit(X2[y2 == -1], y2[y2 == -1])
    # a model whose first chunk had no target rows stays a plain classifier
    plain = DNNClassifier(hidden_layers=(8,), domain_adaptation="dann", random_state=0)
    plain.partial_fit(X[y != -1], y[y != -1], classes=CLASSES)
    assert not plain.domain_adapted_
    with pytest.raises(ValueError, match="which has no domain classifier"):
        plain.partial_fit(X2, y2)


def test_pivot_takes_z_and_fixes_its_encoding_on_the_first_chunk(tracks):
    train, _ = tracks
    params = {**FAST_PARAMS["PivotClassifier"], "protected": None, "random_state": 0}
    est = PivotClassifier(**{**params, "protected_type": "discrete"})
    z = (train["pt"].to_numpy() > 0.7).astype(int)  # two values
    cols = [c for c in COLUMNS if c != "pt"]
    est.partial_fit(
        train[cols].iloc[:1000], train["label"].iloc[:1000], classes=CLASSES, z=z[:1000]
    )
    assert_array_equal(est.z_values_, [0, 1])
    assert len(est.pretrain_history_) == 2  # pretrained on the first chunk
    est.partial_fit(train[cols].iloc[1000:2000], train["label"].iloc[1000:2000], z=z[1000:2000])
    assert est.n_epochs_ == 2
    with pytest.raises(ValueError, match="unknown to the fitted adversary"):
        est.partial_fit(train[cols].iloc[:1000], train["label"].iloc[:1000], z=z[:1000] + 1)
