"""Benchmark `anomaly_fit_time`: fit time of the default detectors on the LHCO SR data, alone.

Issue 12's target: the default ``AutoencoderAnomalyDetector`` and
``FlowAnomalyDetector`` fit the 60k x 4 LHCO R&D signal-region events in under
2 minutes on 2 cores. The `anomaly` benchmark measures fit times beside other
jobs; this task fits only the two defaults, one after the other, with nothing
else meant to run (the stamp's load says whether that held).
"""

from __future__ import annotations

import os

from benchmarks._runner import fit_timed, require_data, write_report
from skhep_ml import AutoencoderAnomalyDetector, FlowAnomalyDetector
from skhep_ml.datasets import load_lhco_rnd

TASK = "anomaly_fit_time"
TARGET_S = 120.0
TUNING = "no tuning: the defaults of both detectors (chosen by benchmarks/anomaly_defaults.py)"


def run(args):
    path = require_data(args, "lhco2020_rnd_signal_region")
    if path is None:
        return None
    from benchmarks.anomaly import LHCO_FEATURES

    X, _ = load_lhco_rnd(path, subset="data", return_X_y=True)
    X = X[LHCO_FEATURES]
    if args.quick:
        X = X.iloc[:5000]
    seeds = args.seeds[:1]
    records = []
    for seed in seeds:
        for est in (
            AutoencoderAnomalyDetector(random_state=seed),
            FlowAnomalyDetector(random_state=seed),
        ):
            load = os.getloadavg()[0]
            fit_s = fit_timed(est, X)
            records.append(
                {
                    "detector": type(est).__name__,
                    "seed": seed,
                    "events": len(X),
                    "fit time [s]": fit_s,
                    "epochs": est.n_epochs_,
                    "load before fit": load,
                    "target met (< 2 min)": fit_s < TARGET_S,
                }
            )
            print(records[-1], flush=True)
    import pandas as pd

    table = pd.DataFrame(records)
    text = "; ".join(
        f"{r['detector']} {r['fit time [s]']:.0f} s ({r['epochs']} epochs)" for r in records
    )
    return write_report(
        TASK,
        [("Fit times", table)],
        out_dir=args.out_dir,
        records=records,
        meta={"seeds": seeds, "quick": args.quick, "torch threads": "default (2)"},
        tuning=TUNING,
        headline={
            "scope": "`anomaly_fit_time` (60k x 4 LHCO events, alone)",
            "text": f"default detectors' fit: {text} (target: under 2 minutes on 2 cores)",
            "numbers": {"records": records},
        },
    )
