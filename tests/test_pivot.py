"""PivotClassifier, its torch pieces and the decorrelation toys."""

import pickle

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import PivotClassifier
from skhep_ml.datasets import make_jet_mass_toy, make_pivot_toy
from skhep_ml.nn import CategoricalAdversary, MixtureDensityNetwork, distance_correlation

FAST = dict(
    hidden_layers=(16,),
    adversary_hidden_layers=(8,),
    max_epochs=3,
    pretrain_epochs=2,
    adversary_pretrain_epochs=1,
    lr=1e-2,
    batch_size=64,
    random_state=0,
)


@pytest.fixture(scope="module")
def toy():
    return make_pivot_toy(600, random_state=0)


def test_protected_column_is_not_a_classifier_input(toy):
    X, y = toy
    clf = PivotClassifier(protected="z", adversary_on="all", **FAST).fit(X, y)
    assert clf.protected_index_ == 2
    assert clf.net_.module_.classifier.net[-1].in_features == 16
    assert clf.net_.module_.classifier.net[1].in_features == 2
    X2 = X.copy()
    X2["z"] = 100.0  # the classifier never sees Z
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X2))


def test_protected_by_index_equals_by_name(toy):
    X, y = toy
    a = PivotClassifier(protected="z", **FAST).fit(X, y).predict_proba(X)
    b = PivotClassifier(protected=-1, **FAST).fit(X.to_numpy(), y).predict_proba(X.to_numpy())
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_history_records_both_losses_and_pretraining(toy):
    X, y = toy
    clf = PivotClassifier(protected="z", adversary_on="all", lambda_=2.0, **FAST).fit(X, y)
    last = clf.history_[-1]
    for key in ("train_loss", "train_loss_clf", "train_loss_adv", "valid_loss_adv"):
        assert np.isfinite(last[key])
    assert last["train_loss"] == pytest.approx(
        last["train_loss_clf"] - 2.0 * last["train_loss_adv"], abs=1e-4
    )
    phases = [r["phase"] for r in clf.pretrain_history_]
    assert phases == ["classifier", "classifier", "adversary"]
    disco = PivotClassifier(protected="z", method="disco", **FAST).fit(X, y)
    assert disco.pretrain_history_ == []
    assert 0.0 <= disco.history_[-1]["train_loss_adv"] <= 1.0


def test_discrete_protected_variable_gets_a_softmax_adversary(toy):
    X, y = toy
    X = X.assign(z=np.round(X["z"]).clip(-2, 2))
    clf = PivotClassifier(protected="z", **FAST).fit(X, y)
    assert clf.protected_type_ == "discrete"
    assert isinstance(clf.net_.module_.adversary, CategoricalAdversary)
    np.testing.assert_array_equal(clf.z_values_, [-2, -1, 0, 1, 2])
    clf = PivotClassifier(protected="z", protected_type="continuous", **FAST).fit(X, y)
    assert isinstance(clf.net_.module_.adversary, MixtureDensityNetwork)


def test_bad_protected_specifications(toy):
    X, y = toy
    with pytest.raises(ValueError, match="no column names"):
        PivotClassifier(protected="z", **FAST).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="not a column"):
        PivotClassifier(protected="mass", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        PivotClassifier(protected=5, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="needs the protected variable"):
        PivotClassifier(protected=None, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="give one of them"):
        PivotClassifier(protected="z", **FAST).fit(X, y, z=X["z"])
    with pytest.raises(ValueError, match="rows"):
        PivotClassifier(protected=None, **FAST).fit(X[["x0", "x1"]], y, z=X["z"][:10])


def test_pipeline_and_gridsearch_with_protected_column_in_X(toy):
    X, y = toy
    pipe = make_pipeline(StandardScaler(), PivotClassifier(protected=2, **FAST))
    grid = GridSearchCV(pipe, {"pivotclassifier__lambda_": [0.0, 1.0]}, cv=2, scoring="roc_auc")
    grid.fit(X.to_numpy(), y)
    assert grid.best_score_ > 0.6
    assert grid.predict_proba(X.to_numpy()).shape == (len(y), 2)


def test_z_through_metadata_routing(toy):
    X, y = toy
    with sklearn.config_context(enable_metadata_routing=True):
        est = PivotClassifier(protected=None, **FAST).set_fit_request(z=True)
        grid = GridSearchCV(est, {"lambda_": [0.0, 1.0]}, cv=2)
        grid.fit(X[["x0", "x1"]], y, z=X["z"].to_numpy())
    assert grid.best_estimator_.protected_index_ is None
    assert grid.best_estimator_.n_features_in_ == 2


def test_clone_pickle_and_reproducibility(toy):
    X, y = toy
    clf = PivotClassifier(protected="z", method="disco", **FAST).fit(X, y)
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), restored.predict_proba(X))


def test_warm_start_continues_without_pretraining(toy):
    X, y = toy
    clf = PivotClassifier(protected="z", warm_start=True, **FAST).fit(X, y)
    clf.fit(X, y)
    assert len(clf.history_) == 2 * FAST["max_epochs"]


def test_early_stopping_restores_best_weights(toy):
    """The model held is the one of the best epoch: training is deterministic, so a run
    stopped by hand at ``best_epoch_`` predicts identically, and the last epoch's
    model predicts differently."""
    X, y = toy
    kw = dict(protected="z", method="disco", **{**FAST, "lr": 0.1})
    clf = PivotClassifier(early_stopping=True, n_iter_no_change=2, **{**kw, "max_epochs": 30})
    clf.fit(X, y)
    valid = np.array(clf.history_[:, "valid_loss"])
    assert clf.best_epoch_ == int(np.argmin(valid)) + 1
    assert clf.best_epoch_ < clf.n_epochs_ < 30  # it stopped, after a worse epoch
    at_best = PivotClassifier(**{**kw, "max_epochs": clf.best_epoch_}).fit(X, y)
    at_last = PivotClassifier(**{**kw, "max_epochs": clf.n_epochs_}).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), at_best.predict_proba(X), atol=1e-6)
    assert not np.allclose(clf.predict_proba(X), at_last.predict_proba(X), atol=1e-4)


def test_distance_correlation_weights_equal_duplicated_rows():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(30, generator=g), torch.randn(30, generator=g)
    w = torch.ones(30)
    w[3] = 2.0
    dup = torch.cat([torch.arange(30), torch.tensor([3])])
    a = distance_correlation(x, y, w)
    b = distance_correlation(x[dup], y[dup])
    assert float(a) == pytest.approx(float(b), rel=1e-5)
    assert float(distance_correlation(x, x**2 + 0 * y)) > 0.2  # nonlinear dependence


def test_mdn_learns_a_conditional_density():
    torch.manual_seed(0)
    x = torch.rand(500, 1)
    z = 3 * x[:, 0] + 0.1 * torch.randn(500)
    mdn = MixtureDensityNetwork(1, 3, (16,), z_mean=1.5, z_std=0.9)
    opt = torch.optim.Adam(mdn.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        loss = mdn.nll(x, z).mean()
        loss.backward()
        opt.step()
    # entropy of the standardised marginal is ~1.3; the conditional is much sharper
    assert loss.item() < 0.0


def test_jet_toy_mass_is_learned_by_an_unconstrained_classifier():
    X, y = make_jet_mass_toy(4000, random_state=0)
    bkg = y == 0
    corr = np.corrcoef(X["mass"][bkg], X["tau21"][bkg])[0, 1]
    assert corr < -0.3
    assert roc_auc_score(y, -X["tau21"]) > 0.7


@pytest.mark.slow
def test_adversary_makes_the_toy_output_pivotal():
    X, y = make_pivot_toy(20000, random_state=0)
    Xt, yt = make_pivot_toy(20000, random_state=1)
    kw = dict(
        protected="z",
        adversary_on="all",
        adversary_steps=5,
        max_epochs=20,
        random_state=0,
        batch_size=128,
    )
    spreads, aucs = [], []
    for lam in (0.0, 10.0):
        clf = PivotClassifier(lambda_=lam, **kw).fit(X, y)
        means = [
            clf.predict_proba(make_pivot_toy(20000, z=v, random_state=2)[0])[:, 1].mean()
            for v in (-1, 0, 1)
        ]
        spreads.append(max(means) - min(means))
        aucs.append(roc_auc_score(yt, clf.predict_proba(Xt)[:, 1]))
    assert spreads[1] < spreads[0] / 3
    assert aucs[1] > aucs[0] - 0.07
