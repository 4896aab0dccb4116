"""Domain adaptation (DANN / CDAN) on every neural classifier, and the one
adversarial mechanism it shares with PivotClassifier."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from skhep_ml import DNNClassifier, FSEAttentionClassifier, MDAClassifier, PivotClassifier
from skhep_ml._base import domain_probe_auc
from skhep_ml._nets import AdversarialNet
from skhep_ml.datasets import make_pivot_toy
from skhep_ml.estimator_checks import FAST_PARAMS
from skhep_ml.nn import AdversarialModel, DomainClassifier, classifier_of, conditional_map

FAST_DNN = dict(hidden_layers=(16,), max_epochs=4, lr=3e-3, batch_size=64, random_state=0)
# the estimator checks' small FSE, trained briefly
FAST_FSE = {
    **FAST_PARAMS["FSEAttentionClassifier"],
    "max_epochs": 3,
    "lr": 3e-3,
    "batch_size": 64,
    "random_state": 0,
}


def shifted_toy(n, target, seed):
    """Two informative features and two label-free ones, which a detector
    offset shifts in the target domain (a shift a classifier can align by
    ignoring them)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 4))
    X[:, :2] += np.where(y[:, None] == 1, 0.8, -0.8)
    if target:
        X[:, 2:] += 2.0
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def domains():
    Xs, ys = shifted_toy(600, False, 0)
    Xt, yt = shifted_toy(600, True, 1)
    return Xs, ys, Xt, yt


# -- how target rows are given ----------------------------------------------------


def test_minus_one_rows_x_target_and_sample_domain_agree(domains):
    Xs, ys, Xt, _ = domains
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, np.full(len(Xt), -1)]
    est = DNNClassifier(domain_adaptation="dann", **FAST_DNN)
    a = clone(est).fit(X, y)
    b = clone(est).fit(Xs, ys, X_target=Xt)
    # skada's convention: sample_domain < 0 marks the target; their y is ignored
    domain = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    c = clone(est).fit(X, np.r_[ys, np.zeros(len(Xt), int)], sample_domain=domain)
    assert a.domain_adapted_ and b.domain_adapted_ and c.domain_adapted_
    np.testing.assert_allclose(a.predict_proba(Xt), b.predict_proba(Xt), rtol=1e-5)
    np.testing.assert_allclose(a.predict_proba(Xt), c.predict_proba(Xt), rtol=1e-5)
    assert a.classes_.tolist() == [0, 1]


@pytest.mark.parametrize("mark", [-1, "-1"])
def test_string_labels_mark_target_rows_with_minus_one(domains, mark):
    Xs, ys, Xt, _ = domains
    names = np.array(["background", "signal"], dtype=object)[ys]
    y = np.r_[names, np.full(len(Xt), mark, dtype=object)]
    clf = DNNClassifier(domain_adaptation="cdan", **FAST_DNN).fit(np.vstack([Xs, Xt]), y)
    assert clf.domain_adapted_
    assert clf.classes_.tolist() == ["background", "signal"]
    assert set(clf.predict(Xt)) <= {"background", "signal"}
    # score ignores the unlabelled rows
    assert clf.score(np.vstack([Xs, Xt]), y) == pytest.approx(clf.score(Xs, names))


def test_without_domain_adaptation_minus_one_is_a_label(domains):
    Xs, ys, Xt, _ = domains
    y = np.r_[ys, np.full(len(Xt), -1)]
    clf = DNNClassifier(**FAST_DNN).fit(np.vstack([Xs, Xt]), y)
    assert clf.classes_.tolist() == [-1, 0, 1] and not clf.domain_adapted_
    with pytest.raises(ValueError, match="domain_adaptation=None"):
        DNNClassifier(**FAST_DNN).fit(Xs, ys, X_target=Xt)
    # adaptation requested but no target rows: a plain classifier
    plain = DNNClassifier(domain_adaptation="dann", **FAST_DNN).fit(Xs, ys)
    assert not plain.domain_adapted_
    np.testing.assert_allclose(
        plain.predict_proba(Xt), DNNClassifier(**FAST_DNN).fit(Xs, ys).predict_proba(Xt)
    )
    with pytest.raises(ValueError, match="No domain classifier"):
        plain.domain_score(Xt)


def test_bad_domain_input_is_refused(domains):
    Xs, ys, Xt, _ = domains
    est = DNNClassifier(domain_adaptation="dann", **FAST_DNN)
    y = np.r_[ys, np.full(len(Xt), -1)]
    X = np.vstack([Xs, Xt])
    with pytest.raises(ValueError, match="source row"):
        est.fit(X, y, sample_domain=np.ones(len(y), int))
    with pytest.raises(ValueError, match="sample_domain has 3 values"):
        est.fit(X, y, sample_domain=[1, 1, -1])
    with pytest.raises(ValueError, match="integers"):
        est.fit(X, y, sample_domain=np.ones(len(y)))
    with pytest.raises(ValueError, match=r"labelled rows .* at least 2 classes"):
        est.fit(X, np.r_[np.zeros(len(Xs), int), np.full(len(Xt), -1)])
    w = np.r_[np.ones(len(Xs)), np.zeros(len(Xt))]
    with pytest.raises(ValueError, match=r"target .* zero total sample_weight"):
        est.fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="X has 3 features"):
        est.fit(Xs, ys, X_target=Xt[:, :3])


# -- diagnostics ----------------------------------------------------------------


def test_history_holds_the_domain_diagnostics(domains):
    Xs, ys, Xt, _ = domains
    clf = DNNClassifier(domain_adaptation="dann", **{**FAST_DNN, "max_epochs": 5})
    clf.fit(Xs, ys, X_target=Xt)
    for key in (
        "train_loss_clf",
        "train_loss_domain",
        "train_domain_acc",
        "valid_loss_clf",
        "valid_loss_domain",
        "valid_domain_acc",
        "domain_lambda",
        "lr_domain",
    ):
        values = clf.history_[:, key]
        assert len(values) == 5 and np.all(np.isfinite(values)), key
    assert np.all(
        (np.asarray(clf.history_[:, "train_domain_acc"]) >= 0)
        & (np.asarray(clf.history_[:, "train_domain_acc"]) <= 1)
    )
    lambdas = clf.history_[:, "domain_lambda"]
    assert np.all(np.diff(lambdas) > 0) and lambdas[-1] <= 1.0  # the DANN ramp
    # the schedule slows the classifier; the domain classifier keeps its rate
    np.testing.assert_allclose(clf.history_[:, "lr_domain"], 10 * clf.history_[0, "lr"])
    assert clf.history_[-1, "lr"] < clf.history_[0, "lr"]
    # early stopping follows the label loss of the held-out labelled rows
    np.testing.assert_allclose(clf.history_[:, "valid_loss"], clf.history_[:, "valid_loss_clf"])
    assert 0.0 <= clf.domain_probe_auc_ <= 1.0
    assert clf.history_[-1, "domain_probe_auc"] == clf.domain_probe_auc_
    score = clf.domain_score(Xt)
    assert score.shape == (len(Xt),) and np.all((score > 0) & (score < 1))


def test_domain_probe_auc():
    rng = np.random.default_rng(0)
    same = rng.normal(size=(400, 3))
    domain = np.r_[np.zeros(200), np.ones(200)]
    assert abs(domain_probe_auc(same, domain) - 0.5) < 0.1
    apart = same + domain[:, None] * 2.0
    assert domain_probe_auc(apart, domain) > 0.9
    assert np.isnan(domain_probe_auc(same[:202], domain[198:400]))  # 2 source rows


# -- the claim --------------------------------------------------------------------


def _probe_of_plain(clf, Xs, Xt):
    module = classifier_of(clf.net_.module_).eval()
    with torch.no_grad():
        feats = module.forward_features(torch.as_tensor(np.vstack([Xs, Xt])))[1].numpy()
    return domain_probe_auc(feats, np.r_[np.zeros(len(Xs)), np.ones(len(Xt))])


@pytest.mark.parametrize("method", ["dann", "cdan"])
def test_adaptation_makes_the_features_domain_invariant(method):
    """Without adaptation a linear probe tells the domains apart from the last
    hidden layer (AUC > 0.9: the detector offset passes through); with DANN or
    CDAN trained for a fixed number of epochs it barely can, and the accuracy
    on the target does not suffer. (Seeds 0-2: plain 0.93-0.97; DANN
    0.56-0.64; CDAN 0.55-0.75.)"""
    Xs, ys = shifted_toy(2000, False, 100)
    Xt, _ = shifted_toy(2000, True, 101)
    Xte, yte = shifted_toy(3000, True, 102)
    kw = {**FAST_DNN, "hidden_layers": (64, 32, 16), "max_epochs": 15, "early_stopping": False}
    plain = DNNClassifier(**kw).fit(Xs, ys)
    adapted = DNNClassifier(domain_adaptation=method, **kw).fit(Xs, ys, X_target=Xt)
    plain_probe = _probe_of_plain(plain, Xs, Xt)
    assert plain_probe > 0.9
    assert adapted.domain_probe_auc_ < 0.8 and adapted.domain_probe_auc_ < plain_probe - 0.15
    assert adapted.score(Xte, yte) > plain.score(Xte, yte) - 0.02


# -- FSE: missing values, CDAN, ONNX ----------------------------------------------


def test_fse_adapts_with_missing_values_and_exports_the_classifier_only(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from skhep_ml.export import to_onnx

    Xs, ys = shifted_toy(600, False, 0)
    Xt, _ = shifted_toy(600, True, 1)
    rng = np.random.default_rng(3)
    for X in (Xs, Xt):
        X[rng.random(X.shape) < 0.3] = np.nan
    names = ["a", "b", "c", "d"]
    clf = FSEAttentionClassifier(domain_adaptation="cdan", **FAST_FSE)
    clf.fit(pd.DataFrame(Xs, columns=names), ys, X_target=pd.DataFrame(Xt, columns=names))
    assert clf.domain_adapted_ and isinstance(clf.net_.module_, AdversarialModel)
    # CDAN's domain classifier reads pooled vector (d_model 8) x [1 - p, p]
    assert clf.net_.module_.adversary.norm.num_features == 16
    onnx_file, _ = to_onnx(clf, tmp_path / "fse.onnx")
    import onnx

    names_in_graph = {init.name for init in onnx.load(str(onnx_file)).graph.initializer}
    assert not any("adversary" in n for n in names_in_graph)
    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (p_onnx,) = sess.run(None, {"features": Xt})
    p_torch = clf.predict_proba(pd.DataFrame(Xt, columns=names))
    assert np.abs(p_onnx - p_torch).max() < 1e-5
    assert clf.attention_weights(pd.DataFrame(Xt[:3], columns=names)).shape == (3, 4)


def test_adapted_model_pickles_and_warm_starts(domains):
    Xs, ys, Xt, _ = domains
    clf = FSEAttentionClassifier(domain_adaptation="dann", warm_start=True, **FAST_FSE)
    clf.fit(Xs, ys, X_target=Xt)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(copy.domain_score(Xt), clf.domain_score(Xt))
    clf.fit(Xs, ys, X_target=Xt)  # continues the game
    assert len(clf.history_) == 2 * FAST_FSE["max_epochs"]
    with pytest.raises(ValueError, match="give target rows again"):
        clf.fit(Xs, ys)


# -- one mechanism ----------------------------------------------------------------


def test_pivot_and_domain_adaptation_share_one_training_game(domains):
    Xs, ys, Xt, _ = domains
    adapted = DNNClassifier(domain_adaptation="dann", **FAST_DNN).fit(Xs, ys, X_target=Xt)
    mda = MDAClassifier(embed_dim=8, n_heads=2, hidden_layers=(8,), max_epochs=2).fit(
        Xs, ys, X_target=Xt
    )
    X, y = make_pivot_toy(600, random_state=0)
    pivot = PivotClassifier(
        protected="z",
        hidden_layers=(8,),
        max_epochs=2,
        pretrain_epochs=1,
        adversary_pretrain_epochs=1,
    ).fit(X, y)
    for est in (adapted, mda, pivot):
        assert type(est.net_) is AdversarialNet
        assert isinstance(est.net_.module_, AdversarialModel)
    assert isinstance(adapted.net_.module_.adversary, DomainClassifier)
    # not adapting: the plain network, no adversary
    assert type(DNNClassifier(**FAST_DNN).fit(Xs, ys).net_) is not AdversarialNet


def test_adversary_steps_move_the_adversary_only(domains):
    Xs, ys, Xt, _ = domains
    clf = DNNClassifier(domain_adaptation="dann", **FAST_DNN).fit(Xs, ys, X_target=Xt)
    net = clf.net_
    n = 128
    Xi = {
        "X": torch.as_tensor(np.vstack([Xs[:64], Xt[:64]])),
        "sample_weight": torch.ones(n),
        "adversary_target": torch.as_tensor(np.r_[np.zeros(64), np.ones(64)].astype(np.float32)),
        "adversary_weight": torch.ones(n),
    }
    net.module_.train()
    before = {k: v.detach().clone() for k, v in net.module_.named_parameters()}
    net._adversary_steps(Xi, 5)
    changed = {k for k, v in net.module_.named_parameters() if not torch.equal(before[k], v)}
    assert changed and all(k.startswith("adversary.") for k in changed)
    # the classifier step moves the classifier and not the adversary
    before = {k: v.detach().clone() for k, v in net.module_.named_parameters()}
    net._classifier_step(Xi, torch.as_tensor(np.r_[ys[:64], np.zeros(64, int)]), 1.0)
    changed = {k for k, v in net.module_.named_parameters() if not torch.equal(before[k], v)}
    assert changed and all(k.startswith("classifier.") for k in changed)


def test_conditional_map_and_domain_classifier():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    p = torch.tensor([[0.25, 0.75], [1.0, 0.0]])
    torch.testing.assert_close(
        conditional_map(f, p), torch.tensor([[0.25, 0.75, 0.5, 1.5], [3.0, 0.0, 4.0, 0.0]])
    )
    head = DomainClassifier(4, (8,)).train()
    assert head(torch.randn(1, 4)).shape == (1,)  # one row in training: running statistics
    assert head.nll(torch.randn(5, 4), torch.ones(5)).shape == (5,)
