"""skhep_ml.stats: the dijet sideband fit with its two minimisers (iminuit, scipy) and its quality."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skhep_ml.stats import (
    DEFAULT_FIT_METHOD,
    FIT_METHODS,
    DijetFit,
    dijet_bin_counts,
    fit_dijet_background,
    window_mask,
)

EDGES = np.round(np.arange(2.8, 4.61, 0.1), 3)  # 18 bins, as in benchmarks/sideband_fit.py
SR = (3.3, 3.7)
TRUTH = np.array([0.0, 10.0, 5.0])  # log p1 (any: the totals are scaled), p2, p3


def expected_counts(total):
    mu, _ = dijet_bin_counts(TRUTH, EDGES)
    return mu * total / mu.sum()


def toy(total, seed):
    return np.random.default_rng(seed).poisson(expected_counts(total))


@pytest.fixture(scope="module")
def large_fits():
    counts = toy(200_000, seed=1)
    return counts, {
        m: fit_dijet_background(counts, EDGES, exclude=SR, method=m) for m in FIT_METHODS
    }


@pytest.mark.parametrize("method", FIT_METHODS)
def test_both_backends_recover_the_generator_shape(large_fits, method):
    _, fits = large_fits
    fit = fits[method]
    assert fit.method == method and fit.success and fit.valid
    err = np.sqrt(np.diag(fit.covariance))
    assert np.all(np.abs(fit.params[1:] - TRUTH[1:]) < 3 * err[1:]), (fit.params, err)
    assert np.all(err[1:] < [1.5, 0.6])  # 200k events pin the shape down


def test_the_backends_agree(large_fits):
    _, fits = large_fits
    m, s = fits["minuit"], fits["scipy"]
    err = np.sqrt(np.diag(m.covariance))
    assert np.all(np.abs(m.params - s.params) < 0.3 * err)
    assert_allclose(np.sqrt(np.diag(s.covariance)), err, rtol=0.05)
    (bm, dbm), (bs, dbs) = m.expected(*SR), s.expected(*SR)
    assert abs(bm - bs) < 0.2 * dbm
    assert_allclose(dbs, dbm, rtol=0.05)
    # MIGRAD ends at the minimum; L-BFGS-B may stop a little short of it, never below
    assert m.deviance <= s.deviance + 1e-6


@pytest.mark.parametrize("method", FIT_METHODS)
def test_covariance_is_positive_definite(large_fits, method):
    fit = large_fits[1][method]
    assert fit.posdef
    assert_allclose(fit.covariance, fit.covariance.T, atol=1e-12 * np.abs(fit.covariance).max())
    assert np.linalg.eigvalsh(fit.covariance)[0] > 0


@pytest.mark.parametrize("method", FIT_METHODS)
def test_fit_quality_fields_are_filled(large_fits, method):
    counts, fits = large_fits
    fit = fits[method]
    assert fit.ndf == EDGES.size - 1 - 4 - 3
    assert fit.nfev > 0 and fit.ngrad > 0
    assert 0 <= fit.edm < 2e-3 if method == "minuit" else np.isfinite(fit.edm)
    assert not fit.at_limit
    assert 0 < fit.pvalue < 1 and 0 < fit.chi2_pvalue < 1
    assert fit.minos_errors is None
    # the deviance is the saturated-model likelihood ratio over the fitted bins
    mu, _ = fit.expected()
    n = counts[fit.fitted]
    mu = mu[fit.fitted]
    assert fit.deviance == pytest.approx(2 * np.sum(mu - n + n * np.log(n / mu)), rel=1e-9)
    assert fit.nll == pytest.approx(np.sum(mu - n * np.log(mu)), rel=1e-12)
    assert fit.chi2 == pytest.approx(np.sum((n - mu) ** 2 / mu), rel=1e-12)
    # large counts: the two goodness-of-fit statistics agree
    assert fit.deviance == pytest.approx(fit.chi2, rel=0.05)


@pytest.mark.parametrize("method", FIT_METHODS)
def test_window_pull_has_mean_zero_and_unit_width(method):
    # (n_obs - b) / sqrt(b + db^2) over 200 toys of 3000 events: a wrong b or db moves it
    truth = expected_counts(3000)
    rng = np.random.default_rng(7)
    sel = window_mask(EDGES, *SR)
    pulls = []
    for _ in range(200):
        counts = rng.poisson(truth)
        b, db = fit_dijet_background(counts, EDGES, exclude=SR, method=method).expected(*SR)
        pulls.append((counts[sel].sum() - b) / np.sqrt(b + db**2))
    pulls = np.array(pulls)
    # standard errors: 0.07 on the mean, 0.05 on the standard deviation
    assert abs(pulls.mean()) < 0.2, pulls.mean()
    assert 0.85 < pulls.std(ddof=1) < 1.15, pulls.std(ddof=1)


def test_minuit_is_valid_and_never_above_scipy_with_few_events():
    # 50 events, the regime after a tight classifier cut, where bounds become active:
    # L-BFGS-B reports convergence short of the minimum in a few percent of such
    # spectra (benchmarks/sideband_fit.py); MIGRAD with the active-set bounds must not
    rng = np.random.default_rng(3)
    truth = expected_counts(50)
    for _ in range(100):
        counts = rng.poisson(truth)
        m = fit_dijet_background(counts, EDGES, exclude=SR, method="minuit")
        s = fit_dijet_background(counts, EDGES, exclude=SR, method="scipy")
        assert m.valid and m.posdef and m.edm < 2e-3
        assert np.all(m.params[1:] >= 0)
        assert m.deviance <= s.deviance + 1e-3


@pytest.mark.parametrize("method", FIT_METHODS)
def test_a_low_count_spectrum_fits(method):
    counts = np.array([8, 6, 4, 3, 2, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0])  # 30 events
    fit = fit_dijet_background(counts, EDGES, exclude=SR, method=method)
    assert fit.success and fit.valid and fit.posdef
    assert np.all(fit.params[1:] >= 0)
    b, db = fit.expected(*SR)
    assert 0 < b < 30 and 0 < db < b
    assert 0 <= fit.pvalue <= 1


def test_minuit_keeps_the_bounds_by_fixing_a_parameter_at_zero():
    # a flat sideband: the best falling shape is p2 = p3 = 0 or on a face of the bounds
    fit = fit_dijet_background(np.full(18, 10.0), EDGES, exclude=SR, method="minuit")
    assert fit.valid and fit.at_limit
    assert np.all(fit.params[1:] >= 0) and np.any(fit.params[1:] == 0)
    held = np.flatnonzero(fit.params == 0)
    assert np.all(fit.covariance[held] == 0)  # no variance for a parameter held at 0
    b, _ = fit.expected(*SR)
    assert b == pytest.approx(40.0, rel=1e-3)


def test_minos_errors():
    counts = toy(50_000, seed=2)
    fit = fit_dijet_background(counts, EDGES, exclude=SR, method="minuit", minos=True)
    assert fit.minos_errors.shape == (3, 2)
    assert np.isnan(fit.minos_errors[0]).all()  # log p1 is not a parameter of the fit
    lower, upper = fit.minos_errors[1:].T
    hesse = np.sqrt(np.diag(fit.covariance))[1:]
    assert np.all(lower < 0) and np.all(upper > 0)
    assert_allclose(-lower, hesse, rtol=0.2)  # nearly Gaussian at 50k events
    assert_allclose(upper, hesse, rtol=0.2)


def test_bad_method_and_minos_with_scipy():
    counts = toy(1000, seed=0)
    with pytest.raises(ValueError, match="method must be one of"):
        fit_dijet_background(counts, EDGES, exclude=SR, method="migrad")
    with pytest.raises(ValueError, match="minos=True needs method='minuit'"):
        fit_dijet_background(counts, EDGES, exclude=SR, method="scipy", minos=True)


def test_default_method_and_old_style_construction():
    assert DEFAULT_FIT_METHOD in FIT_METHODS
    fit = fit_dijet_background(toy(1000, seed=0), EDGES, exclude=SR)
    assert fit.method == DEFAULT_FIT_METHOD
    # DijetFit built with the eight fields it had before the quality fields
    old = DijetFit(fit.params, fit.covariance, EDGES, fit.fitted, 13.0, fit.chi2, fit.ndf, True)
    assert old.expected(*SR) == pytest.approx(fit.expected(*SR))
    assert old.method == "scipy" and np.isnan(old.pvalue)


def test_bump_hunt_passes_the_fit_method_through():
    from skhep_ml.bump_hunt import bump_hunt

    mass = np.random.default_rng(0).choice(
        0.5 * (EDGES[1:] + EDGES[:-1]), size=5000, p=expected_counts(1)
    )
    for method in FIT_METHODS:
        res = bump_hunt(mass, None, (1.0,), EDGES, windows=[SR], fit_method=method)
        assert res.fits[0, 1.0].method == method
    assert bump_hunt(mass, None, (1.0,), EDGES, windows=[SR]).fits[0, 1.0].method == (
        DEFAULT_FIT_METHOD
    )
