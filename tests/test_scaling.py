"""The feature transforms learned inside the unsupervised neural estimators."""

import numpy as np
import pytest
from scipy import stats

from skhep_ml._scaling import FeatureTransform, _interp


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return np.c_[
        rng.exponential(1.0, 5000),  # heavy tail (a mass)
        rng.integers(0, 4, 5000),  # discrete (a jet count)
        np.full(5000, 3.0),  # constant
        rng.uniform(0, 1, 5000),  # bounded (a tau21)
    ]


def test_quantile_makes_continuous_marginals_standard_normal(X):
    Z = FeatureTransform("quantile").fit(X).transform(X)
    for j in (0, 3):
        assert stats.kstest(Z[:, j], "norm").statistic < 0.01
    np.testing.assert_array_equal(Z[:, 2], 0.0)  # a constant maps to 0


def test_quantile_ties_become_one_value_each_in_order(X):
    Z = FeatureTransform("quantile").fit(X).transform(X)
    levels = [np.unique(Z[X[:, 1] == v, 1]) for v in range(4)]
    assert all(lv.size == 1 for lv in levels)
    assert np.all(np.diff([lv[0] for lv in levels]) > 0)


def test_values_beyond_the_training_range_stay_far_out(X):
    t = FeatureTransform("quantile").fit(X)
    top = t.transform(X).max(axis=0)[0]
    far = t.transform(np.array([[50.0, 1.0, 3.0, 0.5], [100.0, 1.0, 3.0, 0.5]]))[:, 0]
    assert far[0] > top + 10
    q25, q75 = np.percentile(X[:, 0], [25, 75])
    # linear tail with slope 1 / robust width
    assert far[1] - far[0] == pytest.approx(50.0 / ((q75 - q25) / 1.349), rel=1e-5)


@pytest.mark.parametrize("kind", ["quantile", "standard", "minmax"])
def test_inverse_and_knots_reproduce_the_transform(X, kind):
    t = FeatureTransform(kind).fit(X)
    Z = t.transform(X)
    np.testing.assert_allclose(t.inverse_transform(Z)[:, [0, 1, 3]], X[:, [0, 1, 3]], atol=1e-5)
    knots, values = t.knots()
    assert np.all(np.diff(knots, axis=0) > 0)  # strictly increasing per feature
    outside = np.vstack([X, X.max(axis=0) + 7.0, X.min(axis=0) - 7.0])
    np.testing.assert_allclose(_interp(outside, knots, values), t.transform(outside), atol=1e-5)


def test_standard_and_minmax():
    X = np.c_[np.arange(10.0), 5 * np.arange(10.0) + 1]
    np.testing.assert_allclose(FeatureTransform("minmax").fit(X).transform(X).max(axis=0), 1.0)
    Z = FeatureTransform("standard").fit(X).transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="kind"):
        FeatureTransform("robust")
