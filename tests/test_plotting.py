"""The Display classes of skhep_ml.plotting agree with skhep_ml.metrics."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skhep_ml.bump_hunt import bump_hunt  # noqa: E402
from skhep_ml.metrics import (  # noqa: E402
    background_rejection,
    efficiency_score,
    inverse_jsd,
    mass_sculpting_jsd,
    max_sic,
    purity_score,
    sic_curve,
)
from skhep_ml.plotting import (  # noqa: E402
    AttentionDisplay,
    BumpHuntDisplay,
    DecorrelationTradeoffDisplay,
    MassSculptingDisplay,
    PurityEfficiencyDisplay,
    RejectionCurveDisplay,
    ScoreDistributionDisplay,
    SICCurveDisplay,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _toy(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(int)
    mass = rng.uniform(50.0, 150.0, n)
    X = np.c_[y + rng.normal(0, 1, n), 0.01 * mass + rng.normal(0, 0.5, n)]
    w = rng.uniform(0.5, 2.0, n)
    return X, y, mass, w


@pytest.fixture(scope="module")
def toy():
    X, y, mass, w = _toy()
    clf = LogisticRegression().fit(X, y)
    return X, y, mass, w, clf, clf.predict_proba(X)[:, 1]


def test_import_does_not_import_matplotlib():
    code = "import skhep_ml, skhep_ml.plotting, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- #
# RejectionCurveDisplay
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("weighted", [False, True])
def test_rejection_matches_metric(toy, weighted):
    _, y, _, w, _, s = toy
    w = w if weighted else None
    disp = RejectionCurveDisplay.from_predictions(y, s, sample_weight=w, name="lr")
    for eff in (0.3, 0.5, 0.8):
        got = 1.0 / np.interp(eff, disp.signal_efficiency, 1.0 / disp.background_rejection)
        assert got == pytest.approx(
            background_rejection(y, s, signal_efficiency=eff, sample_weight=w)
        )
    from sklearn.metrics import roc_auc_score

    assert disp.auc == pytest.approx(roc_auc_score(y, s, sample_weight=w))
    assert disp.name == "lr"
    assert disp.ax_.get_yscale() == "log"
    assert "lr" in disp.ax_.get_legend().get_texts()[0].get_text()


def test_rejection_ax_and_estimator(toy):
    X, y, _, w, clf, s = toy
    fig, ax = plt.subplots()
    disp = RejectionCurveDisplay.from_estimator(clf, X, y, sample_weight=w, ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig
    assert disp.line_ in ax.lines
    assert disp.name == "LogisticRegression"
    ref = RejectionCurveDisplay.from_predictions(y, s, sample_weight=w)
    np.testing.assert_allclose(disp.signal_efficiency, ref.signal_efficiency)
    np.testing.assert_allclose(disp.background_rejection, ref.background_rejection)
    # decision_function gives the same ranking, hence the same curve
    dec = RejectionCurveDisplay.from_estimator(
        clf, X, y, sample_weight=w, response_method="decision_function"
    )
    np.testing.assert_allclose(dec.background_rejection, ref.background_rejection)


def test_rejection_weights_change_curve(toy):
    _, y, _, w, _, s = toy
    a = RejectionCurveDisplay.from_predictions(y, s)
    b = RejectionCurveDisplay.from_predictions(y, s, sample_weight=w)
    assert not np.allclose(
        np.interp(0.5, a.signal_efficiency, a.background_rejection),
        np.interp(0.5, b.signal_efficiency, b.background_rejection),
    )


def test_rejection_plot_again(toy):
    _, y, _, _, _, s = toy
    disp = RejectionCurveDisplay.from_predictions(y, s)
    _, ax = plt.subplots()
    assert disp.plot(ax=ax, name="again", color="red") is disp
    assert disp.ax_ is ax and disp.line_.get_color() == "red"


@pytest.mark.parametrize(
    "display", [RejectionCurveDisplay, SICCurveDisplay], ids=["rejection", "sic"]
)
def test_curve_bad_input(display):
    with pytest.raises(ValueError, match="Inconsistent"):
        display.from_predictions([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="binary"):
        display.from_predictions([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="sample_weight"):
        display.from_predictions([0, 1, 1], [0.1, 0.2, 0.3], sample_weight=[1, 1])
    with pytest.raises(ValueError, match="NaN"):
        display.from_predictions([0, 1, 1], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match="response_method"):
        display.from_estimator(LogisticRegression(), [[0]], [0], response_method="predict")


# --------------------------------------------------------------------------- #
# SICCurveDisplay
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("floor", [None, 0.05])
def test_sic_matches_metric(toy, floor):
    _, y, _, w, _, s = toy
    disp = SICCurveDisplay.from_predictions(y, s, sample_weight=w, min_background_efficiency=floor)
    eps_s, sic = sic_curve(y, s, sample_weight=w)
    np.testing.assert_allclose(disp.signal_efficiency, eps_s)
    np.testing.assert_allclose(disp.sic, sic)
    np.testing.assert_allclose(disp.sic, eps_s * np.sqrt(disp.background_rejection))
    assert disp.max_sic == pytest.approx(
        max_sic(y, s, sample_weight=w, min_background_efficiency=floor)
    )
    i = np.flatnonzero(disp.sic == disp.max_sic)[0]
    assert disp.max_sic_signal_efficiency == disp.signal_efficiency[i]
    if floor is not None:
        assert 1.0 / disp.max_sic_background_rejection >= floor
    assert disp.max_marker_.get_ydata()[0] == disp.max_sic


def test_sic_x_axis_and_estimator(toy):
    X, y, _, w, clf, s = toy
    _, ax = plt.subplots()
    disp = SICCurveDisplay.from_estimator(
        clf, X, y, sample_weight=w, x="background_rejection", ax=ax, min_background_efficiency=0.01
    )
    assert disp.ax_ is ax and ax.get_xscale() == "log"
    np.testing.assert_allclose(disp.line_.get_xdata(), disp.background_rejection)
    ref = SICCurveDisplay.from_predictions(y, s, sample_weight=w, min_background_efficiency=0.01)
    np.testing.assert_allclose(disp.sic, ref.sic)
    assert disp.max_sic == ref.max_sic
    with pytest.raises(ValueError, match="x must be"):
        disp.plot(x="mass")
    unweighted = SICCurveDisplay.from_predictions(y, s)
    assert unweighted.max_sic != ref.max_sic


def test_sic_floor_validated(toy):
    _, y, _, _, _, s = toy
    with pytest.raises(ValueError, match="min_background_efficiency"):
        SICCurveDisplay.from_predictions(y, s, min_background_efficiency=2.0)


# --------------------------------------------------------------------------- #
# MassSculptingDisplay
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("weighted", [False, True])
def test_sculpting_matches_metric(toy, weighted):
    _, y, mass, w, _, s = toy
    w = w if weighted else None
    disp = MassSculptingDisplay.from_predictions(y, s, mass, bins=10, sample_weight=w)
    assert disp.signal_efficiencies == (0.3, 0.5, 0.7)
    for i, eff in enumerate(disp.signal_efficiencies):
        kw = dict(signal_efficiency=eff, bins=10, sample_weight=w)
        assert disp.jsd[i] == pytest.approx(mass_sculpting_jsd(y, s, mass, **kw))
        assert disp.inverse_jsd[i] == pytest.approx(inverse_jsd(y, s, mass, **kw))
        # the cut keeps at least the asked signal efficiency
        ww = np.ones_like(s) if w is None else w
        passed = (s >= disp.thresholds[i]) & (y == 1)
        assert ww[passed].sum() / ww[y == 1].sum() >= eff
    widths = np.diff(disp.bin_edges)
    for h in [disp.background, *disp.background_after]:
        assert (h * widths).sum() == pytest.approx(1.0)
    texts = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert f"{disp.jsd[1]:.3g}" in texts[2]


def test_sculpting_estimator_and_ax(toy):
    import pandas as pd

    X, y, mass, w, clf, s = toy
    fig, ax = plt.subplots()
    disp = MassSculptingDisplay.from_estimator(
        clf, X, y, mass=mass, sample_weight=w, ax=ax, signal_efficiencies=(0.5,), bins=8
    )
    assert disp.ax_ is ax and disp.figure_ is fig and len(disp.lines_) == 2
    ref = MassSculptingDisplay.from_predictions(
        y, s, mass, sample_weight=w, signal_efficiencies=(0.5,), bins=8
    )
    np.testing.assert_allclose(disp.jsd, ref.jsd)
    np.testing.assert_allclose(disp.background_after[0], ref.background_after[0])
    # the mass as a column of a DataFrame
    df = pd.DataFrame(X, columns=["a", "b"]).assign(m=mass)
    clf2 = LogisticRegression().fit(df, y)
    by_name = MassSculptingDisplay.from_estimator(clf2, df, y, mass="m", bins=8)
    assert by_name.xlabel == "m" and by_name.ax_.get_xlabel() == "m"
    unweighted = MassSculptingDisplay.from_predictions(
        y, s, mass, signal_efficiencies=(0.5,), bins=8
    )
    assert unweighted.jsd[0] != ref.jsd[0]


def test_sculpting_bad_input(toy):
    X, y, mass, _, clf, s = toy
    with pytest.raises(ValueError, match="Inconsistent"):
        MassSculptingDisplay.from_predictions(y, s, mass[:-1])
    with pytest.raises(ValueError, match="signal_efficiency"):
        MassSculptingDisplay.from_predictions(y, s, mass, signal_efficiencies=(1.5,))
    with pytest.raises(ValueError, match="empty"):
        MassSculptingDisplay.from_predictions(y, s, mass, signal_efficiencies=())
    with pytest.raises(ValueError, match="DataFrame"):
        MassSculptingDisplay.from_estimator(clf, X, y, mass="m")


# --------------------------------------------------------------------------- #
# PurityEfficiencyDisplay
# --------------------------------------------------------------------------- #
def _pid(n=600, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.choice([211, 321, 2212], n)
    pt = rng.uniform(0.2, 3.0, n)
    # misidentification grows with pT
    wrong = rng.random(n) < 0.1 + 0.2 * pt
    y_pred = np.where(wrong, rng.choice([211, 321, 2212], n), y)
    return y, y_pred, pt, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("weighted", [False, True])
def test_purity_efficiency_matches_metrics(weighted):
    y, y_pred, pt, w = _pid()
    w = w if weighted else None
    edges = np.array([0.2, 1.0, 2.0, 3.0])
    disp = PurityEfficiencyDisplay.from_predictions(
        y, y_pred, pt, bins=edges, pos_label=321, sample_weight=w, xlabel="pT"
    )
    np.testing.assert_allclose(disp.bin_edges, edges)
    for b in range(3):
        m = (pt >= edges[b]) & (pt < edges[b + 1])
        wb = None if w is None else w[m]
        assert disp.efficiency[b] == pytest.approx(
            efficiency_score(y[m], y_pred[m], pos_label=321, sample_weight=wb)
        )
        assert disp.purity[b] == pytest.approx(
            purity_score(y[m], y_pred[m], pos_label=321, sample_weight=wb)
        )
    assert np.all(disp.efficiency_err > 0) and np.all(disp.purity_err > 0)
    if w is None:  # binomial error with the plain count
        m = (pt >= edges[0]) & (pt < edges[1]) & (y == 321)
        e = disp.efficiency[0]
        assert disp.efficiency_err[0] == pytest.approx(np.sqrt(e * (1 - e) / m.sum()))
    assert disp.ax_.get_xlabel() == "pT"


def test_purity_efficiency_estimator_ax_and_weights():
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    X, y, mass, w = _toy()
    df = pd.DataFrame(X, columns=["a", "b"]).assign(pt=mass)
    clf = DecisionTreeClassifier(max_depth=2, random_state=0).fit(df, y)
    fig, ax = plt.subplots()
    disp = PurityEfficiencyDisplay.from_estimator(clf, df, y, variable="pt", bins=4, ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig and disp.xlabel == "pt"
    ref = PurityEfficiencyDisplay.from_predictions(y, clf.predict(df), mass, bins=4)
    np.testing.assert_allclose(disp.purity, ref.purity)
    np.testing.assert_allclose(disp.efficiency, ref.efficiency)
    weighted = PurityEfficiencyDisplay.from_predictions(
        y, clf.predict(df), mass, bins=4, sample_weight=w
    )
    assert not np.allclose(weighted.efficiency, ref.efficiency)
    # an empty bin gives NaN, not an error
    empty = PurityEfficiencyDisplay.from_predictions(y, clf.predict(df), mass, bins=[0, 10, 200])
    assert np.isnan(empty.efficiency[0]) and np.isfinite(empty.efficiency[1])


def test_purity_efficiency_bad_input():
    y, y_pred, pt, w = _pid()
    with pytest.raises(ValueError, match="Inconsistent"):
        PurityEfficiencyDisplay.from_predictions(y, y_pred[:-1], pt)
    with pytest.raises(ValueError, match="Inconsistent"):
        PurityEfficiencyDisplay.from_predictions(y, y_pred, pt[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        PurityEfficiencyDisplay.from_predictions(y, y_pred, pt, sample_weight=w[:3])
    with pytest.raises(ValueError, match="NaN"):
        PurityEfficiencyDisplay.from_predictions(y, y_pred, np.r_[np.nan, pt[1:]])


# --------------------------------------------------------------------------- #
# BumpHuntDisplay
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def hunt():
    rng = np.random.default_rng(0)
    mass = np.r_[2.8 + rng.exponential(0.4, 6000), rng.normal(3.5, 0.05, 300)]
    score = np.r_[rng.normal(0, 1, 6000), rng.normal(2, 1, 300)]
    rank = np.argsort(np.argsort(-score)) / score.size
    return bump_hunt(
        mass,
        lambda lo, hi: rank,
        (1.0, 0.1),
        np.linspace(2.8, 4.4, 17),
        windows=[(3.2, 3.4), (3.4, 3.6), (3.6, 3.8)],
        fit_method="scipy",
    )


def test_bump_hunt_display_matches_result(hunt):
    disp = BumpHuntDisplay.from_result(hunt)
    assert disp.efficiencies == (1.0, 0.1)
    for i, eff in enumerate(disp.efficiencies):
        rows = hunt.table[hunt.table.efficiency == eff]
        np.testing.assert_allclose(disp.significance[i], rows.significance.to_numpy())
    # the window: the largest significance after the tightest cut
    tight = hunt.table[hunt.table.efficiency == 0.1].significance.to_numpy()
    best = int(tight.argmax())
    assert disp.window == hunt.windows[best] == (3.4, 3.6)
    for i, eff in enumerate(disp.efficiencies):
        np.testing.assert_allclose(disp.counts[i], hunt.spectra[best, eff])
        mu, unc = hunt.fits[best, eff].expected()
        np.testing.assert_allclose(disp.background[i], mu)
        np.testing.assert_allclose(disp.background_unc[i], unc)
        np.testing.assert_allclose(disp.significance_lines_[i].get_ydata(), disp.significance[i])
    np.testing.assert_allclose(disp.window_centres, [3.3, 3.5, 3.7])
    assert len(disp.ax_) == 3 and disp.ax_[0].get_yscale() == "log"
    assert len(disp.spectra_) == len(disp.background_lines_) == len(disp.residuals_) == 2
    # the legend gives the significance of the drawn window after each cut
    texts = [t.get_text() for t in disp.ax_[0].get_legend().get_texts()]
    assert f"{tight[best]:.1f}" in texts[1]


def test_bump_hunt_display_choices_and_ax(hunt):
    fig, axes = plt.subplots(3, 1)
    disp = BumpHuntDisplay.from_result(hunt, window=0, efficiencies=1.0, ax=axes)
    assert all(a is b for a, b in zip(disp.ax_, axes)) and disp.figure_ is fig
    np.testing.assert_allclose(disp.counts, [hunt.spectra[0, 1.0]])
    # one Axes: the spectrum panel alone
    fig, ax = plt.subplots()
    one = BumpHuntDisplay.from_result(hunt, ax=ax)
    assert len(one.ax_) == 1 and one.residuals_ == [] and len(one.spectra_) == 2
    # the result's own plot is this display
    assert isinstance(hunt.plot(window=1), BumpHuntDisplay)
    with pytest.raises(ValueError, match="efficiencies"):
        BumpHuntDisplay.from_result(hunt, efficiencies=0.5)
    with pytest.raises(ValueError, match="window"):
        BumpHuntDisplay.from_result(hunt, window=3)
    with pytest.raises(ValueError, match="three"):
        disp.plot(ax=axes[:2])


def test_sic_display_from_a_metrics_curve(toy):
    y, p = toy[1], toy[5]
    eps_s, sic = sic_curve(y, p)
    disp = SICCurveDisplay(signal_efficiency=eps_s, sic=sic)
    ref = SICCurveDisplay.from_predictions(y, p)
    np.testing.assert_allclose(disp.background_rejection, ref.background_rejection, rtol=1e-9)


# --------------------------------------------------------------------------- #
# ScoreDistributionDisplay
# --------------------------------------------------------------------------- #
def test_score_distribution_matches_numpy_and_weights():
    rng = np.random.default_rng(1)
    score = rng.uniform(size=600)
    groups = np.repeat([2, 0, 1], 200)
    w = rng.uniform(0.5, 2.0, 600)
    disp = ScoreDistributionDisplay.from_predictions(
        score, groups, bins=8, range=(0, 1), sample_weight=w, labels={0: "Z = 0"}
    )
    assert disp.labels == ["Z = 0", "1", "2"]
    for h, v in zip(disp.histograms, (0, 1, 2)):
        m = groups == v
        ref = np.histogram(score[m], bins=8, range=(0, 1), weights=w[m], density=True)[0]
        np.testing.assert_allclose(h, ref)
        assert (h * np.diff(disp.bin_edges)).sum() == pytest.approx(1.0)
    assert len(disp.lines_) == 3 and disp.ax_.get_ylabel() == "density"
    counts = ScoreDistributionDisplay.from_predictions(score, groups, bins=4, density=False)
    assert sum(h.sum() for h in counts.histograms) == 600
    styled = ScoreDistributionDisplay.from_predictions(
        score, groups, line_kwargs=[{"color": "red"}] * 3
    )
    assert all(line.get_edgecolor()[:3] == (1.0, 0.0, 0.0) for line in styled.lines_)


def test_score_distribution_bad_input():
    with pytest.raises(ValueError, match="Inconsistent"):
        ScoreDistributionDisplay.from_predictions([0.1, 0.2], [0])
    with pytest.raises(ValueError, match="NaN"):
        ScoreDistributionDisplay.from_predictions([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        ScoreDistributionDisplay.from_predictions([], [])
    with pytest.raises(ValueError, match="sample_weight"):
        ScoreDistributionDisplay.from_predictions([0.1, 0.2], [0, 1], sample_weight=[1.0])
    with pytest.raises(ValueError, match="one dict per group"):
        ScoreDistributionDisplay.from_predictions([0.1, 0.2], [0, 1], line_kwargs=[{}])


# --------------------------------------------------------------------------- #
# DecorrelationTradeoffDisplay
# --------------------------------------------------------------------------- #
def test_decorrelation_tradeoff_matches_metrics(toy):
    _, y, mass, w, _, p = toy
    sculpting = p + 0.02 * mass
    disp = DecorrelationTradeoffDisplay.from_predictions(
        y, [p, sculpting], mass, signal_efficiency=0.3, sample_weight=w, point_labels=["a", "b"]
    )
    for i, s in enumerate((p, sculpting)):
        assert disp.background_rejection[i] == pytest.approx(
            background_rejection(y, s, signal_efficiency=0.3, sample_weight=w)
        )
        assert disp.inverse_jsd[i] == pytest.approx(
            inverse_jsd(y, s, mass, signal_efficiency=0.3, sample_weight=w)
        )
    np.testing.assert_allclose(disp.line_.get_xdata(), disp.inverse_jsd)
    assert disp.ax_.get_xscale() == disp.ax_.get_yscale() == "log"
    assert [t.get_text() for t in disp.ax_.texts] == ["a", "b"]
    single = DecorrelationTradeoffDisplay.from_predictions(y, p, mass, name="LR")
    assert single.inverse_jsd.shape == (1,) and single.line_.get_linestyle() == "None"
    with pytest.raises(ValueError):
        DecorrelationTradeoffDisplay.from_predictions(y, [p[:-1]], mass)


def test_purity_efficiency_one_quantity_per_panel():
    y, y_pred, pt, _ = _pid()
    _, axes = plt.subplots(1, 2)
    disp = PurityEfficiencyDisplay.from_predictions(y, y_pred, pt, bins=3, pos_label=321)
    disp.plot(ax=axes[0], kind="purity", name="method A")
    assert disp.efficiency_errorbar_ is None and disp.purity_errorbar_ is not None
    assert axes[0].get_ylabel() == "purity"
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["method A"]
    disp.plot(ax=axes[1], kind="efficiency")
    assert disp.purity_errorbar_ is None and axes[1].get_ylabel() == "efficiency"
    with pytest.raises(ValueError, match="kind"):
        disp.plot(kind="f1")


# --------------------------------------------------------------------------- #
# AttentionDisplay
# --------------------------------------------------------------------------- #
class _FakeAttention:
    def attention_weights(self, X):
        import pandas as pd

        X = np.asarray(X, dtype=float)
        a = np.abs(X) / np.abs(X).sum(axis=1, keepdims=True)
        return pd.DataFrame(a, columns=[f"f{i}" for i in range(X.shape[1])])


def test_attention_display_mean_and_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    w = rng.uniform(0.5, 2.0, 50)
    att = _FakeAttention().attention_weights(X).to_numpy()
    disp = AttentionDisplay.from_estimator(_FakeAttention(), X)
    np.testing.assert_allclose(disp.mean_attention, att.mean(axis=0))
    np.testing.assert_allclose(disp.std_attention, att.std(axis=0))
    assert list(disp.feature_names) == ["f0", "f1", "f2"]
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["f0", "f1", "f2"]
    fig, ax = plt.subplots()
    weighted = AttentionDisplay.from_estimator(_FakeAttention(), X, sample_weight=w, ax=ax)
    assert weighted.ax_ is ax and weighted.figure_ is fig
    np.testing.assert_allclose(weighted.mean_attention, np.average(att, axis=0, weights=w))
    assert not np.allclose(weighted.mean_attention, disp.mean_attention)
    with pytest.raises(ValueError, match="Inconsistent"):
        AttentionDisplay.from_estimator(_FakeAttention(), X, sample_weight=w[:3])
    with pytest.raises(ValueError, match="attention_weights"):
        AttentionDisplay.from_estimator(LogisticRegression(), X)


def test_attention_display_fse():
    pytest.importorskip("torch")
    import pandas as pd

    from skhep_ml import FSEAttentionClassifier
    from skhep_ml.estimator_checks import FAST_PARAMS

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    X = pd.DataFrame(rng.normal(size=(120, 3)) + y[:, None], columns=["p", "dedx", "tof"])
    X.iloc[::4, 2] = np.nan
    params = {**FAST_PARAMS["FSEAttentionClassifier"], "max_epochs": 1, "random_state": 0}
    fse = FSEAttentionClassifier(**params).fit(X, y)
    disp = AttentionDisplay.from_estimator(fse, X)
    assert list(disp.feature_names) == ["p", "dedx", "tof"]
    np.testing.assert_allclose(disp.mean_attention, fse.attention_weights(X).mean().to_numpy())
    assert disp.mean_attention.sum() == pytest.approx(1.0)
