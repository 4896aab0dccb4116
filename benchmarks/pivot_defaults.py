"""Benchmark `pivot_defaults`: the protocol that chose PivotClassifier's defaults.

On development draws of the pivot paper's 2D toy (arXiv:1611.01046; training
seeds 100-102, never the seeds the `decorrelation` benchmark reports), with the
adversary on every event (``adversary_on="all"``, as the toy needs), each
candidate setting is compared with the same classifier at ``lambda_=0``
(same seed, same learning-rate schedule): the spread of the mean output
across Z = -1, 0, +1 falls by ``ratio = spread(λ=0) / spread``, the AUC by
``cost = AUC(λ=0) - AUC``. Measured exactly as ``decorrelation``'s toy.

Two rounds, each with its rule fixed before it ran:

1. seeds 100-102 (the seeds of an earlier exploration of 28 settings): among
   the candidates whose mean fit time is at most 1.5x that of the v0.1
   defaults, the largest *mean* ratio among those whose mean AUC cost is at
   most 0.05. This rule proved flawed: a mean of ratios rewards scatter (the
   v0.1 defaults win it with 1.8x, 4.4x and 11.3x on the three seeds).
2. fresh seeds 103-105, a rule written after round 1 and before round 2:
   the same time limit, a worst seed of at least 3x (the setting must work
   on every draw), a mean AUC cost of at most 0.05, and then the largest
   geometric-mean ratio. Round 2 chooses the defaults.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks._runner import fit_timed, write_report
from skhep_ml import PivotClassifier
from skhep_ml.datasets import make_pivot_toy

TASK = "pivot_defaults"
ROUNDS = {1: (100, 101, 102), 2: (103, 104, 105)}
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
#: What was done when no candidate met round 2's rule (a judgment, not the rule).
JUDGMENT = (
    "the defaults were set by judgment to cosine lr, λ 20, the only candidate above 5x on "
    "average at the time of the v0.1 defaults, at an AUC cost above 0.05"
)
TUNING = (
    "this task is the tuning: 4 candidate settings of the adversary (λ, learning-rate "
    "schedule, adversary steps), chosen after an exploration of 28 settings on the seeds of "
    "round 1; round 2 runs on fresh development seeds with a rule fixed after round 1 "
    "(round 1's rule, the mean ratio, rewarded scatter). No event of the `decorrelation` "
    "benchmark is used."
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
    n = 4000 if args.quick else 20000
    extra = {"max_epochs": 3, "pretrain_epochs": 1, "adversary_pretrain_epochs": 1}
    extra = extra if args.quick else {}
    records = []
    for round_, seeds in ROUNDS.items():
        for seed in seeds[:1] if args.quick else seeds:
            refs = {}
            for name, params in CANDIDATES.items():
                key = params.get("lr_schedule")
                if key not in refs:  # λ = 0: the adversary does not act on the classifier
                    refs[key] = _toy_fit({**params, **extra, "lambda_": 0.0}, seed, n)
                ref = refs[key]
                res = _toy_fit({**params, **extra}, seed, n)
                row = {
                    "round": round_,
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
                    f"round {round_} {name} seed {seed}: ratio {row['ratio']:.2f}, cost "
                    f"{row['AUC cost']:.4f}, fit {res['fit time [s]']:.0f} s",
                    flush=True,
                )
    meta = {"rounds (seeds)": {k: list(v) for k, v in ROUNDS.items()}, "toy events": n}
    return report(records, {**meta, "quick": args.quick}, args.out_dir)


def _summary(df):
    return df.groupby("candidate", sort=False).agg(
        **{
            "mean ratio": ("ratio", "mean"),
            "geometric-mean ratio": ("ratio", lambda r: float(np.exp(np.log(r).mean()))),
            "min ratio": ("ratio", "min"),
            "mean AUC cost": ("AUC cost", "mean"),
            "max AUC cost": ("AUC cost", "max"),
            "seeds meeting both": ("both targets", "sum"),
            "mean fit time [s]": ("fit time [s]", "mean"),
        }
    )


def _choose(summary, round_):
    """The candidate round ``round_``'s rule picks (None if none is eligible)."""
    ok = summary["mean fit time [s]"] <= 1.5 * summary.loc[V01, "mean fit time [s]"]
    ok &= summary["mean AUC cost"] <= 0.05
    if round_ == 1:
        eligible = summary[ok]
        return eligible["mean ratio"].idxmax() if len(eligible) else None
    eligible = summary[ok & (summary["min ratio"] >= 3.0)]
    return eligible["geometric-mean ratio"].idxmax() if len(eligible) else None


def report(records, meta, out_dir):
    df = pd.DataFrame(records)
    sections, chosen = [], {}
    for round_, part in df.groupby("round", sort=True):
        summary = _summary(part)
        chosen[round_] = pick = _choose(summary, round_)
        rule = {
            1: "Rule 1: among the candidates with mean fit time <= 1.5x the v0.1 defaults', the "
            "largest mean ratio among those with mean AUC cost <= 0.05.",
            2: "Rule 2 (written after round 1): mean fit time <= 1.5x the v0.1 defaults', worst "
            "seed >= 3x, mean AUC cost <= 0.05; then the largest geometric-mean ratio.",
        }[int(round_)]
        text = f"{rule} Chosen: " + (f"**{pick}**" if pick else "**none**")
        if pick:
            c = summary.loc[pick]
            text += (
                f": {c['geometric-mean ratio']:.1f}x (geometric mean; worst seed "
                f"{c['min ratio']:.1f}x) at a mean AUC cost of {c['mean AUC cost']:.3f} (max "
                f"{c['max AUC cost']:.3f}); both targets (>= 5x, <= 0.05) on "
                f"{int(c['seeds meeting both'])} of {part['seed'].nunique()} seeds."
            )
        sections.append(
            (
                f"Round {round_} (seeds {sorted(int(s) for s in part['seed'].unique())})",
                [text, summary.reset_index()],
            )
        )
    # how far any setting can go: cost against log(ratio) over every fit
    slope, icpt = np.polyfit(np.log(df["ratio"]), df["AUC cost"], 1)
    frontier = (
        f"Over all fits the AUC cost grows as {icpt:.3f} + {slope:.3f} ln(ratio): a 5x "
        f"reduction costs about {icpt + slope * np.log(5):.3f} in AUC. The target (>= 5x at "
        "<= 0.05) lies on this trade-off curve; the settings move a fit along it (λ) and reduce "
        "its scatter from seed to seed (the cosine schedule), rather than past it."
    )
    final = chosen.get(2)
    last = _summary(df[df["round"] == max(chosen)])
    headline = {
        "scope": "`pivot_defaults`",
        "text": (
            f"PivotClassifier defaults by protocol on development toys: {final}, "
            f"{last.loc[final, 'geometric-mean ratio']:.1f}x less spread across Z (worst seed "
            f"{last.loc[final, 'min ratio']:.1f}x) at AUC cost {last.loc[final, 'mean AUC cost']:.3f};"
            f" the v0.1 defaults {last.loc[V01, 'geometric-mean ratio']:.1f}x (worst seed "
            f"{last.loc[V01, 'min ratio']:.1f}x) at {last.loc[V01, 'mean AUC cost']:.3f}"
            if final
            else "PivotClassifier defaults: no candidate met round 2's rule on fresh development "
            "toys ("
            + "; ".join(
                f"{name}: {r['geometric-mean ratio']:.1f}x less spread across Z, worst seed "
                f"{r['min ratio']:.1f}x, AUC cost {r['mean AUC cost']:.3f}"
                for name, r in last.iterrows()
            )
            + f"); {JUDGMENT}"
        ),
        "numbers": {int(k): v for k, v in chosen.items()},
    }
    return write_report(
        TASK,
        [*sections, ("The trade-off", frontier), ("Per seed", df)],
        out_dir=out_dir,
        records=records,
        meta=meta,
        tuning=TUNING,
        headline=headline,
    )
