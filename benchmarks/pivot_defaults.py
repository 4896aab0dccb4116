"""Benchmark `pivot_defaults`: the protocol that chose PivotClassifier's defaults.

On development draws of the pivot paper's 2D toy (arXiv:1611.01046; training
seeds 100-102, never the seeds the `decorrelation` benchmark reports), with the
adversary on every event (``adversary_on="all"``, as the toy needs), each
candidate setting is compared with the same classifier at ``lambda_=0``
(same seed, same learning-rate schedule): the spread of the mean output
across Z = -1, 0, +1 falls by ``ratio = spread(λ=0) / spread``, the AUC by
``cost = AUC(λ=0) - AUC``. Measured exactly as ``decorrelation``'s toy.

Rule, fixed before this run (after an exploration of 28 settings on the same
development seeds, reported in the issue's closing note): among the
candidates whose mean fit time is at most 1.5x that of the v0.1 defaults, the
one with the largest mean ratio among those whose mean AUC cost is at most
0.05.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks._runner import fit_timed, write_report
from skhep_ml import PivotClassifier
from skhep_ml.datasets import make_pivot_toy

TASK = "pivot_defaults"
SEEDS = (100, 101, 102)
Z_VALUES = (-1.0, 0.0, 1.0)
V01 = "v0.1 defaults (λ 10, constant lr)"
#: Candidate settings (besides the shared defaults of today's PivotClassifier).
CANDIDATES = {
    V01: dict(lambda_=10.0, lr_schedule=None),
    "cosine lr, λ 10": dict(lambda_=10.0, lr_schedule="cosine"),
    "cosine lr, λ 20": dict(lambda_=20.0, lr_schedule="cosine"),
    "cosine lr, λ 15, 3 adversary steps": dict(
        lambda_=15.0, lr_schedule="cosine", adversary_steps=3
    ),
}
TUNING = (
    "this task is the tuning: 4 candidate settings of the adversary (λ, learning-rate "
    "schedule, adversary steps), chosen after an exploration of 28 settings on the same "
    "development seeds; the rule (largest mean spread reduction among candidates with mean "
    "AUC cost <= 0.05 and mean fit time <= 1.5x the v0.1 defaults') was fixed before this "
    "run. No event of the `decorrelation` benchmark is used."
)


def _toy_fit(params, seed, n):
    X, y = make_pivot_toy(n, random_state=seed)
    X_te, y_te = make_pivot_toy(n, random_state=seed + 1000)
    at_z = [make_pivot_toy(n, z=z, random_state=seed + 2000)[0] for z in Z_VALUES]
    clf = PivotClassifier(protected="z", adversary_on="all", random_state=seed, **params)
    fit_s = fit_timed(clf, X, y)
    means = [clf.predict_proba(Xz)[:, 1].mean() for Xz in at_z]
    return {
        "AUC": roc_auc_score(y_te, clf.predict_proba(X_te)[:, 1]),
        "spread": max(means) - min(means),
        "fit time [s]": fit_s,
    }


def run(args):
    seeds = list(SEEDS[:1] if args.quick else SEEDS)
    n = 4000 if args.quick else 20000
    extra = {"max_epochs": 3, "pretrain_epochs": 1, "adversary_pretrain_epochs": 1}
    extra = extra if args.quick else {}
    records, refs = [], {}
    for name, params in CANDIDATES.items():
        for seed in seeds:
            key = (params.get("lr_schedule"), seed)
            if key not in refs:  # λ = 0: the adversary does not act on the classifier
                refs[key] = _toy_fit({**params, **extra, "lambda_": 0.0}, seed, n)
            ref = refs[key]
            res = _toy_fit({**params, **extra}, seed, n)
            row = {
                "candidate": name,
                "seed": seed,
                "ratio": ref["spread"] / res["spread"],
                "AUC cost": ref["AUC"] - res["AUC"],
                **res,
                "AUC (λ=0)": ref["AUC"],
                "spread (λ=0)": ref["spread"],
            }
            row["both targets"] = bool(row["ratio"] >= 5 and row["AUC cost"] <= 0.05)
            records.append(row)
            print(
                f"{name} seed {seed}: ratio {row['ratio']:.2f}, cost {row['AUC cost']:.4f}, "
                f"fit {res['fit time [s]']:.0f} s",
                flush=True,
            )
    return report(records, {"seeds": seeds, "toy events": n, "quick": args.quick}, args.out_dir)


def report(records, meta, out_dir):
    df = pd.DataFrame(records)
    summary = df.groupby("candidate", sort=False).agg(
        **{
            "mean ratio": ("ratio", "mean"),
            "min ratio": ("ratio", "min"),
            "mean AUC cost": ("AUC cost", "mean"),
            "max AUC cost": ("AUC cost", "max"),
            "seeds meeting both": ("both targets", "sum"),
            "mean fit time [s]": ("fit time [s]", "mean"),
        }
    )
    budget = 1.5 * summary.loc[V01, "mean fit time [s]"]
    eligible = summary[
        (summary["mean fit time [s]"] <= budget) & (summary["mean AUC cost"] <= 0.05)
    ]
    chosen = eligible["mean ratio"].idxmax() if len(eligible) else None
    rule = (
        "Rule, fixed before the run: among the candidates whose mean fit time is at most 1.5x "
        f"the v0.1 defaults' ({budget:.0f} s), the largest mean ratio among those with mean AUC "
        "cost <= 0.05. Chosen: " + (f"**{chosen}**." if chosen else "**none**.")
    )
    if chosen:
        c = summary.loc[chosen]
        rule += (
            f" It reduces the spread {c['mean ratio']:.1f}x on average (min {c['min ratio']:.1f}x) "
            f"at a mean AUC cost of {c['mean AUC cost']:.3f} (max {c['max AUC cost']:.3f}); both "
            f"targets (>= 5x, <= 0.05) on {int(c['seeds meeting both'])} of {len(meta['seeds'])} "
            "development seeds."
        )
    # how far any setting can go: cost against log(ratio) over every fit
    slope, icpt = np.polyfit(np.log(df["ratio"]), df["AUC cost"], 1)
    frontier = (
        f"Over these fits the AUC cost grows as {icpt:.3f} + {slope:.3f} ln(ratio): a 5x "
        f"reduction costs about {icpt + slope * np.log(5):.3f} in AUC. The target (>= 5x at "
        "<= 0.05) lies on this trade-off curve; the settings move a fit along it (λ) and reduce "
        "its scatter from seed to seed (the cosine schedule), rather than past it."
    )
    headline = {
        "scope": "`pivot_defaults`",
        "text": (
            f"PivotClassifier defaults by protocol on development toys: {chosen}, "
            f"{summary.loc[chosen, 'mean ratio']:.1f}x less spread across Z at AUC cost "
            f"{summary.loc[chosen, 'mean AUC cost']:.3f} (mean of {len(meta['seeds'])} seeds); "
            f"v0.1 defaults {summary.loc[V01, 'mean ratio']:.1f}x at "
            f"{summary.loc[V01, 'mean AUC cost']:.3f}"
            if chosen
            else "PivotClassifier defaults: no candidate met the rule"
        ),
        "numbers": summary.reset_index().to_dict("records"),
    }
    return write_report(
        TASK,
        [
            ("Choice", [rule, frontier]),
            ("Summary over the development seeds", summary.reset_index()),
            ("Per seed", df),
        ],
        out_dir=out_dir,
        records=records,
        meta=meta,
        tuning=TUNING,
        headline=headline,
    )
