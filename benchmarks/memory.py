"""Benchmark `memory`: peak memory of prediction and training above the data (issue 18).

For every large-data estimator (``FSEAttentionClassifier``, ``DNNClassifier``,
``MDAClassifier``, ``AutoencoderAnomalyDetector``, ``CWoLaClassifier``), the
peak resident set size (RSS) that ``predict_proba`` (``score_samples`` for the
autoencoder) and ``fit`` add above the process's RSS once the float32 input
exists, at 100k, 1M and 5M rows (18 features, 72 bytes per row). Each
measurement runs in a fresh Python process, so that peaks do not mix and no
memory freed by an earlier step is reused: the process builds the data block
by block (no temporary above the input), collects garbage, reads its RSS, then
makes the call while a thread samples the RSS every millisecond; the peak is
the larger of the sampled maximum and ``getrusage``'s ``ru_maxrss`` when that
rose during the call (Linux: ``/proc/self/statm``).

Prediction uses a model fitted on 5,000 rows (pickled, loaded in the child).
Training runs one epoch capped at ``FIT_BATCHES`` minibatches (the neural
estimators; a callback stops the epoch) and ``CWoLaClassifier`` fits
``CWOLA_FOLDS`` folds of boosted trees with ``CWOLA_TREES`` trees: every copy,
split, scaling and encoding of the whole data set is made as in a full fit,
only the number of optimiser steps is cut, and the per-batch memory of the
network does not grow with the rows. The times in the tables are wall times on
a shared 2-core machine, not targets.

Targets (issue 18): prediction adds at most 200 MB above the input and the
output at any number of rows; training peaks at most at 3 x the float32 input
+ 300 MB above the input. With ``benchmarks/results/memory_before/memory.json``
(the same task run on the code before the fix) the report shows before and
after side by side.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._runner import ROOT, markdown_table, save_figure, write_report

TASK = "memory"
N_FEATURES = 18
SIZES = (100_000, 1_000_000, 5_000_000)
QUICK_SIZES = (2_000,)
FIT_BATCHES = 200
CWOLA_FOLDS = 4
CWOLA_TREES = 20
PREDICT_TARGET_MB = 200.0
FIT_TARGET = (3.0, 300.0)  # x float32 input + MB
MB = 2**20
#: Environment variable overriding the row counts (comma-separated).
ROWS_ENV = "SKHEP_ML_MEMORY_ROWS"
ESTIMATORS = (
    "FSEAttentionClassifier",
    "DNNClassifier",
    "MDAClassifier",
    "AutoencoderAnomalyDetector",
    "CWoLaClassifier",
)
TUNING = (
    "no tuning: default architectures; fit runs 1 epoch capped at "
    f"{FIT_BATCHES} minibatches (CWoLa: {CWOLA_FOLDS} folds of {CWOLA_TREES} boosted trees), "
    "the prediction models are fitted on 5,000 rows; only memory is compared"
)


# ---------------------------------------------------------------- the child process


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class _PeakSampler(threading.Thread):
    """Samples the RSS every ``interval`` seconds until stopped."""

    def __init__(self, interval=0.001):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, _rss())


def make_data(name, n, seed=0):
    """float32 ``X`` (n, 18) built block by block, labels ``y`` (int64) or None."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, N_FEATURES), dtype=np.float32)
    block = 100_000
    for start in range(0, n, block):
        part = X[start : start + block]
        part[...] = rng.standard_normal(part.shape, dtype=np.float32)
        if name == "FSEAttentionClassifier":  # missing detector signals
            for j in (4, 7, 11):
                part[rng.random(len(part)) < 0.3, j] = np.nan
    if name == "AutoencoderAnomalyDetector":
        return X, None
    score = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1])
    if name == "FSEAttentionClassifier":  # three species
        y = np.digitize(score, [-0.5, 0.5]).astype(np.int64)
    elif name == "CWoLaClassifier":  # fit(X): labels from the mass column (column 0)
        y = None
    else:
        y = (score > 0).astype(np.int64)
        if name == "MDAClassifier":  # a fifth of the rows are unlabelled target data
            y[rng.random(n) < 0.2] = -1
    return X, y


def make_estimator(name, fit_batches=None):
    """The estimator; ``fit_batches`` caps training at that many minibatches."""
    import skhep_ml

    if name == "CWoLaClassifier":
        from skhep_ml.cwola import default_estimator

        trees = default_estimator(random_state=0).set_params(max_iter=CWOLA_TREES)
        return skhep_ml.CWoLaClassifier(
            mass=0, signal_region=(-0.5, 0.5), estimator=trees, n_folds=CWOLA_FOLDS, random_state=0
        )
    cls = getattr(skhep_ml, name)
    if fit_batches is not None:
        cls = _capped(cls, fit_batches)
    return cls(max_epochs=1, random_state=0, verbose=0)


def _capped(cls, n_batches):
    """A subclass whose training stops after ``n_batches`` minibatches."""
    from skorch.callbacks import Callback

    from skhep_ml._nets import StopTraining

    class BatchCap(Callback):
        def on_train_begin(self, net, **kwargs):
            self.seen_ = 0

        def on_batch_end(self, net, training=False, **kwargs):
            self.seen_ += bool(training)
            if self.seen_ >= n_batches:
                raise StopTraining

    class Capped(cls):
        def _extra_callbacks(self):
            return [*super()._extra_callbacks(), ("batch_cap", BatchCap())]

    Capped.__name__ = Capped.__qualname__ = cls.__name__
    return Capped


def _call(name, mode, est, X, y):
    if mode == "predict":
        if name == "AutoencoderAnomalyDetector":
            return est.score_samples(X)
        return est.predict_proba(X)
    if y is None:
        est.fit(X)
    else:
        est.fit(X, y)
    return None


def child(spec):
    """Measure one (estimator, mode, rows) in this process; print one JSON line."""
    import torch  # noqa: F401  (imported before the baseline, as by the estimators)

    import skhep_ml  # noqa: F401

    name, mode, n = spec["name"], spec["mode"], spec["rows"]
    est = None
    if mode == "predict":
        est = pickle.loads(Path(spec["model"]).read_bytes())
    else:
        est = make_estimator(name, fit_batches=spec["fit_batches"])
    X, y = make_data(name, n)
    gc.collect()
    time.sleep(0.2)
    base, maxrss_before = _rss(), _maxrss()
    sampler = _PeakSampler()
    sampler.start()
    start = time.perf_counter()
    out = _call(name, mode, est, X, y)
    seconds = time.perf_counter() - start
    sampler.stop()
    maxrss = _maxrss()
    peak = max(sampler.peak, maxrss if maxrss > maxrss_before else 0)
    record = {
        "estimator": name,
        "mode": mode,
        "rows": n,
        "input [MB]": X.nbytes / MB,
        "output [MB]": 0.0 if out is None else out.nbytes / MB,
        "peak above input [MB]": (peak - base) / MB,
        "seconds": seconds,
    }
    print("RECORD " + json.dumps(record), flush=True)


# ---------------------------------------------------------------- the parent


def _fit_models(names, folder):
    """Small fitted models for the prediction measurements, pickled into ``folder``."""
    paths = {}
    for name in names:
        X, y = make_data(name, 5_000, seed=1)
        est = make_estimator(name)
        if name == "CWoLaClassifier" or y is None:
            est.fit(X)
        else:
            est.fit(X, y)
        paths[name] = Path(folder) / f"{name}.pkl"
        paths[name].write_bytes(pickle.dumps(est))
    return paths


def _run_child(spec):
    # one thread: on a shared machine idle OpenMP threads spin; memory does not depend on it
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    code = f"from benchmarks.memory import child; child({spec!r})"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RECORD ")]
    if out.returncode != 0 or not lines:
        return {
            "estimator": spec["name"],
            "mode": spec["mode"],
            "rows": spec["rows"],
            "error": (out.stderr.strip().splitlines() or ["no output"])[-1][:300],
        }
    return json.loads(lines[-1][len("RECORD ") :])


def target_mb(record):
    """The issue's bound on the peak above the input, for this record."""
    if record["mode"] == "predict":
        return PREDICT_TARGET_MB + record["output [MB]"]
    factor, extra = FIT_TARGET
    return factor * record["input [MB]"] + extra


def measure(names, sizes):
    records = []
    with tempfile.TemporaryDirectory() as folder:
        models = _fit_models(names, folder)
        for name in names:
            for mode in ("predict", "fit"):
                for n in sizes:
                    spec = {
                        "name": name,
                        "mode": mode,
                        "rows": int(n),
                        "model": str(models[name]),
                        "fit_batches": FIT_BATCHES,
                    }
                    record = _run_child(spec)
                    if "error" not in record:
                        record["target [MB]"] = target_mb(record)
                        record["met"] = record["peak above input [MB]"] <= record["target [MB]"]
                    records.append(record)
                    print(record, flush=True)
    return records


def _table(records, before=None):
    rows = []
    old = {(r["estimator"], r["mode"], r["rows"]): r for r in before or []}
    for r in records:
        row = {"estimator": r["estimator"], "call": _call_name(r), "rows": f"{r['rows']:,}"}
        if "error" in r:
            row["after: peak above input [MB]"] = "error: " + r["error"]
            rows.append(row)
            continue
        row["input [MB]"] = f"{r['input [MB]']:.0f}"
        row["output [MB]"] = f"{r['output [MB]']:.0f}"
        b = old.get((r["estimator"], r["mode"], r["rows"]))
        if before is not None:
            row["before: peak above input [MB]"] = (
                "–"
                if b is None
                else ("error" if "error" in b else f"{b['peak above input [MB]']:,.0f}")
            )
        row["after: peak above input [MB]"] = f"{r['peak above input [MB]']:,.0f}"
        row["target [MB]"] = f"≤ {r['target [MB]']:,.0f}"
        row["met"] = "yes" if r["met"] else "**no**"
        row["after: time [s]"] = f"{r['seconds']:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def _call_name(r):
    if r["mode"] == "fit":
        return "fit"
    return "score_samples" if r["estimator"] == "AutoencoderAnomalyDetector" else "predict_proba"


def _plot(records, before, out_dir):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, mode in zip(axes, ("predict", "fit")):
        for i, name in enumerate(ESTIMATORS):
            color = f"C{i}"
            for recs, style, label in ((before, "--", " (before)"), (records, "-", "")):
                pts = [
                    (r["rows"], r["peak above input [MB]"])
                    for r in recs or []
                    if r["estimator"] == name and r["mode"] == mode and "error" not in r
                ]
                if pts:
                    x, y = zip(*sorted(pts))
                    ax.plot(x, y, style, marker="o", color=color, label=name + label)
        sizes = sorted({r["rows"] for r in records})
        if mode == "fit":
            inp = np.array(sizes) * N_FEATURES * 4 / MB
            ax.plot(sizes, FIT_TARGET[0] * inp + FIT_TARGET[1], ":", color="k", label="target")
        else:
            ax.axhline(PREDICT_TARGET_MB, ls=":", color="k", label="target (+ output)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows (18 float32 features)")
        ax.set_ylabel("peak RSS above the input [MB]")
        ax.set_title("predict_proba / score_samples" if mode == "predict" else "fit")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save_figure(fig, TASK, "rss_vs_rows", out_dir=out_dir)


def run(args):
    names = list(getattr(args, "estimators", None) or ESTIMATORS)
    sizes = QUICK_SIZES if args.quick else SIZES
    if os.environ.get(ROWS_ENV):  # e.g. the before run, at fewer sizes
        sizes = tuple(int(v) for v in os.environ[ROWS_ENV].split(","))
    records = measure(names, sizes)
    before_file = Path(args.out_dir) / "memory_before" / "memory.json"
    before = None
    if before_file.exists():
        before = json.loads(before_file.read_text())["records"]
    _plot(records, before, args.out_dir)
    done = [r for r in records if "error" not in r]
    missed = [r for r in done if not r["met"]]
    head = headline(records, {})["numbers"]
    verdict = [
        f"- prediction: at {max(sizes):,} rows at most {head['prediction MB']:,.0f} MB above "
        f"the input and the output (target {PREDICT_TARGET_MB:.0f} MB)",
        f"- training: at {max(sizes):,} rows at most {head['training x input']:.2f} x the "
        f"float32 input above it (target {FIT_TARGET[0]:g} x + {FIT_TARGET[1]:.0f} MB)",
        "- every target met"
        if not missed and len(done) == len(records)
        else "- missed: "
        + ", ".join(f"{r['estimator']} {r['mode']} at {r['rows']:,} rows" for r in missed)
        + (f"; {len(records) - len(done)} error(s)" if len(done) < len(records) else ""),
    ]
    meta = {
        "rows": list(sizes),
        "features": N_FEATURES,
        "fit": f"1 epoch capped at {FIT_BATCHES} minibatches; CWoLa {CWOLA_FOLDS} folds, "
        f"{CWOLA_TREES} trees",
        "before": "benchmarks/results/memory_before/memory.json" if before is not None else "none",
    }
    write_report(
        TASK,
        [
            ("Peak RSS above the input", markdown_table(_table(records, before))),
            ("Verdict", "\n".join(verdict)),
            ("Plot", f"![RSS overhead vs rows]({TASK}_rss_vs_rows.png)"),
        ],
        out_dir=args.out_dir,
        records=records,
        meta=meta,
        tuning=TUNING,
        headline=headline(records, meta),
    )
    return records


def headline(records, meta):
    """The task's line in the README's results table."""
    done = [r for r in records if "error" not in r]
    largest = max((r["rows"] for r in done), default=0)
    pred = [r for r in done if r["mode"] == "predict" and r["rows"] == largest]
    fit = [r for r in done if r["mode"] == "fit" and r["rows"] == largest]
    worst_pred = max((r["peak above input [MB]"] - r["output [MB]"] for r in pred), default=0)
    worst_fit = max((r["peak above input [MB]"] / r["input [MB]"] for r in fit), default=0)
    met = all(r["met"] for r in done) and len(done) == len(records)
    return {
        "scope": "`memory` (5 estimators)",
        "text": f"at {largest:,} rows prediction adds at most {worst_pred:,.0f} MB above input "
        f"and output (target 200 MB), training at most {worst_fit:.2f} x the float32 input "
        f"(target 3 x + 300 MB): {'all targets met' if met else 'not every target met'}",
        "numbers": {"prediction MB": worst_pred, "training x input": worst_fit, "met": met},
    }


if __name__ == "__main__":  # pragma: no cover - the children are started with -c
    child(json.loads(sys.argv[1]))
