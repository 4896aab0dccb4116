"""FSEAttentionClassifier: missing values as absent tokens, thresholds, attention weights."""

import itertools
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skhep_ml import FSEAttentionClassifier
from skhep_ml.nn import FSEAttentionNet

SMALL = dict(
    d_model=8, embed_hidden=16, dim_feedforward=16, pool_hidden=8, head_hidden=8, n_layers=1
)


def _data(n=600, n_features=4, n_classes=3, missing=0.25, seed=0):
    """Classes separated by the first features; NaN holes at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, n_features)) + 2.0 * y[:, None] * (np.arange(n_features) < 2)
    X[rng.random(X.shape) < missing] = np.nan
    return X.astype(np.float32), y


def _all_patterns(n_features, seed=1):
    """One row per missingness pattern (all 2**n), the last one all missing."""
    pats = np.array(list(itertools.product([False, True], repeat=n_features)))
    X = np.random.default_rng(seed).normal(size=pats.shape).astype(np.float32)
    X[pats] = np.nan
    return X


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return FSEAttentionClassifier(**SMALL, max_epochs=15, lr=1e-2, random_state=0).fit(X, y), X, y


def test_learns_with_missing_values(fitted):
    clf, X, y = fitted
    # Bayes accuracy of _data() is about 0.82 (classes 2 sigma apart on 2 features,
    # each missing a quarter of the time); chance is 1/3
    assert clf.score(X, y) > 0.75
    assert clf.thresholds_.shape == (3,)
    assert np.all((clf.thresholds_ > 0) & (clf.thresholds_ < 1))


def test_missing_value_is_no_token_not_an_imputed_value(fitted):
    """A missing feature has no influence: the output of a row does not depend on
    what value was 'behind' the NaN, and equals the network run on the present
    tokens only (the missing token removed from the set)."""
    clf = fitted[0]
    Xm = _all_patterns(4)
    net = clf.net_.module_.eval()
    with torch.no_grad():
        full = net(torch.as_tensor(Xm))
        for i, row in enumerate(Xm):
            present = ~np.isnan(row)
            if not present.any():
                continue
            # same network restricted to the present features
            k = int(present.sum())
            sub = FSEAttentionNet(
                k, net.n_outputs, **_net_kwargs(clf), mean=np.zeros(k), std=np.ones(k)
            )
            sub.load_state_dict(_restrict(net.state_dict(), present), strict=False)
            sub.eval()
            out = sub(torch.as_tensor(row[present][None]))
            np.testing.assert_allclose(out.numpy(), full[i : i + 1].numpy(), atol=1e-5)


def _net_kwargs(clf):
    return dict(
        d_model=clf.d_model,
        n_heads=clf.n_heads,
        n_layers=clf.n_layers,
        dim_feedforward=clf.dim_feedforward,
        embed_hidden=clf.embed_hidden,
        pool_hidden=clf.pool_hidden,
        head_hidden=clf.head_hidden,
        dropout=0.0,
        separate_heads=clf.multi_class == "ovr",
    )


def _restrict(state, present):
    out = {}
    idx = torch.as_tensor(np.flatnonzero(present))
    for k, v in state.items():
        if k == "feature_embedding":
            v = v[idx]
        elif k in ("scale.mean", "scale.std"):
            v = v[idx]
        out[k] = v
    return out


def test_every_pattern_in_one_batch_is_finite_and_batch_independent(fitted):
    clf, _, _ = fitted
    Xm = _all_patterns(4)
    proba = clf.predict_proba(Xm)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    # a row's prediction does not depend on the other rows of its batch
    one_by_one = np.vstack([clf.predict_proba(Xm[i : i + 1]) for i in range(len(Xm))])
    np.testing.assert_allclose(proba, one_by_one, atol=1e-6)
    # the all-missing row gets the same (finite) answer whatever the batch
    assert np.isfinite(clf.decision_function(Xm[-1:])).all()


def test_thresholds_drive_predict(fitted):
    clf, X, _ = fitted
    d = clf.decision_function(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(d, axis=1)])
    # a margin is >= 0 exactly where the class certainty passes its threshold
    certainty = torch.sigmoid(
        torch.as_tensor(clf._forward(X.astype(np.float32)), dtype=torch.float64)
    ).numpy()
    np.testing.assert_array_equal(d >= 0, certainty >= clf.thresholds_ - 1e-12)
    none = clone(clf).set_params(thresholds=None).fit(*_data())
    np.testing.assert_array_equal(none.thresholds_, 0.5)
    np.testing.assert_array_equal(
        none.predict(X), none.classes_[np.argmax(none.predict_proba(X), axis=1)]
    )


def test_thresholds_are_f1_optimal_on_the_validation_split():
    """With thresholds chosen on the validation rows, each class's F1 there is the best
    reachable by cutting on its certainty."""
    from skhep_ml.metrics import f1_optimal_threshold

    X, y = _data(n=400, n_classes=2)
    clf = FSEAttentionClassifier(**SMALL, max_epochs=5, lr=1e-2, random_state=0)
    seen = {}

    def spy(self, X_, y_, w, train_idx, valid_idx):
        seen["valid"] = valid_idx
        FSEAttentionClassifier._post_fit(self, X_, y_, w, train_idx, valid_idx)

    clf._post_fit = spy.__get__(clf)
    clf.fit(X, y)
    valid = seen["valid"]
    assert valid is not None and len(valid) == 40
    p1 = clf.predict_proba(X[valid])[:, 1]
    thr, _ = f1_optimal_threshold(y[valid], p1)
    assert clf.thresholds_.shape == (1,)
    assert clf.thresholds_[0] == pytest.approx(thr, rel=1e-5)
    np.testing.assert_array_equal(clf.predict(X) == 1, clf.predict_proba(X)[:, 1] >= thr)


@pytest.mark.parametrize("multi_class", ["ovr", "softmax"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_heads(multi_class, n_classes):
    X, y = _data(n=300, n_classes=n_classes)
    clf = FSEAttentionClassifier(
        **SMALL, multi_class=multi_class, max_epochs=8, lr=1e-2, random_state=0
    ).fit(X, y)
    n_out = 1 if (multi_class == "ovr" and n_classes == 2) else n_classes
    assert clf.net_.module_.n_outputs == n_out
    assert clf.predict_proba(X).shape == (300, n_classes)
    d = clf.decision_function(X)
    assert d.shape == ((300,) if n_classes == 2 else (300, n_classes))
    assert clf.score(X, y) > 0.7


def test_attention_weights_dataframe():
    X, y = _data(n=300)
    df = pd.DataFrame(X, columns=["tpc", "tof", "trd", "its"])
    clf = FSEAttentionClassifier(**SMALL, max_epochs=3, random_state=0).fit(df, y)
    w = clf.attention_weights(df.iloc[:50])
    assert list(w.columns) == ["tpc", "tof", "trd", "its"]
    present = df.iloc[:50].notna().to_numpy()
    np.testing.assert_array_equal(w.to_numpy()[~present], 0.0)
    rows = present.any(axis=1)
    np.testing.assert_allclose(w.to_numpy()[rows].sum(axis=1), 1.0, atol=1e-5)
    assert (w.iloc[:, :].to_numpy()[present] > 0).all()


def test_standardisation_is_learned_from_present_values_and_inside_the_network():
    X, y = _data(n=300)
    X[:, 2] = X[:, 2] * 1000.0 + 5000.0
    clf = FSEAttentionClassifier(**SMALL, max_epochs=2, random_state=0).fit(X, y)
    present = ~np.isnan(X[:, 2])
    assert clf.feature_mean_[2] == pytest.approx(X[present, 2].mean(), rel=1e-4)
    assert clf.feature_scale_[2] == pytest.approx(X[present, 2].std(), rel=1e-3)
    buf = clf.net_.module_.scale
    np.testing.assert_allclose(buf.mean.numpy(), clf.feature_mean_)


def test_all_missing_training_rows_and_column():
    X, y = _data(n=200)
    X[:20] = np.nan  # rows with no token at all
    X[:, 3] = np.nan  # a feature never present
    clf = FSEAttentionClassifier(**SMALL, max_epochs=3, random_state=0).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()
    assert all(np.isfinite(p.detach().numpy()).all() for p in clf.net_.module_.parameters())


def test_pipeline_and_grid_search():
    X, y = _data(n=300)
    pipe = make_pipeline(
        FunctionTransformer(lambda a: a * 2.0),  # any NaN-preserving preprocessing
        FSEAttentionClassifier(**SMALL, max_epochs=4, lr=1e-2, random_state=0),
    )
    grid = GridSearchCV(
        pipe, {"fseattentionclassifier__multi_class": ["ovr", "softmax"]}, cv=2
    ).fit(X, y)
    assert grid.best_params_["fseattentionclassifier__multi_class"] in ("ovr", "softmax")
    assert grid.score(X, y) > 0.6
    assert grid.predict(X[:3]).shape == (3,)


def test_bad_parameters():
    X, y = _data(n=100)
    with pytest.raises(ValueError, match="divisible"):
        FSEAttentionClassifier(d_model=10, n_heads=3, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="inf"):
        FSEAttentionClassifier(max_epochs=1).fit(np.where(np.isnan(X), np.inf, X), y)


def test_reproducible_and_pickles():
    import pickle

    X, y = _data(n=200)
    a = FSEAttentionClassifier(**SMALL, max_epochs=3, random_state=3).fit(X, y)
    b = FSEAttentionClassifier(**SMALL, max_epochs=3, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), c.predict_proba(X))
    np.testing.assert_array_equal(a.thresholds_, c.thresholds_)


def test_by_pattern_forward_is_the_masked_forward_with_its_gradients():
    # every pattern on its present tokens, without a mask: the masked result
    torch.manual_seed(0)
    net = FSEAttentionNet(5, 3, dropout=0.0, mean=np.zeros(5), std=np.ones(5))
    x = torch.as_tensor(np.vstack([_all_patterns(5), _data(300, 5)[0]]))
    grads = []
    for forward in (net, lambda xb: net._head(net._pooled(xb))):  # by pattern, masked
        net.zero_grad()
        out = forward(x)
        out.square().sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in net.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-5)
    for g_pattern, g_masked in zip(grads[0][1], grads[1][1], strict=True):
        torch.testing.assert_close(g_pattern, g_masked, atol=1e-4, rtol=1e-4)
    net.eval()  # inference: torch's fused encoder layer, in groups of group_rows
    net.group_rows = 7
    with torch.inference_mode():
        torch.testing.assert_close(net(x), grads[1][0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_token_tables_are_the_embedding_mlp(dtype):
    # the piecewise-linear tables give the tokens of the MLP relu(E[j] + v w) @ W.T + b,
    # and its gradients, for values beyond every breakpoint and for units with w = 0
    torch.manual_seed(0)
    net = FSEAttentionNet(6, 2).to(dtype)
    with torch.no_grad():
        net.value_weight[:7] = 0.0  # constant units: on (E > 0) or off for every value
    cols = torch.tensor([0, 2, 5])
    v = torch.cat([torch.randn(500, 3), 1e3 * torch.randn(20, 3)]).to(dtype)
    params = [net.feature_embedding, net.value_weight, net.embed_out.weight, net.embed_out.bias]

    def mlp(v):
        h = torch.addcmul(net.feature_embedding[cols], v.unsqueeze(-1), net.value_weight)
        return net.embed_out(torch.relu(h))

    out = []
    for tokens in (mlp, lambda v: net._tokens(v, cols, net.token_tables())):
        t = tokens(v)
        out.append((t, torch.autograd.grad(t.square().sum(), params)))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    assert out[1][0].dtype == dtype
    torch.testing.assert_close(out[1][0], out[0][0], **tol)
    for g_tables, g_mlp in zip(out[1][1], out[0][1], strict=True):
        torch.testing.assert_close(g_tables, g_mlp, **tol)


def test_inference_tables_follow_the_weights():
    # the tables are kept between calls, and rebuilt when an update changes the weights
    torch.manual_seed(0)
    net = FSEAttentionNet(5, 3, mean=np.zeros(5), std=np.ones(5)).eval()
    x = torch.as_tensor(np.vstack([_all_patterns(5), _data(300, 5)[0]]))
    opt = torch.optim.Adam(net.parameters(), lr=0.1, fused=True)  # no version bumps
    for _ in range(2):
        with torch.inference_mode():
            first, again = net(x), net(x)
            masked = net._head(net._pooled(x))
        torch.testing.assert_close(again, first, rtol=0, atol=0)
        torch.testing.assert_close(first, masked, atol=1e-5, rtol=1e-5)
        net.train()
        net(x).square().sum().backward()
        opt.step()
        net.eval()
    assert "_table_cache" not in pickle.loads(pickle.dumps(net)).__dict__


def test_batches_by_pattern():
    from skorch.dataset import Dataset

    from skhep_ml._nets import BatchLoader

    X, y = _data(500, 3)
    n_patterns = len(np.unique(np.isnan(X), axis=0))
    loader = BatchLoader(Dataset({"X": X}, y), batch_size=32, shuffle=True, by_pattern=True)
    epochs = [list(loader) for _ in range(2)]
    for batches in epochs:
        rows = np.concatenate([b[0]["X"].numpy() for b in batches])
        assert len(rows) == len(X)  # every row once
        mixed = sum(len(np.unique(np.isnan(b[0]["X"].numpy()), axis=0)) > 1 for b in batches)
        assert mixed <= n_patterns - 1  # only batches across a pattern boundary mix
    first = [b[1].numpy() for b in epochs[0]]
    assert not all(np.array_equal(a, b[1].numpy()) for a, b in zip(first, epochs[1]))


@pytest.mark.parametrize("n_features", [1, 5, 62, 70])  # 70: torch's row-wise unique
def test_missingness_patterns_are_torch_unique_rows(n_features):
    from skhep_ml.nn.fse import missingness_patterns

    g = torch.Generator().manual_seed(n_features)
    # few distinct patterns among many rows, as in detector data
    mask = torch.rand(16, n_features, generator=g) > 0.5
    mask = mask[torch.randint(0, 16, (1000,), generator=g)]
    got = missingness_patterns(mask)
    want = torch.unique(mask, dim=0, return_inverse=True, return_counts=True)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a, b)
    empty = missingness_patterns(mask[:0])
    assert [len(t) for t in empty] == [0, 0, 0]
