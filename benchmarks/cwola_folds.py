"""Benchmark `cwola_folds`: round 2 of the CWoLa defaults protocol, the number of folds.

Round 1 (`cwola_defaults`) chose the inner classifier with ``n_folds=5``.
With the nested k-fold, ``n_folds`` sets both the training share of every
model (``(n_folds - 2) / n_folds`` of the events) and the size of the
ensembles that score the events (``n_folds - 1`` models out of fold,
``n_folds (n_folds - 1)`` on new data); averaging many boosted-tree models is
what makes them robust in weakly supervised searches (Finke et al., PRD 109
(2024) 034033, average 50). This round scans ``n_folds`` in {5, 8, 10} with
the inner classifier of round 1, on the same development events and with the
same metric (:mod:`benchmarks.cwola_defaults`): no event of the `cwola`
benchmark's test sets is used.

Rule, fixed before the run: the smallest ``n_folds`` whose mean relative max
SIC is within 2 % of the best, among those whose LHCO fit would take under 2
minutes alone on the machine.
"""

from __future__ import annotations

from benchmarks.cwola_defaults import protocol_records, protocol_summary, write_protocol_report
from skhep_ml import CWoLaClassifier

TASK = "cwola_folds"
SEEDS = (0, 1)
N_FOLDS = (5, 8, 10)
TUNING = (
    "this task is the tuning (round 2 of `cwola_defaults`): one fit per number of folds, "
    "development dataset and seed, the inner classifier fixed by round 1; the rule (smallest "
    "n_folds within 2 % of the best mean relative max SIC at eps_B >= 1e-3, LHCO fit alone "
    "under 2 min) was fixed before the run. No test event of the `cwola` benchmark is used."
)


def run(args):
    seeds = args.seeds[:1] if args.quick else list(SEEDS)
    makers = {k: lambda seed, k=k: CWoLaClassifier(n_folds=k, random_state=seed) for k in N_FOLDS}
    records = protocol_records(args, seeds, makers, "n_folds")
    return report(records, {"seeds": seeds, "quick": args.quick}, args.out_dir)


def report(records, meta, out_dir):
    """Summary, the choice by the rule, and the report (from the records alone)."""
    df, summary = protocol_summary(records, "n_folds")
    eligible = summary[summary["LHCO fit alone [s]"].fillna(0) < 120]
    best = eligible["mean relative max SIC"].max()
    chosen = int(eligible.index[eligible["mean relative max SIC"] >= 0.98 * best].min())
    rule = (
        "The rule, fixed before the run: the smallest n_folds whose mean relative max SIC "
        "(eps_B >= 1e-3; over the mean of the n_folds values on the same dataset and seed) "
        "is within 2 % of the best, among those whose LHCO fit (121k events) would take "
        "under 2 minutes alone on the machine (wall time x min(1, cores / load)). Chosen: "
        f"**n_folds = {chosen}**."
    )
    return write_protocol_report(
        TASK,
        rule,
        df,
        summary,
        out_dir=out_dir,
        records=records,
        meta={**meta, "n_folds": list(N_FOLDS)},
        tuning=TUNING,
        headline={
            "scope": "`cwola_folds` (protocol round 2, development events)",
            "text": f"CWoLa n_folds: {chosen} (mean relative max SIC "
            f"{summary.loc[chosen, 'mean relative max SIC']:.3f}, best "
            f"{best:.3f}; LHCO fit alone {summary.loc[chosen, 'LHCO fit alone [s]']:.0f} s)",
            "numbers": {"chosen": chosen},
        },
    )
