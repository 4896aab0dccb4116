"""Benchmark `anomaly`: model-independent anomaly detection.

Every unsupervised method is trained on a contaminated sample (as in a real
search, no label is used) and scored on an independent labelled sample:

- ``make_anomaly_events`` with anomaly fractions 1% and 0.1% in training
  (test sample: 2% anomalies, for statistics);
- the LHC Olympics 2020 R&D signal region (``load_lhco_rnd``): trained on the
  SR data (``subset="data"``, S/B about 0.66%), scored on the labelled test
  set (``subset="test"``).

The supervised XGBoost row is an upper bound: it is trained with the truth
labels on a separate labelled sample (simulation: an independent sample with
5% anomalies; LHCO: the labelled rest of the SR data plus extra signal).
``OneClassSVM`` scales quadratically with the training rows: it is trained on
a random subsample of ``OCSVM_ROWS`` rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from benchmarks._runner import (
    PAIRED_NOTE,
    fit_timed,
    mean_std_table,
    paired_summary,
    paired_table,
    require_data,
    rows_per_second,
    write_report,
)
from skhep_ml import AutoencoderAnomalyDetector, XGBoostBaseline
from skhep_ml.datasets import load_lhco_rnd, make_anomaly_events
from skhep_ml.metrics import background_rejection, max_sic

TASK = "anomaly"
OCSVM_ROWS = 5000
#: SIC maximum only over cuts keeping at least this background efficiency
#: (tighter cuts are dominated by a handful of background events).
SIC_FLOOR = 1e-3
AE = "AE (10, 5, 10), tanh(MSE)"
VAE = "VAE (16, 2, 16), -ELBO, beta=0.1"
IFOREST = "IsolationForest"
SUPERVISED = "XGBoost, supervised (upper bound)"
LHCO = "LHCO R&D signal region"
#: Paired comparisons per dataset: (metric, method, reference).
PAIRED = [(m, ours, IFOREST) for m in ("ROC AUC", "max SIC") for ours in (AE, VAE)]
TUNING = (
    "no hyper-parameter search for any method: the AE and VAE settings (layers, beta, lr, "
    "epochs) are hand-set in benchmarks/anomaly.py; IsolationForest runs at scikit-learn's "
    "defaults, LOF with n_neighbors=35, OneClassSVM with nu=0.05 on 5000 rows, supervised "
    "XGBoost 500 trees. Same budget: one fit per seed and dataset for every method, none tuned "
    "on the labelled test sample by a search (that the hand-set AE/VAE values were not picked "
    "while looking at test scores is not recorded)."
)


def methods(quick):
    """name -> factory(seed) of an unfitted unsupervised detector, in table order."""
    epochs = 20 if quick else 60
    return {
        AE: lambda seed: AutoencoderAnomalyDetector(
            hidden_layers=(10, 5, 10), max_epochs=epochs, random_state=seed
        ),
        VAE: lambda seed: AutoencoderAnomalyDetector(
            hidden_layers=(16, 2, 16),
            variational=True,
            beta=0.1,
            score_type="elbo",
            lr=3e-3,
            batch_size=256,
            max_epochs=epochs,
            random_state=seed,
        ),
        IFOREST: lambda seed: IsolationForest(random_state=seed),
        "LocalOutlierFactor (novelty)": lambda seed: make_pipeline(
            StandardScaler(), LocalOutlierFactor(n_neighbors=35, novelty=True)
        ),
        f"OneClassSVM ({OCSVM_ROWS} training rows)": lambda seed: make_pipeline(
            StandardScaler(), OneClassSVM(nu=0.05, gamma="scale")
        ),
    }


def _anomaly_score(est, X):
    """Higher = more anomalous, for every method (score_samples is the opposite)."""
    return -est.score_samples(X)


def _metrics(y, s):
    return {
        "ROC AUC": float(roc_auc_score(y, s)),
        "bkg rejection @ 1% eff": background_rejection(y, s, signal_efficiency=0.01),
        "bkg rejection @ 10% eff": background_rejection(y, s, signal_efficiency=0.1),
        "max SIC": max_sic(y, s, min_background_efficiency=SIC_FLOOR),
    }


def _datasets(args, seed):
    """name -> (X_train, X_test, y_test, X_sup, y_sup)."""
    n = 5_000 if args.quick else 20_000
    out = {}
    Xt, yt = make_anomaly_events(n, contamination=0.02, random_state=10_000 + seed)
    Xs, ys = make_anomaly_events(n, contamination=0.05, random_state=20_000 + seed)
    for frac in (0.01, 0.001):
        X, _ = make_anomaly_events(n, contamination=frac, random_state=seed)
        out[f"make_anomaly_events, {frac:.1%} anomalies"] = (X, Xt, yt, Xs, ys)
    path = require_data(args, "lhco2020_rnd_signal_region")
    if path is not None:
        X, _ = load_lhco_rnd(path, subset="data", return_X_y=True)
        Xt, yt = load_lhco_rnd(path, subset="test", return_X_y=True)
        Xd, yd = load_lhco_rnd(path, subset="data_test", return_X_y=True)
        Xe, ye = load_lhco_rnd(path, subset="extrasig", return_X_y=True)
        Xs = pd.concat([Xd, Xe.iloc[:20_000]], ignore_index=True)
        ys = np.r_[yd.to_numpy(), ye.to_numpy()[:20_000]]
        if args.quick:
            X, Xt, yt = X.iloc[:20_000], Xt.iloc[::3], yt.iloc[::3]
        out[LHCO] = (X, Xt, np.asarray(yt), Xs, ys)
    return out


def run(args):
    seeds = args.seeds[:1] if args.quick else args.seeds
    records = []
    for seed in seeds:
        for data_name, (X, Xt, yt, Xs, ys) in _datasets(args, seed).items():
            rng = np.random.default_rng(seed)
            for name, make in methods(args.quick).items():
                est = make(seed)
                X_fit = X
                if name.startswith("OneClassSVM") and len(X) > OCSVM_ROWS:
                    X_fit = X.iloc[rng.choice(len(X), OCSVM_ROWS, replace=False)]
                fit_s = fit_timed(est, X_fit)
                s = _anomaly_score(est, Xt)
                row = {"dataset": data_name, "method": name, "seed": seed, **_metrics(yt, s)}
                row["fit time [s]"] = fit_s
                row["scoring [rows/s]"] = rows_per_second(est.score_samples, Xt, repeat=1)
                records.append(row)
                print(f"seed {seed} {data_name} | {name}: AUC {row['ROC AUC']:.4f}", flush=True)
            sup = XGBoostBaseline(n_estimators=500, n_jobs=2, random_state=seed)
            fit_s = fit_timed(sup, Xs, ys)
            s = sup.predict_proba(Xt)[:, 1]
            row = {"dataset": data_name, "method": SUPERVISED, "seed": seed, **_metrics(yt, s)}
            row["fit time [s]"] = fit_s
            row["scoring [rows/s]"] = rows_per_second(sup.predict_proba, Xt, repeat=1)
            records.append(row)
            print(f"seed {seed} {data_name} | XGBoost: AUC {row['ROC AUC']:.4f}", flush=True)

    sections = []
    for data_name in dict.fromkeys(r["dataset"] for r in records):
        recs = [{k: v for k, v in r.items() if k not in ("dataset", "seed")} for r in records]
        recs = [r for r, full in zip(recs, records) if full["dataset"] == data_name]
        sections.append((f"{data_name} (mean ± std over seeds)", mean_std_table(recs)))
        mine = [r for r in records if r["dataset"] == data_name]
        sections.append(
            (f"{data_name}: paired differences per seed", [PAIRED_NOTE, paired_table(mine, PAIRED)])
        )
    sections.append(
        (
            "Notes",
            "Unsupervised rows are trained on the contaminated sample without labels and scored "
            "on an independent labelled sample; the supervised XGBoost row uses truth labels "
            "and bounds what any method can reach. Background rejection is 1/eps_B at the "
            f"given anomaly (signal) efficiency; max SIC is eps_S/sqrt(eps_B) over cuts with "
            f"eps_B >= {SIC_FLOOR:g}. Scoring throughput is score_samples on the test sample, "
            "one process on a shared CPU.",
        )
    )
    meta = {"seeds": seeds, "quick": args.quick, "ocsvm_rows": OCSVM_ROWS}
    return write_report(
        TASK,
        sections,
        out_dir=args.out_dir,
        records=records,
        meta=meta,
        tuning=TUNING,
        headline=headline(records, meta),
    )


def headline(records, meta):
    """The task's line in the README's results table (from the JSON's records)."""
    parts, numbers = [], {}
    for data_name in dict.fromkeys(r["dataset"] for r in records):
        if "0.1%" not in data_name and data_name != LHCO:
            continue
        mine = [r for r in records if r["dataset"] == data_name]
        auc = pd.DataFrame(mine).groupby("method", sort=False)["ROC AUC"].mean()
        unsup = auc.drop(SUPERVISED, errors="ignore")
        best = unsup.idxmax()
        vs = {ours: paired_summary(mine, "ROC AUC", ours, IFOREST) for ours in (AE, VAE)}
        short = {AE: "AE", VAE: "VAE"}
        parts.append(
            f"{'LHCO' if data_name == LHCO else data_name}: best unsupervised AUC "
            f"{best} {unsup[best]:.3f}; IsolationForest {auc[IFOREST]:.3f}, "
            + ", ".join(
                f"{short[o]} {auc[o]:.3f} ({v['text']}: **{v['verdict']}**)" for o, v in vs.items()
            )
        )
        numbers[data_name] = {
            "ROC AUC (mean over seeds)": auc.to_dict(),
            **{f"{short[o]} - IsolationForest ROC AUC, paired": v for o, v in vs.items()},
        }
    return {
        "scope": f"`anomaly` ({len(meta['seeds'])} seeds)",
        "text": "; ".join(parts),
        "numbers": numbers,
    }
