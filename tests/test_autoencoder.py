"""AutoencoderAnomalyDetector and make_anomaly_events."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhep_ml import AutoencoderAnomalyDetector
from skhep_ml.datasets import ANOMALY_SOURCES, make_anomaly_events
from skhep_ml.estimator_checks import expected_failed_checks

FAST = dict(hidden_layers=(8, 2, 8), max_epochs=30, lr=1e-2, batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def manifold():
    """Three features on a 1-D curve, plus noise."""
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, (1500, 1))
    X = np.hstack([t, t**2, 1 - t, np.sin(3 * t)]) + rng.normal(0, 0.01, (1500, 4))
    return pd.DataFrame(X, columns=["a", "b", "c", "d"])


@pytest.fixture(scope="module")
def fitted(manifold):
    return AutoencoderAnomalyDetector(contamination=0.05, **FAST).fit(manifold)


@parametrize_with_checks(
    [
        AutoencoderAnomalyDetector(
            variational=True, score_type="elbo", hidden_layers=(8, 2, 8), max_epochs=10, lr=1e-2
        )
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_vae_sklearn_compatible(estimator, check):
    check(estimator)


def test_predict_agrees_with_sign_of_decision_function(fitted, manifold):
    decision = fitted.decision_function(manifold)
    pred = fitted.predict(manifold)
    np.testing.assert_array_equal(pred, np.where(decision < 0, -1, 1))
    np.testing.assert_allclose(decision, fitted.score_samples(manifold) - fitted.offset_)
    assert set(np.unique(pred)) == {-1, 1}


def test_contamination_sets_the_training_outlier_fraction(fitted, manifold):
    frac = np.mean(fitted.predict(manifold) == -1)
    assert 0.045 <= frac <= 0.055
    assert np.mean(fitted.fit_predict(manifold) == -1) == pytest.approx(frac, abs=0.005)


def test_auto_contamination_is_tukeys_fence(manifold):
    ad = AutoencoderAnomalyDetector(**FAST).fit(manifold)
    raw = -ad.score_samples(manifold)
    q1, q3 = np.percentile(raw, [25, 75])
    assert ad.offset_ == pytest.approx(-(q3 + 1.5 * (q3 - q1)))


def test_anomaly_score_transforms(fitted, manifold):
    raw = -fitted.score_samples(manifold)
    np.testing.assert_allclose(fitted.anomaly_score(manifold), np.tanh(raw))
    none = clone(fitted).set_params(score_transform="none")
    none.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    np.testing.assert_allclose(none.anomaly_score(manifold), raw)
    assert np.all((fitted.anomaly_score(manifold) >= 0) & (fitted.anomaly_score(manifold) < 1))


def test_off_manifold_events_score_higher(fitted, manifold):
    odd = manifold.iloc[:50].copy()
    odd["b"] = 1.0 - odd["b"]  # breaks b = a**2
    assert np.median(fitted.anomaly_score(odd)) > np.quantile(fitted.anomaly_score(manifold), 0.95)


def test_per_feature_error_ranks_the_anomalous_feature_first(fitted, manifold):
    odd = manifold.iloc[:200].copy()
    odd["d"] = odd["d"] + 1.0  # only feature d is anomalous (3 standard deviations)
    err = fitted.reconstruction_error(odd)
    assert list(err.columns) == ["a", "b", "c", "d"]
    assert err.index.equals(odd.index)
    assert err.mean().idxmax() == "d"
    np.testing.assert_allclose(
        fitted.reconstruction_error(odd, per_feature=False), err.mean(axis=1).to_numpy()
    )


def test_numpy_input_gets_generic_column_names(manifold):
    ad = AutoencoderAnomalyDetector(**{**FAST, "max_epochs": 2}).fit(manifold.to_numpy())
    assert list(ad.reconstruction_error(manifold.to_numpy()[:3]).columns) == [
        "x0",
        "x1",
        "x2",
        "x3",
    ]


def test_vae_elbo_and_mse_scores(manifold):
    vae = AutoencoderAnomalyDetector(variational=True, score_type="elbo", **FAST).fit(manifold)
    elbo = -vae.score_samples(manifold)
    mse = vae.reconstruction_error(manifold, per_feature=False)
    # negative ELBO = summed squared error + beta * KL >= summed squared error
    assert np.all(elbo >= mse * manifold.shape[1] - 1e-12)
    assert np.all(np.isfinite(elbo))
    # deterministic scoring (posterior mean at evaluation)
    np.testing.assert_array_equal(elbo, -vae.score_samples(manifold))


def test_elbo_needs_a_vae(manifold):
    with pytest.raises(ValueError, match="variational=True"):
        AutoencoderAnomalyDetector(score_type="elbo").fit(manifold)


def test_nan_is_refused_with_a_clear_error(fitted, manifold):
    bad = manifold.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AutoencoderAnomalyDetector(**FAST).fit(bad)
    with pytest.raises(ValueError, match="NaN"):
        fitted.score_samples(bad)


def test_sample_weight_focuses_the_reconstruction(manifold):
    # upweighting one region of the curve lowers its reconstruction error
    region = (manifold["a"] > 0.8).to_numpy()
    w = np.where(region, 20.0, 1.0)
    plain = AutoencoderAnomalyDetector(**{**FAST, "hidden_layers": (4, 1, 4)}).fit(manifold)
    weighted = AutoencoderAnomalyDetector(**{**FAST, "hidden_layers": (4, 1, 4)}).fit(
        manifold, sample_weight=w
    )
    e_plain = plain.reconstruction_error(manifold[region], per_feature=False).mean()
    e_weighted = weighted.reconstruction_error(manifold[region], per_feature=False).mean()
    assert e_weighted < e_plain


def test_reproducible_and_picklable(fitted, manifold):
    again = clone(fitted).fit(manifold)
    np.testing.assert_array_equal(again.score_samples(manifold), fitted.score_samples(manifold))
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.score_samples(manifold), fitted.score_samples(manifold))


def test_early_stopping_on_validation_reconstruction_loss(manifold):
    ad = AutoencoderAnomalyDetector(**{**FAST, "max_epochs": 200, "n_iter_no_change": 3})
    ad.fit(manifold)
    assert ad.n_epochs_ < 200
    losses = [h["valid_loss"] for h in ad.history_]
    assert ad.best_epoch_ == int(np.argmin(losses)) + 1


# -- make_anomaly_events ------------------------------------------------------
def test_make_anomaly_events_shape_and_contamination():
    X, y, src = make_anomaly_events(5000, contamination=0.02, return_source=True, random_state=3)
    assert X.shape == (5000, 14) and X.notna().all().all()
    assert y.sum() == 100 and np.all((src == "anomaly") == (y == 1))
    assert set(src) == {*ANOMALY_SOURCES, "anomaly"}
    X2, _ = make_anomaly_events(5000, contamination=0.02, random_state=3)
    pd.testing.assert_frame_equal(X, X2)
    only = make_anomaly_events(
        500, background_fractions={"spill_over": 1.0}, return_source=True, random_state=0
    )[2]
    assert set(only) <= {"spill_over", "anomaly"}


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(contamination=1.5),
        dict(n_samples=0),
        dict(background_fractions={"cosmic": 1.0}),
        dict(anomaly_mass_ratio=0),
    ],
)
def test_make_anomaly_events_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        make_anomaly_events(**{"n_samples": 100, **kwargs})


@pytest.mark.slow
def test_autoencoder_beats_isolation_forest_on_make_anomaly_events():
    X, _ = make_anomaly_events(20000, contamination=0.01, random_state=0)
    Xt, yt = make_anomaly_events(20000, contamination=0.05, random_state=1)
    ae = AutoencoderAnomalyDetector(random_state=0).fit(X)
    forest = IsolationForest(random_state=0).fit(X)
    assert roc_auc_score(yt, ae.anomaly_score(Xt)) >= roc_auc_score(yt, -forest.score_samples(Xt))


def test_warm_start_continues_from_the_fitted_weights(manifold):
    """A second fit with warm_start=True starts where the first ended: its first
    epoch's loss is near the first fit's last, far below a fresh fit's first."""
    kw = dict(FAST, max_epochs=10, lr_schedule=None, validation_fraction=None)
    ad = AutoencoderAnomalyDetector(warm_start=True, **kw).fit(manifold)
    first = ad.history_[:, "train_loss"]
    ad.fit(manifold)
    second = ad.history_[:, "train_loss"]
    assert len(second) == 20
    assert first[0] > 3 * first[-1]  # the first fit did learn
    assert second[10] < 1.5 * first[-1]
    assert second[10] < first[0] / 2
    fresh = AutoencoderAnomalyDetector(warm_start=False, **kw).fit(manifold).fit(manifold)
    assert len(fresh.history_) == 10
    assert fresh.history_[0, "train_loss"] == pytest.approx(first[0])


@pytest.mark.parametrize("n_features, layers", [(4, (8, 1, 8)), (14, (28, 3, 28))])
def test_auto_layers_follow_the_rule_with_a_narrow_bottleneck(n_features, layers):
    """hidden_layers="auto" is (2n, n // 4, 2n): the bottleneck is always narrower than
    the input (v0.1's 5-wide bottleneck on LHCO's 4 features could learn the identity)."""
    X = np.random.default_rng(0).normal(size=(200, n_features))
    ad = AutoencoderAnomalyDetector(max_epochs=1, random_state=0, verbose=0).fit(X)
    widths = [m.out_features for m in ad.net_.module_.modules() if isinstance(m, torch.nn.Linear)]
    assert tuple(widths[:-1]) == layers and widths[-1] == n_features
    assert layers[1] < n_features


def test_minmax_preprocessing_keeps_the_v01_sigmoid_output():
    X = np.random.default_rng(0).uniform(0, 5, size=(200, 3))
    ad = AutoencoderAnomalyDetector(preprocessing="minmax", max_epochs=1, verbose=0).fit(X)
    assert isinstance(list(ad.net_.module_.modules())[-1], torch.nn.Sigmoid)
    std = AutoencoderAnomalyDetector(max_epochs=1, verbose=0).fit(X)
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in std.net_.module_.modules())
