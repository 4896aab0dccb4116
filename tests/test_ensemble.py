"""AnomalyScoreEnsemble: averages of standardised anomaly scores."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhep_ml import AnomalyScoreEnsemble
from skhep_ml.estimator_checks import check_instances, expected_failed_checks
from skhep_ml.metrics import anomaly_score, anomaly_scorer, get_scorer


def _iforest(**kw):
    return IsolationForest(n_estimators=50, random_state=0, **kw)


def _members():
    return [("iforest", _iforest()), ("envelope", EllipticEnvelope(random_state=0))]


def _events(n=1500, n_each=40, seed=0):
    """Background: 4 independent N(0, 1) features. Anomalies of kind 1 are shifted
    in features 0 and 1, those of kind 2 in features 2 and 3 (y = 1 for both)."""
    rng = np.random.default_rng(seed)
    bkg = rng.normal(size=(n, 4))
    kind1 = rng.normal(size=(n_each, 4)) + np.array([3.0, 3.0, 0.0, 0.0])
    kind2 = rng.normal(size=(n_each, 4)) + np.array([0.0, 0.0, 3.0, 3.0])
    X = np.vstack([bkg, kind1, kind2])
    y = np.r_[np.zeros(n, dtype=int), np.ones(2 * n_each, dtype=int)]
    order = rng.permutation(y.size)
    return X[order], y[order]


def _on_columns(columns, detector):
    """A detector that sees only some of the features."""
    select = ColumnTransformer([("keep", "passthrough", columns)])
    return make_pipeline(select, detector)


class _Rescaled(OutlierMixin, BaseEstimator):
    """An outlier detector whose score_samples is an increasing function of another's."""

    def __init__(self, estimator=None, scale=1.0, shift=0.0, transform="affine"):
        self.estimator = estimator
        self.scale = scale
        self.shift = shift
        self.transform = transform

    def fit(self, X, y=None):
        self.estimator_ = clone(self.estimator).fit(X)
        return self

    def score_samples(self, X):
        s = self.scale * self.estimator_.score_samples(X) + self.shift
        return s if self.transform == "affine" else np.sign(s) * np.abs(s) ** 3

    def decision_function(self, X):
        return self.score_samples(X)

    def predict(self, X):
        return np.where(self.decision_function(X) < 0, -1, 1)


# --------------------------------------------------------------------------- #
# what the average is for
# --------------------------------------------------------------------------- #
def test_two_detectors_seeing_different_anomalies_beat_each_alone():
    X, _ = _events(seed=0)  # trained on data, anomalies included
    X_test, y_test = _events(seed=1)
    members = [
        ("left", _on_columns([0, 1], _iforest())),
        ("right", _on_columns([2, 3], EllipticEnvelope(random_state=0))),
    ]
    scorer = anomaly_scorer()
    alone = [scorer(clone(est).fit(X), X_test, y_test) for _, est in members]
    assert max(alone) < 0.8  # each sees one kind of anomaly: about 0.5 * 1 + 0.5 * 0.5
    auc = {}
    for standardization in ("zscore", "rank"):
        ens = AnomalyScoreEnsemble(members, standardization=standardization).fit(X)
        auc[standardization] = scorer(ens, X_test, y_test)
        assert auc[standardization] == pytest.approx(
            roc_auc_score(y_test, -ens.score_samples(X_test))
        )
    # z-scores keep one member's strong verdict (0.99 here); ranks cap it at 1, so an
    # event only one of two members flags averages to about 0.75 (0.82 here)
    assert auc["zscore"] > 0.95
    assert auc["rank"] > max(alone) + 0.03


@pytest.mark.parametrize("standardization", ["zscore", "rank"])
def test_the_scale_of_a_member_does_not_matter(standardization):
    X, _ = _events(n=600, seed=2)
    X_test, _ = _events(n=300, seed=3)
    plain = AnomalyScoreEnsemble(_members(), standardization=standardization).fit(X)
    # a member's score times 1000 plus 7 (and, for ranks, then cubed)
    transform = "affine" if standardization == "zscore" else "cube"
    rescaled = AnomalyScoreEnsemble(
        [("iforest", _Rescaled(_iforest(), 1e3, 7.0, transform)), _members()[1]],
        standardization=standardization,
    ).fit(X)
    np.testing.assert_allclose(rescaled.score_samples(X), plain.score_samples(X), atol=1e-9)
    # ranks interpolate linearly between the training scores: new rows agree up to that
    atol = 1e-9 if standardization == "zscore" else 1e-4
    np.testing.assert_allclose(
        rescaled.score_samples(X_test), plain.score_samples(X_test), atol=atol
    )
    assert rescaled.offset_ == pytest.approx(plain.offset_)
    np.testing.assert_array_equal(rescaled.predict(X_test), plain.predict(X_test))


def test_standardization_of_the_training_scores():
    X, _ = _events(n=800, seed=4)
    z = AnomalyScoreEnsemble(_members()).fit(X)
    Z = z.standardized_scores(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(Z.std(axis=0), 1.0)
    np.testing.assert_allclose(z.score_samples(X), -Z.mean(axis=1))
    raw = anomaly_score(z.estimators_[0], X)
    np.testing.assert_allclose(Z[:, 0], (raw - raw.mean()) / raw.std())

    r = AnomalyScoreEnsemble(_members(), standardization="rank").fit(X)
    R = r.standardized_scores(X)
    assert R.min() == 0.0 and R.max() == 1.0
    # the fraction of training scores below, for every training row
    for j, est in enumerate(r.estimators_):
        raw = anomaly_score(est, X)
        below = (raw[:, None] > raw[None, :]).mean(axis=1)
        np.testing.assert_allclose(R[:, j], below, atol=2e-3)
    # beyond the training range: 0 and 1
    far = np.array([[0.0, 0.0, 0.0, 0.0], [40.0, -40.0, 40.0, -40.0]])
    np.testing.assert_allclose(r.standardized_scores(far)[1], 1.0)
    # z-scores keep the distance (the envelope's Mahalanobis distance; an isolation
    # forest's own score saturates far out)
    assert z.standardized_scores(far)[1, 1] > 10 * Z[:, 1].max()


def test_weights_and_dropped_members():
    X, _ = _events(n=500, seed=5)
    Z = AnomalyScoreEnsemble(_members()).fit(X).standardized_scores(X)
    w31 = AnomalyScoreEnsemble(_members(), weights=[3, 1]).fit(X)
    np.testing.assert_allclose(w31.weights_, [0.75, 0.25])
    np.testing.assert_allclose(w31.score_samples(X), -(0.75 * Z[:, 0] + 0.25 * Z[:, 1]))
    equal = AnomalyScoreEnsemble(_members(), weights=[2.0, 2.0]).fit(X)
    np.testing.assert_allclose(equal.score_samples(X), -Z.mean(axis=1))
    first = AnomalyScoreEnsemble(_members(), weights=[1, 0]).fit(X)
    np.testing.assert_allclose(first.score_samples(X), -Z[:, 0])
    # a dropped member is not fitted; its weight is ignored
    dropped = AnomalyScoreEnsemble(_members(), weights=[1, 5]).set_params(envelope="drop")
    dropped.fit(X)
    assert len(dropped.estimators_) == 1 and dropped.named_estimators_.envelope == "drop"
    np.testing.assert_allclose(dropped.score_samples(X), -Z[:, 0])


def test_contamination_sets_the_training_outlier_fraction():
    X, _ = _events(n=1000, seed=6)
    for contamination in (0.02, 0.1, 0.3):
        ens = AnomalyScoreEnsemble(_members(), contamination=contamination).fit(X)
        assert np.mean(ens.predict(X) == -1) == pytest.approx(contamination, abs=2e-3)
        np.testing.assert_allclose(ens.decision_function(X), ens.score_samples(X) - ens.offset_)
    assert AnomalyScoreEnsemble(_members()).contamination == 0.1


# --------------------------------------------------------------------------- #
# scikit-learn integration
# --------------------------------------------------------------------------- #
def test_nested_parameters_and_grid_search_with_the_anomaly_scorer():
    X, y = _events(n=600, n_each=30, seed=7)
    ens = AnomalyScoreEnsemble(_members())
    params = ens.get_params()
    assert params["iforest__max_samples"] == "auto"
    assert params["envelope"] is ens.estimators[1][1]
    ens.set_params(iforest__max_samples=64, envelope__support_fraction=0.9)
    assert ens.estimators[0][1].max_samples == 64
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    gs = GridSearchCV(
        AnomalyScoreEnsemble(_members()),
        {"iforest__max_samples": [16, 128], "weights": [None, [1, 3]]},
        scoring=get_scorer("anomaly_roc_auc"),
        cv=cv,
        error_score="raise",
    )
    gs.fit(X, y)  # the ensemble ignores y; the scorer reads it
    scores = gs.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all(scores > 0.8)
    assert gs.best_estimator_.estimators_[0].max_samples == gs.best_params_["iforest__max_samples"]
    cvs = cross_val_score(
        AnomalyScoreEnsemble(_members()), X, y, scoring=get_scorer("anomaly_max_sic"), cv=cv
    )
    assert np.all(cvs > 1)


def test_pickle_round_trip():
    X, _ = _events(n=400, seed=8)
    ens = AnomalyScoreEnsemble(_members(), standardization="rank").fit(X)
    again = pickle.loads(pickle.dumps(ens))
    np.testing.assert_array_equal(again.score_samples(X), ens.score_samples(X))
    assert again.offset_ == ens.offset_


def test_dataframe_input_keeps_feature_names():
    X, _ = _events(n=400, seed=9)
    df = pd.DataFrame(X, columns=["mj1", "mj2", "tau21_1", "tau21_2"])
    ens = AnomalyScoreEnsemble(_members()).fit(df)
    assert ens.feature_names_in_.tolist() == list(df.columns)
    assert ens.n_features_in_ == 4
    np.testing.assert_allclose(
        ens.score_samples(df), AnomalyScoreEnsemble(_members()).fit(X).score_samples(X)
    )
    with pytest.raises(ValueError, match="feature names should match"):
        ens.score_samples(df.rename(columns={"mj1": "pt"}))
    assert list(ens.named_estimators_) == ["iforest", "envelope"]


def test_sample_weight_reaches_every_member():
    X, _ = _events(n=500, seed=10)
    w = np.random.default_rng(0).uniform(0.2, 3.0, X.shape[0])
    members = [("iforest", _iforest()), ("other", _iforest(max_samples=100))]
    ens = AnomalyScoreEnsemble(members).fit(X, sample_weight=w)
    for (_, est), fitted in zip(members, ens.estimators_):
        direct = clone(est).fit(X, sample_weight=w)
        np.testing.assert_allclose(fitted.score_samples(X), direct.score_samples(X))
    unweighted = AnomalyScoreEnsemble(members).fit(X)
    assert not np.allclose(unweighted.score_samples(X), ens.score_samples(X))
    # a member whose fit takes no weights: refused when weights are given, fine otherwise
    with_lof = [*members, ("lof", LocalOutlierFactor(novelty=True))]
    with pytest.raises(ValueError, match=r"estimator\(s\) \['lof'\] does not take it"):
        AnomalyScoreEnsemble(with_lof).fit(X, sample_weight=w)
    AnomalyScoreEnsemble(with_lof).fit(X)
    with pytest.raises(ValueError, match=r"[Ss]ample weights"):
        AnomalyScoreEnsemble(members).fit(X, sample_weight=np.zeros(X.shape[0]))


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(estimators=[]), ValueError, "non-empty list of \\(name, estimator\\) pairs"),
        (dict(estimators=[_iforest()]), ValueError, "\\(name, estimator\\) pairs"),
        (dict(estimators=[("a", _iforest()), ("a", _iforest())]), ValueError, "not unique"),
        (dict(estimators=[("a", "drop")]), ValueError, "All estimators are dropped"),
        (dict(estimators=[("clf", LogisticRegression())]), TypeError, "'clf'.*classifier"),
        (dict(estimators=[("km", KMeans())]), TypeError, "'km'.*neither score_samples"),
        (dict(estimators=[("lof", LocalOutlierFactor())]), TypeError, "novelty=True"),
        (dict(estimators=_members(), weights=[1.0]), ValueError, "one entry per estimator"),
        (dict(estimators=_members(), weights=[1.0, -1.0]), ValueError, "non-negative"),
        (dict(estimators=_members(), weights=[0, 0]), ValueError, "sum to zero"),
        (dict(estimators=_members(), contamination=0.7), ValueError, "contamination"),
        (dict(estimators=_members(), contamination="auto"), ValueError, "contamination"),
        (dict(estimators=_members(), standardization="minmax"), ValueError, "standardization"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    X, _ = _events(n=100, seed=11)
    with pytest.raises(error, match=match):
        AnomalyScoreEnsemble(**kwargs).fit(X)


def test_bad_data():
    X, _ = _events(n=200, seed=12)
    ens = AnomalyScoreEnsemble(_members()).fit(X)
    with pytest.raises(
        ValueError, match="X has 3 features, but AnomalyScoreEnsemble is expecting 4"
    ):
        ens.predict(X[:, :3])
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AnomalyScoreEnsemble(_members()).fit(X_nan)
    with pytest.raises(ValueError, match="NaN"):
        ens.score_samples(X_nan)
    with pytest.raises(ValueError, match="non-numeric"):
        AnomalyScoreEnsemble(_members()).fit(pd.DataFrame({"a": X[:, 0], "det": "TPC"}))


# scikit-learn's checks on the "rank" variant (tests/test_common.py runs the z-score one)
_RANK = [e for e in check_instances() if type(e).__name__ == "AnomalyScoreEnsemble"]


@parametrize_with_checks(
    [e.set_params(standardization="rank") for e in _RANK],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_rank(estimator, check):
    check(estimator)
