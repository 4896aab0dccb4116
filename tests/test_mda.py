"""MDAClassifier, its torch modules and the nuclei generator."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import MDAClassifier
from skhep_ml.datasets import make_multimodal_nuclei
from skhep_ml.nn import MDANet, dann_lambda, hit_graph_adjacency

TINY = dict(
    embed_dim=8,
    n_heads=2,
    hidden_layers=(8,),
    gnn_hidden=8,
    gnn_steps=1,
    cnn_channels=4,
    head_hidden=(8,),
    domain_hidden=(8,),
    max_epochs=3,
    batch_size=64,
    lr=3e-3,
    random_state=0,
)
BRANCHES = {"tracker_hits": "gnn", "clusters": "cnn", "rigidity": "mlp", "tof": "mlp"}


@pytest.fixture(scope="module")
def nuclei():
    return make_multimodal_nuclei(300, 200, random_state=0)


def _stacked(d):
    X = pd.concat([d.X_mc, d.X_data], ignore_index=True)
    y = np.concatenate([d.y_mc, np.full(len(d.X_data), -1)])
    return X, y


# -- generator -----------------------------------------------------------------


def test_generator_layout_and_reproducibility(nuclei):
    d = nuclei
    assert d.X_mc.shape == (300, 87) and d.X_data.shape == (200, 87)
    assert list(d.X_mc.columns) == list(d.X_data.columns) == d.feature_names
    assert set(np.unique(d.y_mc)) == set(np.unique(d.y_data)) == {0, 1}
    sizes = {k: len(v) for k, v in d.modalities.items()}
    assert sizes == {"tracker_hits": 64, "clusters": 16, "rigidity": 2, "tof": 5}
    assert np.prod(d.graph_shape) == 64 and np.prod(d.cnn_shape) == 16
    # C-order nesting: layer, side, track, feature
    assert d.modalities["tracker_hits"][:4] == [
        "hit_L1_X_t1_pos",
        "hit_L1_X_t1_charge",
        "hit_L1_X_t2_pos",
        "hit_L1_X_t2_charge",
    ]
    again = make_multimodal_nuclei(300, 200, random_state=0)
    pd.testing.assert_frame_equal(again.X_data, d.X_data)
    again.modalities["tof"].append("x")  # a fresh dict per call
    assert "x" not in make_multimodal_nuclei(5, 5, random_state=0).modalities["tof"]


def test_generator_data_is_mismodelled():
    d = make_multimodal_nuclei(4000, 4000, random_state=1)
    sig_mc, sig_data = d.X_mc[d.y_mc == 1], d.X_data[d.y_data == 1]
    l1 = "hit_L1_Y_t1_charge"
    assert sig_data[l1].median() > sig_mc[l1].median() + 0.3  # charge-scale shift
    assert sig_data[l1].std() > 1.3 * sig_mc[l1].std()  # extra smearing
    inner = "hit_L4_Y_t1_charge"  # modelled correctly
    assert abs(sig_data[inner].median() - sig_mc[inner].median()) < 0.1
    ncl = [c for c in d.X_mc if c.startswith("ncl_")]
    assert d.X_data[ncl].to_numpy().mean() > d.X_mc[ncl].to_numpy().mean() + 0.2
    assert d.X_data["tof_beta"].std() > d.X_mc["tof_beta"].std()
    # the heavier neighbour fragments: L1 sees it, the inner tracker less so
    bkg = d.X_mc[d.y_mc == 0]
    assert bkg[l1].median() > sig_mc[l1].median() + 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(nucleus="Fe"), "nucleus"),
        (dict(n_mc=0), "n_mc"),
        (dict(signal_fraction=1.0), "signal_fraction"),
    ],
)
def test_generator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_multimodal_nuclei(**{"n_mc": 10, "n_data": 10, **kwargs})


# -- torch modules -------------------------------------------------------------


def test_dann_lambda_schedule():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(2 / (1 + np.exp(-5)) - 1)
    assert 0.999 < dann_lambda(1.0) < 1.0
    assert dann_lambda(2.0) == dann_lambda(1.0)


def test_hit_graph_edges():
    adj = hit_graph_adjacency(3, 2, 2)  # node = (layer * 2 + side) * 2 + track
    node = lambda layer, side, track: (layer * 2 + side) * 2 + track  # noqa: E731
    layer_nb = set(np.flatnonzero(adj[0, node(1, 0, 1)].numpy()))
    assert layer_nb == {node(0, 0, 1), node(2, 0, 1)}
    track_nb = set(np.flatnonzero(adj[1, node(1, 1, 0)].numpy()))
    assert track_nb == {node(1, 1, 1)}
    torch.testing.assert_close(adj.sum(dim=2), torch.ones(2, 12))  # row-normalised


def test_fusion_weights_are_a_distribution_per_event():
    branches = {"a": torch.nn.Linear(2, 8), "b": torch.nn.Linear(3, 8)}
    net = MDANet({"a": [0, 1], "b": [2, 3, 4]}, branches, 8, 2, n_heads=2)
    logits, fused, weights = net(torch.randn(6, 5))
    assert logits.shape == (6, 2) and fused.shape == (6, 8)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(6))


# -- estimator -----------------------------------------------------------------


def test_unlabelled_rows_train_the_domain_head(nuclei):
    X, y = _stacked(nuclei)
    mods = copy.deepcopy(nuclei.modalities)
    clf = MDAClassifier(nuclei.modalities, BRANCHES, **TINY).fit(X, y)
    assert nuclei.modalities == mods  # the user's dict is not modified
    assert clf.classes_.tolist() == [0, 1]
    assert clf.domain_adapted_
    assert clf.modality_names_ == ["tracker_hits", "clusters", "rigidity", "tof"]
    assert clf.branch_types_ == BRANCHES
    keys = ("train_loss_clf", "train_loss_domain", "train_domain_acc", "valid_domain_acc")
    for key in (*keys, "domain_lambda", "valid_loss"):
        assert np.all(np.isfinite(clf.history_[:, key])), key
    assert 0.0 <= clf.domain_probe_auc_ <= 1.0
    assert clf.history_[-1, "domain_probe_auc"] == clf.domain_probe_auc_
    lambdas = clf.history_[:, "domain_lambda"]
    assert np.all(np.diff(lambdas) > 0) and lambdas[-1] <= 1.0  # the DANN ramp
    score = clf.domain_score(nuclei.X_data)
    assert score.shape == (200,) and np.all((score > 0) & (score < 1))
    w = clf.fusion_weights(nuclei.X_mc)
    assert w.shape == (300, 4)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.embed(nuclei.X_mc).shape == (300, 8)
    assert set(np.unique(clf.predict(X))) <= {0, 1}


def test_domain_steps_update_the_domain_classifier_only(nuclei):
    X, y = _stacked(nuclei)
    # constant rate: a cosine schedule ends training at lr 0, and the head would not move
    clf = MDAClassifier(nuclei.modalities, BRANCHES, lr_schedule=None, **TINY).fit(X, y)
    rows = np.r_[0:64, 300:364]  # 64 MC and 64 data rows
    Xi = {
        "X": torch.as_tensor(X.to_numpy(np.float32)[rows]),
        "sample_weight": torch.ones(len(rows)),
        "adversary_target": torch.as_tensor((y[rows] == -1).astype(np.float32)),
        "adversary_weight": torch.ones(len(rows)),
    }
    clf.net_.module_.train()
    before = {k: v.detach().clone() for k, v in clf.net_.module_.named_parameters()}
    first = clf.net_._adversary_steps(Xi, 1).item()
    last = clf.net_._adversary_steps(Xi, 30).item()
    after = dict(clf.net_.module_.named_parameters())
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {k for k in before if k.startswith("adversary.")}
    assert last < first  # the domain classifier learns on fixed features

    stepped = MDAClassifier(nuclei.modalities, BRANCHES, domain_steps=3, **TINY).fit(X, y)
    assert np.all(np.isfinite(stepped.history_[:, "train_loss_domain"]))
    assert not np.allclose(stepped.predict_proba(X), clf.predict_proba(X))


def test_x_target_equals_minus_one_rows(nuclei):
    X, y = _stacked(nuclei)
    kw = dict(modalities=nuclei.modalities, branch_types=BRANCHES, **TINY)
    a = MDAClassifier(**kw).fit(X, y)
    b = MDAClassifier(**kw).fit(nuclei.X_mc, nuclei.y_mc, X_target=nuclei.X_data)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)


def test_fixed_schedule(nuclei):
    X, y = _stacked(nuclei)
    clf = MDAClassifier(domain_schedule="fixed", domain_lambda=0.3, **TINY).fit(X.to_numpy(), y)
    np.testing.assert_allclose(clf.history_[:, "domain_lambda"], 0.3)


def test_without_target_rows_it_is_a_plain_classifier(nuclei):
    X, y = _stacked(nuclei)
    kw = dict(modalities=nuclei.modalities, **TINY)
    plain = MDAClassifier(**kw).fit(nuclei.X_mc, nuclei.y_mc)
    assert not plain.domain_adapted_
    assert "train_loss_domain" not in plain.history_[-1]
    with pytest.raises(ValueError, match="No domain classifier"):
        plain.domain_score(nuclei.X_mc)
    # domain_adaptation=None: the same network; -1 is then an ordinary label
    off = MDAClassifier(domain_adaptation=None, **kw).fit(nuclei.X_mc, nuclei.y_mc)
    np.testing.assert_allclose(off.predict_proba(X), plain.predict_proba(X), rtol=1e-6)
    assert MDAClassifier(domain_adaptation=None, **kw).fit(X, y).classes_.tolist() == [-1, 0, 1]


def test_label_loss_ignores_unlabelled_rows(nuclei):
    X, y = _stacked(nuclei)
    clf = MDAClassifier(**TINY).fit(X.to_numpy(), y)
    net = clf.net_
    logits = torch.randn(6, 2)
    # target rows reach the net with a placeholder label 0 and label weight 0
    y_true = torch.tensor([0, 1, 0, 0, 1, 0])
    batch = {"sample_weight": torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])}
    base = net._task_loss(logits, y_true, batch)
    changed = logits.clone()
    changed[batch["sample_weight"] == 0] += 100.0
    assert net._task_loss(changed, y_true, batch).item() == pytest.approx(base.item())
    keep = batch["sample_weight"] > 0
    expected = torch.nn.functional.cross_entropy(logits[keep], y_true[keep])
    assert base.item() == pytest.approx(expected.item(), rel=1e-6)


def test_pipeline_and_cross_val_score_with_minus_one(nuclei):
    X, y = _stacked(nuclei)
    pipe = make_pipeline(StandardScaler(), MDAClassifier(**TINY))
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    pipe.fit(X, y)
    labelled = y != -1
    expected = np.mean(pipe.predict(X[labelled]) == y[labelled])
    assert pipe.score(X, y) == pytest.approx(expected)


def test_pickle_round_trip(nuclei):
    X, y = _stacked(nuclei)
    clf = MDAClassifier(nuclei.modalities, BRANCHES, **TINY).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clone.fusion_weights(X), clf.fusion_weights(X))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(modalities={"a": ["nope"]}), "unknown column 'nope'"),
        (dict(modalities={"a": []}), "no columns"),
        (dict(modalities={"a": "hit_L1_X_t1_pos"}), "list of columns"),
        (dict(modalities={"a": [0, 1]}, branch_types={"b": "mlp"}), "not a modality"),
        (dict(modalities={"a": [0, 1]}, branch_types={"a": "rnn"}), "branch type"),
        (dict(modalities={"a": [0, 1]}, branch_types={"a": "gnn"}), "graph_shape"),
        (dict(modalities={"a": [0, 1, 2]}, branch_types={"a": "cnn"}), "cnn_shape"),
        (dict(modalities={"a": [0, 999]}), "out of range"),
        (dict(embed_dim=6, n_heads=4), "must divide"),
    ],
)
def test_bad_configuration(nuclei, kwargs, match):
    X, y = _stacked(nuclei)
    with pytest.raises(ValueError, match=match):
        MDAClassifier(**{**TINY, **kwargs}).fit(X, y)


def test_bad_labels(nuclei):
    X, y = _stacked(nuclei)
    one_class = np.where(y == 1, 0, y)
    with pytest.raises(ValueError, match="labelled rows"):
        MDAClassifier(**TINY).fit(X, one_class)
    with pytest.raises(ValueError, match="no column names"):
        MDAClassifier(modalities={"a": ["tof_beta"]}, **TINY).fit(X.to_numpy(), y)


def test_sample_weight_on_labelled_rows(nuclei):
    X, y = _stacked(nuclei)
    w = np.ones(len(y))
    w[y == 0] = 5.0
    plain = MDAClassifier(**TINY).fit(X, y).predict_proba(X)[:, 0].mean()
    heavy = MDAClassifier(**TINY).fit(X, y, sample_weight=w).predict_proba(X)[:, 0].mean()
    assert heavy > plain + 0.03
    w_neg = np.ones(len(y))
    w_neg[y == -1] = 0.0
    w_neg[y != -1] = -1.0
    with pytest.raises(ValueError, match="sum of sample_weight"):
        MDAClassifier(**TINY).fit(X, y, sample_weight=w_neg)


@pytest.mark.slow
def test_domain_head_makes_features_invariant_and_helps_on_data():
    """The benchmark's claim at a smaller scale (its settings, one seed)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    d = make_multimodal_nuclei(5000, 5000, random_state=0)
    test = make_multimodal_nuclei(5000, 5000, random_state=1)
    X, y = _stacked(d)
    kw = dict(
        modalities=d.modalities,
        branch_types=BRANCHES,
        embed_dim=8,
        n_heads=2,
        domain_hidden=(64, 64),
        domain_lambda=10.0,
        lr_schedule="cosine",
        max_epochs=40,
        validation_fraction=None,
        random_state=0,
    )
    probes = {
        "linear": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        "GBDT": HistGradientBoostingClassifier(max_iter=100),
    }
    results = {}
    for adapt in (False, True):
        if adapt:
            clf = MDAClassifier(**kw).fit(X, y)
        else:
            clf = MDAClassifier(domain_adaptation=None, **kw).fit(d.X_mc, d.y_mc)
        feats = np.vstack([clf.embed(test.X_mc), clf.embed(test.X_data)])
        dom = np.r_[np.zeros(5000), np.ones(5000)]
        s_mc = clf.predict_proba(test.X_mc)[:, 1]
        s_data = clf.predict_proba(test.X_data)[:, 1]
        cut = np.quantile(s_mc[test.y_mc == 1], 0.1)
        results[adapt] = {
            "AUC data": roc_auc_score(test.y_data, s_data),
            "gap": abs(np.mean(s_data[test.y_data == 1] > cut) - 0.9),
            **{
                name: roc_auc_score(
                    dom, cross_val_predict(p, feats, dom, cv=3, method="predict_proba")[:, 1]
                )
                for name, p in probes.items()
            },
        }
    on, off = results[True], results[False]
    assert on["AUC data"] > off["AUC data"]  # better on data
    assert on["gap"] < 0.5 * off["gap"]  # the MC cut transfers
    # more invariant features for a linear and a non-linear domain classifier
    # (the benchmark's absolute level, < 0.6 for each of three seeds, is its own claim)
    assert on["linear"] < off["linear"] - 0.08
    assert on["GBDT"] < off["GBDT"] - 0.1


def test_warm_start_continues_from_the_fitted_weights(nuclei):
    """A second fit with warm_start=True starts where the first ended: its first
    epoch's loss is near the first fit's last, far below a fresh fit's first."""
    X, y = _stacked(nuclei)
    kw = dict(
        modalities=nuclei.modalities,
        **{**TINY, "max_epochs": 8, "lr": 1e-2},
        lr_schedule=None,
        validation_fraction=None,
    )
    clf = MDAClassifier(warm_start=True, **kw).fit(X, y)
    first = clf.history_[:, "train_loss_clf"]
    clf.fit(X, y)
    second = clf.history_[:, "train_loss_clf"]
    assert len(second) == 16  # the history continues
    assert first[0] - first[-1] > 0.1  # the first fit did learn
    assert abs(second[8] - first[-1]) < 0.3 * (first[0] - first[-1])
    fresh = MDAClassifier(warm_start=False, **kw).fit(X, y).fit(X, y)
    assert len(fresh.history_) == 8
    assert fresh.history_[0, "train_loss_clf"] == pytest.approx(first[0])


@pytest.mark.parametrize("method", ["dann", "cdan"])
def test_one_domain_classifier_per_modality(nuclei, method):
    from skhep_ml.nn import GroupedDomainClassifier

    X, y = _stacked(nuclei)
    clf = MDAClassifier(
        nuclei.modalities,
        BRANCHES,
        domain_adaptation=method,
        domain_features="modalities",
        **TINY,
    ).fit(X, y)
    heads = clf.net_.module_.adversary
    assert isinstance(heads, GroupedDomainClassifier) and heads.n_groups == 4
    # each reads one token (embed_dim 8), times the two class probabilities for CDAN
    assert heads.group_width == (8 if method == "dann" else 16)
    assert np.all(np.isfinite(clf.history_[:, "train_loss_domain"]))
    assert clf.domain_score(nuclei.X_data).shape == (200, 4)  # one probability per modality
    assert 0.0 <= clf.domain_probe_auc_ <= 1.0
