"""FlowAnomalyDetector: density, context, sampling, weights, the outlier API, bad input."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from skhep_ml import FlowAnomalyDetector
from skhep_ml.nn import DensityFlow

FAST = dict(flow="maf", n_transforms=3, hidden_layers=(32,), max_epochs=40, lr=3e-3,
            batch_size=128, random_state=0, verbose=0)  # fmt: skip


def _band(n, rng):
    """A curved band: x1 = x0**2 + noise; nothing in a box test can see it."""
    x0 = rng.normal(size=n)
    return np.c_[x0, x0**2 + rng.normal(0, 0.2, n)]


def test_log_density_ranks_events_off_a_curved_band():
    rng = np.random.default_rng(0)
    X = _band(3000, rng)
    flow = FlowAnomalyDetector(**FAST).fit(X)
    inside = _band(500, rng)
    x0 = rng.uniform(-1.5, 1.5, 500)
    off = np.c_[x0, x0**2 + rng.choice([-1.5, 1.5], 500)]  # within the box, off the band
    s = -flow.score_samples(np.r_[inside, off])
    assert roc_auc_score(np.r_[np.zeros(500), np.ones(500)], s) > 0.95


def test_score_samples_is_the_modules_log_density_of_the_transformed_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    flow = FlowAnomalyDetector(**{**FAST, "max_epochs": 3}).fit(X)
    import torch

    Xt = torch.as_tensor(flow.transform_.transform(X[:5]), dtype=torch.float64)
    module = flow.net_.module_.double().eval()
    with torch.no_grad():
        expected = module(Xt).numpy()
    np.testing.assert_allclose(flow.score_samples(X[:5]), expected, rtol=1e-5)


def test_outlier_api_and_contamination():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 2))
    flow = FlowAnomalyDetector(contamination=0.1, **FAST).fit(X)
    pred = flow.predict(X)
    assert set(np.unique(pred)) == {-1, 1}
    assert abs((pred == -1).mean() - 0.1) < 0.01
    np.testing.assert_allclose(flow.decision_function(X), flow.score_samples(X) - flow.offset_)
    auto = FlowAnomalyDetector(**FAST).fit(X)  # Tukey's fence: a few percent
    assert 0 < (auto.predict(X) == -1).mean() < 0.1


def test_contamination_with_a_context_column_not_last():
    """offset_ comes from the same log-densities as score_samples, whatever the column order."""
    rng = np.random.default_rng(11)
    m = rng.normal(size=2000)
    X = pd.DataFrame({"a": rng.normal(size=2000), "mjj": m, "x": m + rng.normal(0, 0.3, 2000)})
    flow = FlowAnomalyDetector(context="mjj", contamination=0.1, **FAST).fit(X)
    assert (flow.predict(X) == -1).mean() == pytest.approx(0.1, abs=0.002)
    draws = flow.sample(context=np.full(1000, 1.0), random_state=0)
    np.testing.assert_array_equal(draws[:, 1], 1.0)
    assert abs(draws[:, 2].mean() - 1.0) < 0.15 and abs(draws[:, 0].mean()) < 0.15


def test_two_context_columns_in_any_order():
    rng = np.random.default_rng(12)
    u, v = rng.uniform(0, 1, (2, 3000))
    X = pd.DataFrame({"u": u, "x": u - v + rng.normal(0, 0.05, 3000), "v": v})
    flow = FlowAnomalyDetector(context=["v", "u"], **FAST).fit(X)
    assert flow.context_index_.tolist() == [2, 0]
    draws = flow.sample(context=np.tile([0.8, 0.3], (1000, 1)), random_state=0)  # v, u
    np.testing.assert_array_equal(draws[:, [2, 0]], np.tile([0.8, 0.3], (1000, 1)))
    assert abs(draws[:, 1].mean() - (0.3 - 0.8)) < 0.1


def test_conditional_density_discounts_a_rare_context():
    """p(x | m) does not penalise a rare mass; p(x, m) does."""
    rng = np.random.default_rng(3)
    m = rng.normal(size=4000)
    X = pd.DataFrame({"mjj": m, "x": m + rng.normal(0, 0.2, 4000)})
    cond = FlowAnomalyDetector(context="mjj", **FAST).fit(X)
    joint = FlowAnomalyDetector(**FAST).fit(X)
    typical = pd.DataFrame({"mjj": [0.0], "x": [0.0]})
    rare_mass = pd.DataFrame({"mjj": [2.5], "x": [2.5]})  # rare m, x typical given m
    off = pd.DataFrame({"mjj": [0.0], "x": [1.0]})  # typical m, x five widths off
    assert cond.score_samples(rare_mass)[0] > cond.score_samples(off)[0] + 3
    assert abs(cond.score_samples(rare_mass)[0] - cond.score_samples(typical)[0]) < 1.5
    assert joint.score_samples(rare_mass)[0] < joint.score_samples(typical)[0] - 2
    assert cond.context_index_.tolist() == [0]


def test_sample_draws_from_the_learned_conditional_density():
    rng = np.random.default_rng(4)
    m = rng.uniform(1, 2, 4000)
    X = np.c_[m, 2 * m + rng.normal(0, 0.1, 4000), rng.exponential(1.0, 4000)]
    flow = FlowAnomalyDetector(context=0, **FAST).fit(X)
    draws = flow.sample(context=np.full(2000, 1.5), random_state=0)
    assert draws.shape == (2000, 3)
    np.testing.assert_array_equal(draws[:, 0], 1.5)
    assert abs(draws[:, 1].mean() - 3.0) < 0.1
    assert abs(draws[:, 2].mean() - 1.0) < 0.2
    again = flow.sample(context=np.full(2000, 1.5), random_state=0)
    np.testing.assert_array_equal(draws, again)
    with pytest.raises(ValueError, match="context"):
        flow.sample(100)
    with pytest.raises(ValueError, match="shape"):
        flow.sample(context=np.ones((5, 2)))


def test_unconditional_sample_matches_the_training_marginals():
    rng = np.random.default_rng(5)
    X = np.c_[rng.normal(5, 2, 3000), rng.gamma(2.0, 1.0, 3000)]
    flow = FlowAnomalyDetector(**FAST).fit(X)
    draws = flow.sample(3000, random_state=1)
    np.testing.assert_allclose(draws.mean(axis=0), X.mean(axis=0), rtol=0.1)
    np.testing.assert_allclose(draws.std(axis=0), X.std(axis=0), rtol=0.15)
    with pytest.raises(ValueError, match="without context"):
        flow.sample(10, context=[1.0])
    with pytest.raises(ValueError, match="positive integer"):
        flow.sample()


def test_sample_weight_moves_the_density():
    """Two equal clusters; weight 10 on one makes its events the more probable."""
    rng = np.random.default_rng(6)
    a = rng.normal(-3, 0.5, (1000, 1))
    b = rng.normal(3, 0.5, (1000, 1))
    X = np.r_[a, b]
    w = np.r_[np.full(1000, 10.0), np.ones(1000)]
    kw = {**FAST, "preprocessing": "standard"}
    weighted = FlowAnomalyDetector(**kw).fit(X, sample_weight=w)
    plain = FlowAnomalyDetector(**kw).fit(X)
    gap_w = weighted.score_samples([[-3.0]])[0] - weighted.score_samples([[3.0]])[0]
    gap = plain.score_samples([[-3.0]])[0] - plain.score_samples([[3.0]])[0]
    assert gap_w > 1.0  # log(10) = 2.3 for a perfect fit
    assert abs(gap) < 0.7


def test_early_stopping_restores_the_best_epoch_and_pickle_round_trip():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(600, 2))
    flow = FlowAnomalyDetector(**{**FAST, "max_epochs": 200, "n_iter_no_change": 3}).fit(X)
    assert flow.n_epochs_ < 200
    valid = [h["valid_loss"] for h in flow.history_]
    assert flow.best_epoch_ == int(np.argmin(valid)) + 1
    clone = pickle.loads(pickle.dumps(flow))
    np.testing.assert_array_equal(clone.score_samples(X), flow.score_samples(X))
    again = FlowAnomalyDetector(**{**FAST, "max_epochs": 200, "n_iter_no_change": 3}).fit(X)
    np.testing.assert_array_equal(again.score_samples(X), flow.score_samples(X))


@pytest.mark.parametrize("kind", ["nsf", "maf"])
def test_both_flow_kinds_learn(kind):
    rng = np.random.default_rng(8)
    X = _band(1500, rng)
    flow = FlowAnomalyDetector(**{**FAST, "flow": kind, "max_epochs": 15}).fit(X)
    valid = [h["valid_loss"] for h in flow.history_]
    assert min(valid) < valid[0] - 0.2
    assert isinstance(flow.net_.module_, DensityFlow)


def test_bad_input_gets_clear_errors():
    rng = np.random.default_rng(9)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["mjj", "a", "b"])
    fast = {**FAST, "max_epochs": 2}
    with pytest.raises(ValueError, match=r"NaN in column\(s\) \['a'\]"):
        FlowAnomalyDetector(**fast).fit(X.assign(a=np.r_[np.nan, X.a[1:]]))
    with pytest.raises(ValueError, match="contamination"):
        FlowAnomalyDetector(contamination=0.7, **fast).fit(X)
    with pytest.raises(ValueError, match="mass"):
        FlowAnomalyDetector(context="mass", **fast).fit(X)
    with pytest.raises(ValueError, match="nothing is left to model"):
        FlowAnomalyDetector(context=["mjj", "a", "b"], **fast).fit(X)
    with pytest.raises(ValueError, match="twice"):
        FlowAnomalyDetector(context=["mjj", 0], **fast).fit(X)
    flow = FlowAnomalyDetector(context="mjj", **fast).fit(X)
    with pytest.raises(ValueError, match="mjj"):  # the context column missing at predict
        flow.score_samples(X[["a", "b"]])
    with pytest.raises(ValueError, match="hidden_layers"):
        FlowAnomalyDetector(**{**fast, "hidden_layers": ()}).fit(X)


def test_constant_column_is_refused_naming_it():
    """A constant column has no density (the likelihood would grow without bound)."""
    rng = np.random.default_rng(10)
    X = np.c_[rng.normal(size=500), np.ones(500)]
    with pytest.raises(ValueError, match=r"Column\(s\) \['x1'\] are constant"):
        FlowAnomalyDetector(**{**FAST, "max_epochs": 2}).fit(X)
