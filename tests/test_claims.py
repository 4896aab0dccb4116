"""Fast versions of each method's claim, in the default suite.

The full-scale claims live in the ``slow`` tests and the benchmarks; these are
small enough to run in seconds on one core, with margins checked over several
seeds (the seed is fixed here). Each docstring states the claim.
"""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import (
    AutoencoderAnomalyDetector,
    FSEAttentionClassifier,
    MDAClassifier,
    PivotClassifier,
    XGBoostBaseline,
)
from skhep_ml.datasets import (
    make_jet_mass_toy,
    make_multimodal_nuclei,
    make_pid_tracks,
    make_pivot_toy,
)
from skhep_ml.metrics import mass_sculpting_jsd

SEED = 0


def test_adversary_makes_the_output_pivotal():
    """PivotClassifier(method="adversary") makes the classifier output independent
    of the nuisance Z (Louppe et al.'s toy): the mean signal probability moves
    much less between Z = -1, 0, +1 than without the adversary, at a bounded
    loss of AUC.

    Over seeds 0-3: spread of the mean output 0.15-0.16 without, 0.01-0.03 with
    the adversary; AUC 0.85-0.86 without, 0.78-0.80 with.
    """
    X, y = make_pivot_toy(3000, random_state=SEED)
    X_test, y_test = make_pivot_toy(4000, random_state=100 + SEED)
    X_at_z = [make_pivot_toy(3000, z=v, random_state=200 + SEED)[0] for v in (-1, 0, 1)]
    kw = dict(
        protected="z",
        adversary_on="all",
        hidden_layers=(16, 16),
        adversary_hidden_layers=(16,),
        adversary_steps=3,
        max_epochs=10,
        pretrain_epochs=2,
        adversary_pretrain_epochs=2,
        batch_size=128,
        lr=1e-2,
        validation_fraction=None,
        random_state=SEED,
    )
    spread, auc = {}, {}
    for lam in (0.0, 10.0):
        clf = PivotClassifier(lambda_=lam, **kw).fit(X, y)
        means = [clf.predict_proba(Xz)[:, 1].mean() for Xz in X_at_z]
        spread[lam] = max(means) - min(means)
        auc[lam] = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
    assert spread[0.0] > 0.1  # the unconstrained output does depend on Z
    assert spread[10.0] < spread[0.0] / 3
    assert auc[10.0] > auc[0.0] - 0.12
    assert auc[10.0] > 0.72


def test_disco_reduces_mass_sculpting():
    """PivotClassifier(method="disco") decorrelates the output from the jet mass:
    cutting on it at 50 % signal efficiency sculpts the QCD mass spectrum much
    less (Jensen-Shannon divergence of passing vs failing background) than the
    same network with lambda_=0, while it still separates W from QCD.

    Over seeds 0-3: JSD 0.18-0.24 with lambda_=0, 0.009-0.022 with lambda_=30;
    AUC 0.97 and 0.82-0.89.
    """
    X, y = make_jet_mass_toy(4000, random_state=SEED)
    X_test, y_test = make_jet_mass_toy(20000, random_state=100 + SEED)
    kw = dict(
        protected="mass",
        method="disco",
        hidden_layers=(16, 16),
        max_epochs=15,
        batch_size=512,
        lr=1e-2,
        validation_fraction=None,
        random_state=SEED,
    )
    jsd, auc = {}, {}
    for lam in (0.0, 30.0):
        s = PivotClassifier(lambda_=lam, **kw).fit(X, y).predict_proba(X_test)[:, 1]
        jsd[lam] = mass_sculpting_jsd(y_test, s, X_test["mass"], signal_efficiency=0.5)
        auc[lam] = roc_auc_score(y_test, s)
    assert jsd[0.0] > 0.1  # the unconstrained classifier sculpts the mass
    assert jsd[30.0] < jsd[0.0] / 4
    assert auc[30.0] > 0.75


def test_domain_head_aligns_simulation_and_data():
    """MDAClassifier's DANN domain head, trained on unlabelled data rows (y = -1),
    makes the learned features domain-invariant: a cross-validated logistic
    regression on ``embed(X)`` tells simulation from data much less well than
    with ``domain_adaptation=None`` (trained on the MC rows), and the
    classifier's AUC on data improves.

    Over seeds 0-3: domain AUC 0.735-0.764 without, 0.554-0.614 with the head;
    data AUC 0.84-0.89 without, 0.92-0.95 with.
    """
    d = make_multimodal_nuclei(1500, 1500, random_state=SEED)
    test = make_multimodal_nuclei(2000, 2000, random_state=100 + SEED)
    X = pd.concat([d.X_mc, d.X_data], ignore_index=True)
    y = np.r_[d.y_mc, np.full(len(d.X_data), -1)]
    kw = dict(
        modalities=d.modalities,
        embed_dim=8,
        n_heads=2,
        hidden_layers=(32,),
        head_hidden=(16,),
        domain_hidden=(32, 32),
        domain_lambda=10.0,
        max_epochs=15,
        batch_size=128,
        lr=3e-3,
        validation_fraction=None,
        random_state=SEED,
    )
    domain = np.r_[np.zeros(len(test.X_mc)), np.ones(len(test.X_data))]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    domain_auc, data_auc = {}, {}
    for adapt in (False, True):
        if adapt:
            clf = MDAClassifier(**kw).fit(X, y)
        else:
            clf = MDAClassifier(domain_adaptation=None, **kw).fit(d.X_mc, d.y_mc)
        feats = np.vstack([clf.embed(test.X_mc), clf.embed(test.X_data)])
        p = cross_val_predict(probe, feats, domain, cv=3, method="predict_proba")[:, 1]
        domain_auc[adapt] = roc_auc_score(domain, p)
        data_auc[adapt] = roc_auc_score(test.y_data, clf.predict_proba(test.X_data)[:, 1])
    assert domain_auc[False] > 0.7  # without the head the features reveal the domain
    assert domain_auc[True] < domain_auc[False] - 0.08
    assert data_auc[True] > data_auc[False]


def _curve(n, rng):
    """Four features on a 1-D curve, plus noise."""
    t = rng.uniform(0, 1, (n, 1))
    return np.hstack([t, t**2, 1 - t, np.sin(3 * t)]) + rng.normal(0, 0.02, (n, 4))


def test_autoencoder_finds_anomalies_within_the_marginal_ranges():
    """AutoencoderAnomalyDetector ranks events off the training manifold above the
    background, even when every variable of the anomaly lies within the background's
    range (as the heavy particle of make_anomaly_events): here anomalies have each
    feature drawn from the background's own marginal, independently, so only the
    correlation is broken. It beats IsolationForest, which sees the marginals.

    Over seeds 0-4: AUC 0.985-1.0 (IsolationForest 0.94-0.97).
    (On make_anomaly_events itself, at 8000 rows and 40 epochs, 1 seed in 5-6 gives
    an autoencoder whose AUC is about 0.31, with (10, 5, 10) and (16, 4, 16) alike:
    too unstable for a fast test; the slow test in test_autoencoder.py keeps it.)
    """
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(SEED)
    X = _curve(2000, rng)
    background = _curve(1900, rng)
    odd = _curve(100, rng)
    odd = np.column_stack([rng.permutation(odd[:, j]) for j in range(odd.shape[1])])
    X_test = np.vstack([background, odd])
    y_test = np.r_[np.zeros(len(background)), np.ones(len(odd))]
    ae = AutoencoderAnomalyDetector(
        hidden_layers=(8, 2, 8), max_epochs=30, lr=1e-2, batch_size=64, random_state=SEED
    ).fit(X)
    auc = roc_auc_score(y_test, ae.anomaly_score(X_test))
    forest = IsolationForest(random_state=SEED).fit(X)
    assert auc > 0.97
    assert auc > roc_auc_score(y_test, -forest.score_samples(X_test))


def test_fse_handles_missing_detectors_without_imputation():
    """FSEAttentionClassifier uses detector signals that are missing for part of the
    tracks (ITS, TOF) with no imputation: its accuracy is close to NaN-native XGBoost's
    and clearly above XGBoost given only the always-present columns.

    Over seeds 0-3 (3000 training tracks, 5 columns): FSE 0.920-0.931, XGBoost
    0.926-0.938, XGBoost on the always-present columns 0.873-0.880.
    """
    cols = ["pt", "sign", "tpc_signal", "its_signal", "tof_beta"]
    always = ["pt", "sign", "tpc_signal"]
    X, y = make_pid_tracks(3000, random_state=SEED, return_X_y=True)
    X_test, y_test = make_pid_tracks(4000, random_state=100 + SEED, return_X_y=True)
    X, X_test = X[cols], X_test[cols]
    assert X[["its_signal", "tof_beta"]].isna().any().all()  # the holes are there
    assert X[always].notna().all().all()
    fse = FSEAttentionClassifier(
        d_model=16,
        embed_hidden=32,
        dim_feedforward=32,
        pool_hidden=16,
        head_hidden=16,
        n_layers=1,
        max_epochs=12,
        batch_size=128,
        lr=1e-2,
        validation_fraction=None,
        thresholds=None,
        random_state=SEED,
    ).fit(X, y)
    acc = fse.score(X_test, y_test)
    xgb = XGBoostBaseline(n_estimators=200, n_jobs=1, random_state=SEED)
    acc_xgb = xgb.fit(X, y).score(X_test, y_test)
    acc_always = xgb.fit(X[always], y).score(X_test[always], y_test)
    assert acc > acc_xgb - 0.04
    assert acc > acc_always + 0.02
