"""The shared sklearn<->skorch bridge, exercised through DNNClassifier."""

import pickle

import numpy as np
import pandas as pd
import pytest
import skorch
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNet

from skhep_ml import DNNClassifier

FAST = dict(hidden_layers=(16,), max_epochs=15, lr=1e-2, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=600, n_features=6, n_informative=4, n_classes=3, random_state=1
    )
    return X, y


def _one_sgd_step(X, y, w, lr=1.0):
    """Loss at the initial weights and parameters after one plain-SGD step on one full
    batch: ``history_`` records the batch loss before the step, and
    ``p_after = p_init - lr * gradient``. Every call with the same X (same shapes, same
    input scaling, same seed) starts from the same initial weights."""
    clf = DNNClassifier(
        hidden_layers=(8,),
        dropout=0.0,
        optimizer="sgd",
        lr=lr,
        lr_schedule=None,
        max_epochs=1,
        batch_size=len(y),
        validation_fraction=None,
        random_state=0,
    ).fit(X, y, sample_weight=w)
    params = torch.cat([p.detach().flatten() for p in clf.net_.module_.parameters()])
    return clf.history_[0, "train_loss"], params.double()


@pytest.fixture(scope="module")
def padded(data):
    """50 rows plus row 7 appended twice: the variants below only change weights."""
    X, y = data
    X = np.vstack([X[:50], X[7:8], X[7:8]]).astype(np.float32)
    y = np.append(y[:50], [y[7], y[7]])
    p_init = _one_sgd_step(X, y, np.ones(52), lr=1e-30)[1]  # a step too small to move
    return X, y, p_init


def _weights(extra):
    return np.r_[np.ones(50), extra]


def test_weight_two_equals_duplicated_row_in_loss_and_gradient(padded):
    """The exact form of 'weight 2 is the row twice', on one full batch."""
    X, y, p_init = padded
    loss_dup, p_dup = _one_sgd_step(X, y, _weights([1.0, 1.0]))
    loss_two, p_two = _one_sgd_step(X, y, _weights([2.0, 0.0]))
    assert loss_two == pytest.approx(loss_dup, rel=1e-6)
    torch.testing.assert_close(p_init - p_two, p_init - p_dup, rtol=1e-4, atol=1e-7)
    assert not torch.allclose(p_dup, p_init)  # the step did move the weights


def test_negative_weight_subtracts_its_row(padded):
    """The loss is sum(w l) / sum(|w|): a row of weight -1 removes exactly what the same
    row of weight +1 adds, in the loss and in the gradient."""
    X, y, p_init = padded
    loss_0, p_0 = _one_sgd_step(X, y, _weights([0.0, 0.0]))  # the 50 rows alone
    loss_pos, p_pos = _one_sgd_step(X, y, _weights([1.0, 0.0]))
    loss_neg, p_neg = _one_sgd_step(X, y, _weights([-1.0, 0.0]))
    loss_both, p_both = _one_sgd_step(X, y, _weights([1.0, -1.0]))
    # un-normalised sums: S * loss with S = sum(|w|)
    row = 51 * loss_pos - 50 * loss_0  # the row's own loss
    assert row > 0.01
    assert 51 * loss_neg == pytest.approx(50 * loss_0 - row, rel=1e-5)
    assert 52 * loss_both == pytest.approx(50 * loss_0, rel=1e-5)  # +1 and -1 cancel
    g0, g_pos, g_neg, g_both = (p_init - p for p in (p_0, p_pos, p_neg, p_both))
    g_row = 51 * g_pos - 50 * g0
    assert g_row.abs().max() > 1e-3
    torch.testing.assert_close(51 * g_neg, 50 * g0 - g_row, rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(52 * g_both, 50 * g0, rtol=1e-3, atol=1e-5)


def test_negative_weights_shift_the_fitted_probability(data):
    """The minimiser of the weighted cross-entropy is the weighted class fraction:
    negative-weight background rows raise the fitted signal probability (taken as
    |w| they would lower it, ignored they would leave it)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 2))  # uninformative: the net learns the class fraction
    y = np.r_[np.ones(300), np.zeros(900)].astype(int)
    w = np.r_[np.ones(900), -np.ones(300)]  # 600 - 300 = 300 background, net
    kw = dict(hidden_layers=(4,), lr=1e-2, max_epochs=20, validation_fraction=None)
    plain = DNNClassifier(**kw, random_state=0).fit(X[:900], y[:900])
    neg = DNNClassifier(**kw, random_state=0).fit(X, y, sample_weight=w)
    assert plain.predict_proba(X)[:, 1].mean() == pytest.approx(1 / 3, abs=0.05)
    assert neg.predict_proba(X)[:, 1].mean() == pytest.approx(1 / 2, abs=0.05)
    with pytest.raises(ValueError, match="sum of sample_weight must be positive"):
        DNNClassifier(**FAST).fit(X, y, sample_weight=-np.ones(len(y)))


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
    """The model held is the one of the best epoch, not of the last: training is
    deterministic, so a run stopped by hand at ``best_epoch_`` predicts identically."""
    X, y = data
    # a large network with a large learning rate overfits 200 rows quickly
    kw = dict(
        hidden_layers=(64, 64),
        dropout=0.0,
        lr=1e-2,
        validation_fraction=0.3,
        lr_schedule=None,
        random_state=0,
    )
    clf = DNNClassifier(max_epochs=60, n_iter_no_change=5, **kw).fit(X[:200], y[:200])
    valid = np.array(clf.history_[:, "valid_loss"])
    best = int(np.argmin(valid)) + 1
    assert clf.best_epoch_ == best
    assert clf.n_epochs_ == best + 5 < 60  # it stopped early, after the patience
    assert valid[-1] > valid[best - 1]  # it overfits: the last epoch is worse
    at_best = DNNClassifier(max_epochs=best, early_stopping=False, **kw).fit(X[:200], y[:200])
    at_last = DNNClassifier(max_epochs=clf.n_epochs_, early_stopping=False, **kw)
    at_last.fit(X[:200], y[:200])
    np.testing.assert_allclose(clf.predict_proba(X), at_best.predict_proba(X), atol=1e-6)
    assert not np.allclose(clf.predict_proba(X), at_last.predict_proba(X), atol=1e-3)


def test_lr_schedules_follow_their_formula(data):
    X, y = data
    kw = dict(hidden_layers=(8,), max_epochs=5, lr=0.1, validation_fraction=None, random_state=0)
    epochs = np.arange(5)
    expo = DNNClassifier(lr_schedule="exponential", lr_decay=0.5, **kw).fit(X, y)
    np.testing.assert_allclose(expo.history_[:, "event_lr"], 0.1 * 0.5**epochs)
    assert expo.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**5)
    cos = DNNClassifier(lr_schedule="cosine", **kw).fit(X, y)
    np.testing.assert_allclose(
        cos.history_[:, "event_lr"], 0.05 * (1 + np.cos(np.pi * epochs / 5)), rtol=1e-9
    )
    assert cos.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    const = DNNClassifier(lr_schedule=None, **kw).fit(X, y)
    assert const.net_.optimizer_.param_groups[0]["lr"] == 0.1


def test_one_cycle_is_torch_one_cycle_lr(data):
    # the same rates and Adam beta1 as torch's OneCycleLR (pct_start=0.25), batch by batch
    X, y = data
    lrs, betas = [], []

    class Spy(skorch.callbacks.Callback):
        def on_batch_begin(self, net, training=False, **kwargs):
            if training:
                lrs.append(net.optimizer_.param_groups[0]["lr"])
                betas.append(net.optimizer_.param_groups[0]["betas"][0])

    class Spied(DNNClassifier):
        def _callbacks(self, has_valid):  # after the schedule, so it sees the rate used
            return [*super()._callbacks(has_valid), ("spy", Spy())]

    kw = dict(hidden_layers=(8,), max_epochs=4, lr=0.1, batch_size=50, random_state=0)
    Spied(lr_schedule="one_cycle", validation_fraction=None, **kw).fit(X, y)
    steps = 4 * int(np.ceil(len(X) / 50))
    opt = torch.optim.Adam(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=steps, pct_start=0.25)
    want_lr, want_beta = [], []
    for _ in range(steps):
        want_lr.append(opt.param_groups[0]["lr"])
        want_beta.append(opt.param_groups[0]["betas"][0])
        opt.step()
        ref.step()
    np.testing.assert_allclose(lrs, want_lr, rtol=1e-6)
    np.testing.assert_allclose(betas, want_beta, rtol=1e-6)
    assert max(lrs) == pytest.approx(0.1) and lrs[-1] < 1e-4


@pytest.mark.parametrize(
    "name, cls",
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_optimizers_are_the_ones_asked_and_train(data, name, cls):
    X, y = data
    lr = 0.1 if name == "sgd" else 1e-2
    clf = DNNClassifier(**{**FAST, "lr": lr, "optimizer": name, "weight_decay": 1e-4})
    clf.fit(X, y)
    assert type(clf.net_.optimizer_) is cls
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    losses = clf.history_[:, "train_loss"]
    assert losses[-1] < 0.8 * losses[0]
    assert clf.score(X, y) > 0.7


def test_device_auto_resolves_and_predicts(data):
    X, y = data
    clf = DNNClassifier(**{**FAST, "device": "auto"}).fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert clf.net_.device == expected
    assert next(clf.net_.module_.parameters()).device.type == expected
    assert clf.get_params()["device"] == "auto"  # the parameter is not rewritten
    assert clf.score(X, y) > 0.7


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
    assert isinstance(clf.net_, NeuralNet)
    assert not isinstance(clf, NeuralNet)


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


def test_probabilities_are_finished_in_float64_as_scipy_computes_them():
    from scipy.special import expit, softmax

    from skhep_ml._base import sigmoid_normalised64, softmax64

    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(1000, 4)) * 30).astype(np.float32)  # saturated rows included
    logits[0] = [200.0, -200.0, 0.0, 88.0]  # exp overflows float32 without the max shift
    p = softmax64(logits)
    assert p.dtype == np.float64
    assert p.flags.c_contiguous and p.flags.owndata  # returned by predict_proba as is
    np.testing.assert_allclose(p, softmax(logits.astype(np.float64), axis=1), rtol=1e-13, atol=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-15)

    c = expit(logits.astype(np.float64))
    q = sigmoid_normalised64(logits, 1e-12)
    # rows whose every certainty is tiny keep them small: the sum is clipped from below
    expected = c / np.clip(c.sum(axis=1, keepdims=True), 1e-12, None)
    np.testing.assert_allclose(q, expected, rtol=1e-13, atol=0)
    one = sigmoid_normalised64(logits[:, :1], 1e-12)
    np.testing.assert_allclose(one, np.hstack([1 - c[:, :1], c[:, :1]]), rtol=1e-13, atol=1e-300)


def test_gathered_pieces_copy_only_what_they_do_not_own():
    from skhep_ml._base import _gathered

    owned = np.arange(6.0).reshape(3, 2).copy()
    assert _gathered(iter([(slice(0, 3), owned)]), 3) is owned  # one piece of its own
    view = owned[:, :1]  # a view (of an input, say) is copied, never handed out
    out = _gathered(iter([(slice(0, 3), view)]), 3)
    assert not np.shares_memory(out, owned) and out.flags.c_contiguous
    pieces = [(slice(0, 2), owned[:2].copy()), (slice(2, 3), owned[2:].copy())]
    np.testing.assert_array_equal(_gathered(iter(pieces), 3), owned)
    a, b = _gathered(iter([(slice(0, 3), (owned, view))]), 3)  # a tuple: copied if any is a view
    assert not np.shares_memory(a, owned)
    np.testing.assert_array_equal(b, view)


def test_evaluating_restores_each_submodule_mode():
    import torch

    from skhep_ml._base import _evaluating

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5), torch.nn.Linear(2, 1))
    net[1].eval()  # mixed modes (a frozen part, say) survive a prediction
    with _evaluating(net) as m:
        assert not any(sub.training for sub in m.modules())
    assert [sub.training for sub in net.modules()] == [True, True, False, True]
    with pytest.raises(RuntimeError), _evaluating(net):
        raise RuntimeError
    assert [sub.training for sub in net.modules()] == [True, True, False, True]


def test_fitted_network_is_left_in_eval_mode_and_trains_again(data):
    X, y = data
    est = DNNClassifier(**FAST).fit(X, y)
    assert not any(m.training for m in est.net_.module_.modules())  # predictions switch nothing
    seen = []
    hook = est.net_.module_.register_forward_pre_hook(lambda m, args: seen.append(m.training))
    est.partial_fit(X, y)  # skorch sets the training mode at every step
    hook.remove()
    assert True in seen and not est.net_.module_.training
