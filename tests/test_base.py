"""The shared sklearn<->skorch bridge, exercised through DNNClassifier."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import DNNClassifier
from skhep_ml._nets import WeightedNeuralNet

FAST = dict(hidden_layers=(16,), max_epochs=15, lr=1e-2, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=600, n_features=6, n_informative=4, n_classes=3, random_state=1
    )
    return X, y


def _flat_grads(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def test_weight_two_equals_duplicated_row_in_loss_and_gradient(data):
    """The exact form of 'weight 2 is the row twice', on one full batch."""
    X, y = data
    X = X[:50].astype(np.float32)
    y = y[:50]
    clf = DNNClassifier(**FAST).fit(X, y)
    net = clf.net_
    w = np.ones(50, dtype=np.float32)
    w[7] = 2.0
    X_dup = np.vstack([X, X[7:8]])
    y_dup = np.append(y, y[7])
    results = []
    for Xb, yb, wb in [(X, y, w), (X_dup, y_dup, np.ones(51, dtype=np.float32))]:
        net.module_.eval()  # no dropout: the comparison is exact
        net.module_.zero_grad()
        batch = {"X": torch.as_tensor(Xb), "sample_weight": torch.as_tensor(wb)}
        loss = net.get_loss(net.infer(batch), torch.as_tensor(yb), X=batch, training=True)
        loss.backward()
        results.append((loss.item(), _flat_grads(net.module_).clone()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-5, atol=1e-7)


def test_sample_weight_changes_the_fit(data):
    X, y = data
    w = np.where(y == 0, 10.0, 1.0)
    p_plain = DNNClassifier(**FAST).fit(X, y).predict_proba(X)
    p_weighted = DNNClassifier(**FAST).fit(X, y, sample_weight=w).predict_proba(X)
    # upweighting class 0 raises its predicted probability on average
    assert p_weighted[:, 0].mean() > p_plain[:, 0].mean() + 0.05


def test_unit_weights_equal_no_weights(data):
    X, y = data
    a = DNNClassifier(**FAST).fit(X, y).predict_proba(X)
    b = DNNClassifier(**FAST).fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_negative_weights_are_accepted_and_subtract(data):
    X, y = data
    w = np.ones(len(y))
    w[::10] = -0.5  # NLO-like: a few negative weights, positive total
    clf = DNNClassifier(**FAST).fit(X, y, sample_weight=w)
    assert np.isfinite(clf.history_[-1, "train_loss"])
    with pytest.raises(ValueError, match="sum of sample_weight must be positive"):
        DNNClassifier(**FAST).fit(X, y, sample_weight=-np.ones(len(y)))


def test_class_weight_balanced_favours_the_rare_class(data):
    X, y = data
    keep = (y != 2) | (np.arange(len(y)) % 6 == 0)  # class 2 made rare
    X, y = X[keep], y[keep]
    plain = DNNClassifier(**FAST).fit(X, y)
    balanced = DNNClassifier(**FAST, class_weight="balanced").fit(X, y)
    assert (balanced.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()


def test_random_state_reproduces_and_differs(data):
    X, y = data
    a = DNNClassifier(**FAST).fit(X, y).predict_proba(X)
    b = DNNClassifier(**FAST).fit(X, y).predict_proba(X)
    c = DNNClassifier(**{**FAST, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_rng_alone(data):
    X, y = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DNNClassifier(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_early_stopping_restores_best_epoch(data):
    X, y = data
    # a large network with a large learning rate overfits 200 rows quickly
    clf = DNNClassifier(
        hidden_layers=(256, 256),
        dropout=0.0,
        lr=1e-2,
        max_epochs=60,
        n_iter_no_change=5,
        validation_fraction=0.3,
        lr_schedule=None,
        random_state=0,
    ).fit(X[:200], y[:200])
    history = clf.history_
    valid = np.array(history[:, "valid_loss"])
    best = int(np.argmin(valid)) + 1
    assert clf.best_epoch_ == best
    assert clf.n_epochs_ < 60  # it stopped early
    assert clf.n_epochs_ == best + 5
    # the weights held are those of the best epoch: recompute its validation loss
    net = clf.net_
    ds = net.train_split.keywords["valid_ds"] if hasattr(net.train_split, "keywords") else None
    if ds is None:  # predefined_split stores the dataset in a closure
        ds = net.train_split.__closure__[0].cell_contents
    net.module_.eval()
    with torch.no_grad():
        batch = {k: torch.as_tensor(v) for k, v in ds.X.items()}
        loss = net.get_loss(net.infer(batch), torch.as_tensor(ds.y), X=batch).item()
    assert loss == pytest.approx(valid[best - 1], rel=1e-4)
    assert loss < valid[-1]


def test_no_validation_trains_all_epochs(data):
    X, y = data
    clf = DNNClassifier(**{**FAST, "validation_fraction": None}).fit(X, y)
    assert clf.n_epochs_ == FAST["max_epochs"]
    assert "valid_loss" not in clf.history_[-1]


def test_pickle_round_trip_predicts_identically(data):
    X, y = data
    clf = DNNClassifier(**FAST).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.net_.device == "cpu"


def test_pandas_input_keeps_feature_names(data):
    X, y = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = DNNClassifier(**FAST).fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[df.columns[::-1]])


def test_read_only_input_gives_no_torch_warning(data):
    import warnings

    X, y = data
    X = X.astype(np.float32)
    X.flags.writeable = False  # as pandas' copy-on-write to_numpy() returns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DNNClassifier(**FAST).fit(X, y).predict_proba(X)
    assert not X.flags.writeable


def test_float32_inside(data):
    X, y = data
    clf = DNNClassifier(**FAST).fit(X, y)
    assert all(p.dtype == torch.float32 for p in clf.net_.module_.parameters())


def test_verbose_prints_one_line_per_epoch(data, capsys):
    X, y = data
    DNNClassifier(**{**FAST, "max_epochs": 3, "verbose": 1}).fit(X, y)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("train_loss" in line and "valid_loss" in line and " lr " in line for line in lines)
    assert "\x1b[" not in out  # no terminal colour codes in a log


def test_warm_start_continues_training(data):
    X, y = data
    clf = DNNClassifier(**{**FAST, "max_epochs": 3, "warm_start": True}).fit(X, y)
    first = clf.net_.module_.net[0].mean.clone()
    clf.fit(X, y)
    assert clf.n_epochs_ == 6  # history continues
    torch.testing.assert_close(clf.net_.module_.net[0].mean, first)  # same network
    with pytest.raises(ValueError, match="unknown to the fitted model"):
        clf.fit(X, np.where(y == 2, 7, y))


@pytest.mark.parametrize(
    "make_bad, match",
    [
        (
            lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y),
            "infinity",
        ),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y), "NaN"),
        (lambda X, y: (X, np.where(np.arange(len(y)) == 0, np.nan, y)), "y contains NaN"),
        (lambda X, y: (X, np.zeros_like(y)), "at least 2 classes"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
        (lambda X, y: (X, y + 0.5), "Unknown label type"),
    ],
    ids=["inf", "nan-in-X", "nan-in-y", "one-class", "empty", "continuous-y"],
)
def test_bad_input_raises_clear_errors(data, make_bad, match):
    X, y = data
    Xb, yb = make_bad(X.astype(float), y.astype(float))
    with pytest.raises(ValueError, match=match):
        DNNClassifier(**FAST).fit(Xb, yb)


def test_wrong_feature_count_and_non_numeric_column(data):
    X, y = data
    clf = DNNClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["detector"] = "TPC"
    with pytest.raises(ValueError, match=r"non-numeric column\(s\) \['detector'\]"):
        DNNClassifier(**FAST).fit(df, y)
    obj = X.astype(object)
    obj[2, 4] = "TPC"
    with pytest.raises(ValueError, match="column 4 is not numeric"):
        DNNClassifier(**FAST).fit(obj, y)


def test_invalid_parameter_is_reported(data):
    X, y = data
    with pytest.raises(ValueError, match="max_epochs"):
        DNNClassifier(max_epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="hidden_layers"):
        DNNClassifier(hidden_layers=(8, 0)).fit(X, y)


def test_pipeline_cross_val_and_grid_search(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), DNNClassifier(**FAST))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.6
    grid = GridSearchCV(DNNClassifier(**FAST), {"hidden_layers": [(8,), (16,)]}, cv=2).fit(X, y)
    assert grid.best_params_["hidden_layers"] in [(8,), (16,)]
    assert clone(grid.best_estimator_).get_params()["max_epochs"] == FAST["max_epochs"]


def test_net_is_a_skorch_net_held_by_composition(data):
    X, y = data
    clf = DNNClassifier(**FAST).fit(X, y)
    assert isinstance(clf.net_, WeightedNeuralNet)
    assert not isinstance(clf, WeightedNeuralNet)


def test_imbalanced_learn_pipeline(data):
    """A resampler from imbalanced-learn in front of a neural estimator."""
    from imblearn.pipeline import make_pipeline as make_imb_pipeline
    from imblearn.under_sampling import RandomUnderSampler

    X, y = data
    keep = (y != 2) | (np.arange(len(y)) % 6 == 0)
    X, y = X[keep], y[keep]
    pipe = make_imb_pipeline(RandomUnderSampler(random_state=0), DNNClassifier(**FAST)).fit(X, y)
    n_seen = pipe[-1].history_[0, "train_batch_count"]
    assert n_seen < int(np.ceil(0.9 * len(y) / FAST["batch_size"]))  # it trained on fewer rows
    assert set(pipe.predict(X)) <= set(y)
