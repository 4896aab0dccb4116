"""Benchmark `scale`: out-of-core training from ROOT files, Dask predictions, read overhead.

(a) Out of core. ``N_FILES`` ROOT files of ``make_pid_tracks`` tracks (5 million
in all; a missing detector signal stored as the sentinel -999, as ALICE's
tables do) are written once, file by file, with uproot. An
``FSEAttentionClassifier`` is trained by ``partial_fit`` over ``iter_root``
chunks, one pass, in a fresh process whose resident memory (RSS) is sampled
every 0.2 s; its peak is the process's high-water mark (``VmHWM``). The same settings
compare the two ways on a subset that fits in memory: ``fit`` (one epoch)
against ``partial_fit`` over the same rows in chunks (one pass), scored on the
same independent test tracks.

(b) Dask. ``predict_proba`` of that model over ``PREDICT_FILES`` files read
lazily (``read_root(..., library="dask")``) with dask-ml's ``ParallelPostFit`` on
a ``LocalCluster`` of 1 and of 2 single-threaded worker processes (cluster
start-up and a one-partition warm-up not timed; reading the files is timed),
against one process reading the same files with ``iter_root`` and predicting
with 1 and 2 torch threads.

(c) Reading. ``read_root`` and ``iter_root`` against ``uproot.concatenate`` and
``uproot.iterate`` on the same files and branches (best of 3): the overhead of
our layer; with the sentinel replaced by NaN as a separate row (work that
plain uproot does not do).

Run it alone: (b) needs both cores.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._runner import markdown_table, save_figure, write_report

TASK = "scale"
TREE = "tracks"
SENTINEL = -999.0
#: FSE settings of the benchmark suite (batch 512 as in ``fse_speed``); no lr schedule,
#: so that one call of partial_fit and one epoch of fit use the same rate
FSE_PARAMS = dict(batch_size=512, lr=2e-3, lr_schedule=None, random_state=0, verbose=0)
TUNING = (
    "no tuning: FSEAttentionClassifier's default architecture with the suite's batch 512 and "
    "lr 2e-3 (fse_speed, pid), no learning-rate schedule; chunk sizes chosen for memory, "
    "not for accuracy"
)


def sizes(quick):
    """files, tracks per file, rows per partial_fit chunk, in-memory subset, test, predict files"""
    if quick:
        return dict(files=2, per_file=20_000, chunk=10_000, subset=20_000, test=10_000, predict=2)
    return dict(files=10, per_file=500_000, chunk=250_000, subset=500_000, test=200_000, predict=2)


def _write_files(folder, n_files, per_file):
    import uproot

    from skhep_ml.datasets import make_pid_tracks

    paths = []
    for i in range(n_files):
        data = make_pid_tracks(per_file, random_state=1000 + i)
        branches = {
            c: data.data[c].fillna(SENTINEL).to_numpy(np.float32) for c in data.feature_names
        }
        branches["label"] = data.target.to_numpy(np.int32)
        path = Path(folder) / f"tracks_{i:02d}.root"
        with uproot.recreate(path) as f:  # a TTree (f[name] = dict writes an RNTuple)
            f.mktree(TREE, {k: v.dtype for k, v in branches.items()}).extend(branches)
        paths.append(str(path))
    return paths, list(data.feature_names)


class _RSSSampler:
    """RSS of this process every ``every`` seconds, in a thread."""

    def __init__(self, every=0.2):
        import psutil

        self._proc = psutil.Process()
        self.every = every
        self.samples = []
        self._stop = threading.Event()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rss = self._proc.memory_info().rss
            self.samples.append((time.perf_counter() - self._t0, rss / 2**20))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _peak_rss_mb():
    """This process's peak RSS (VmHWM) in MB.

    Not ``ru_maxrss``: Linux carries it across ``exec``, so a spawned child
    would start from its parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def _stream_train(paths, features, chunk, out):
    """Child process: partial_fit over the files in chunks; writes its numbers to ``out``."""
    from skhep_ml import FSEAttentionClassifier
    from skhep_ml.io import iter_root

    rss_start = _peak_rss_mb()
    est = FSEAttentionClassifier(**FSE_PARAMS)
    rows = 0
    t0 = time.perf_counter()
    with _RSSSampler() as sampler:
        for part in iter_root(paths, TREE, step_size=chunk, missing=SENTINEL):
            y = part.pop("label").to_numpy()
            est.partial_fit(part[features], y, classes=CLASSES)
            rows += len(y)
    seconds = time.perf_counter() - t0
    import joblib

    joblib.dump(est, Path(out).with_suffix(".joblib"))
    Path(out).write_text(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "peak_rss_mb": _peak_rss_mb(),
                "rss_before_mb": rss_start,
                "rss": sampler.samples,
            }
        )
    )


#: the species of make_pid_tracks (PDG code with charge sign: e, pi, K, p)
CLASSES = [-2212, -321, -211, -11, 11, 211, 321, 2212]


def _in_child(fn, *args):
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "result.json"
        proc = ctx.Process(target=fn, args=(*args, str(out)))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"{fn.__name__} failed in its process (exit {proc.exitcode})")
        import joblib

        return json.loads(out.read_text()), joblib.load(out.with_suffix(".joblib"))


def _subset_comparison(paths, features, s, test):
    """fit (1 epoch) vs partial_fit (1 pass in chunks) on the same in-memory rows."""
    from skhep_ml import FSEAttentionClassifier
    from skhep_ml.io import read_root

    n_files = -(-s["subset"] // s["per_file"])  # the files that hold the subset
    rows = read_root(paths[:n_files], TREE, missing=SENTINEL).iloc[: s["subset"]]
    X, y = rows[features], rows["label"].to_numpy()
    X_test, y_test = test
    out = {}
    t0 = time.perf_counter()
    fitted = FSEAttentionClassifier(max_epochs=1, validation_fraction=None, **FSE_PARAMS)
    fitted.fit(X, y)
    out["fit, 1 epoch"] = (fitted.score(X_test, y_test), time.perf_counter() - t0)
    t0 = time.perf_counter()
    streamed = FSEAttentionClassifier(**FSE_PARAMS)
    for start in range(0, len(y), s["chunk"]):
        sl = slice(start, start + s["chunk"])
        streamed.partial_fit(X.iloc[sl], y[sl], classes=CLASSES)
    out["partial_fit, 1 pass"] = (streamed.score(X_test, y_test), time.perf_counter() - t0)
    return out


def _predict_single(est, paths, features, threads, chunk):
    import torch

    from skhep_ml.io import iter_root

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        n = 0
        for part in iter_root(paths, TREE, step_size=chunk, columns=features, missing=SENTINEL):
            n += len(est.predict_proba(part))
        return n, time.perf_counter() - t0
    finally:
        torch.set_num_threads(before)


def _predict_dask(est, paths, features, n_workers, chunk):
    from dask.distributed import Client, LocalCluster
    from dask_ml.wrappers import ParallelPostFit

    from skhep_ml.io import read_root

    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        ddf = read_root(
            paths, TREE, columns=features, missing=SENTINEL, step_size=chunk, library="dask"
        )
        model = ParallelPostFit(est)
        model.predict_proba(ddf.partitions[0]).compute()  # warm-up: imports, first call
        t0 = time.perf_counter()
        n = len(model.predict_proba(ddf).compute())
        return n, time.perf_counter() - t0


def _best_of(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _reading(paths, features, chunk):
    import uproot

    from skhep_ml.io import iter_root, read_root

    specs = [f"{p}:{TREE}" for p in paths]
    cols = [*features, "label"]
    n = sum(uproot.open(s).num_entries for s in specs)

    def iterate_ours(**kw):
        for _ in iter_root(paths, TREE, step_size=chunk, columns=cols, **kw):
            pass

    def iterate_uproot():
        for _ in uproot.iterate(specs, cols, step_size=chunk, library="pd"):
            pass

    times = {
        "uproot.concatenate": _best_of(lambda: uproot.concatenate(specs, cols, library="pd")),
        "read_root": _best_of(lambda: read_root(paths, TREE, columns=cols)),
        "read_root, sentinel -> NaN": _best_of(
            lambda: read_root(paths, TREE, columns=cols, missing=SENTINEL)
        ),
        "uproot.iterate": _best_of(iterate_uproot),
        "iter_root": _best_of(iterate_ours),
        "iter_root, sentinel -> NaN": _best_of(lambda: iterate_ours(missing=SENTINEL)),
    }
    return {k: {"seconds": v, "rows/s": n / v} for k, v in times.items()}


def _plot(stream, predict, out_dir):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    t, rss = np.array(stream["rss"]).T
    axes[0].plot(t, rss, lw=1)
    axes[0].axhline(2048, color="grey", ls="--", label="target: 2 GB")
    axes[0].set(
        xlabel="time [s]",
        ylabel="resident memory [MB]",
        title=f"partial_fit over {stream['rows']:,} tracks from ROOT files",
    )
    axes[0].legend()
    names = list(predict)
    axes[1].barh(names, [predict[n]["rows/s"] for n in names])
    axes[1].set(xlabel="tracks / s (reading included)", title="predict_proba over ROOT files")
    fig.tight_layout()
    return save_figure(fig, TASK, "memory_and_throughput", out_dir=out_dir)


def run(args):
    import torch

    from skhep_ml.datasets import make_pid_tracks

    s = sizes(args.quick)
    test = make_pid_tracks(s["test"], random_state=99)
    test = (test.data, test.target.to_numpy())
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        paths, features = _write_files(folder, s["files"], s["per_file"])
        write_s = time.perf_counter() - t0
        n_total = s["files"] * s["per_file"]
        size_mb = sum(os.path.getsize(p) for p in paths) / 2**20
        print(
            f"wrote {n_total:,} tracks in {len(paths)} files ({size_mb:.0f} MB) in {write_s:.0f} s"
        )

        reading = _reading(paths[: s["predict"]], features, s["chunk"])
        print("reading:", reading, flush=True)
        subset = _subset_comparison(paths, features, s, test)
        print("subset:", subset, flush=True)
        stream, est = _in_child(_stream_train, paths, features, s["chunk"])
        stream["accuracy"] = est.score(*test)
        print({k: v for k, v in stream.items() if k != "rss"}, flush=True)

        pred_paths = paths[: s["predict"]]
        predict = {}
        for threads in (1, 2):
            n, sec = _predict_single(est, pred_paths, features, threads, s["chunk"])
            predict[f"one process, {threads} torch thread(s)"] = {"rows": n, "seconds": sec}
        for workers in (1, 2):
            n, sec = _predict_dask(est, pred_paths, features, workers, s["chunk"])
            predict[f"dask, {workers} worker(s) x 1 thread"] = {"rows": n, "seconds": sec}
        for v in predict.values():
            v["rows/s"] = v["rows"] / v["seconds"]
        print("predict:", predict, flush=True)
    _plot(stream, predict, args.out_dir)

    acc_fit, acc_stream = subset["fit, 1 epoch"][0], subset["partial_fit, 1 pass"][0]
    scaling = (
        predict["dask, 2 worker(s) x 1 thread"]["rows/s"]
        / predict["dask, 1 worker(s) x 1 thread"]["rows/s"]
    )
    overhead = {
        "read_root": reading["read_root"]["seconds"] / reading["uproot.concatenate"]["seconds"] - 1,
        "iter_root": reading["iter_root"]["seconds"] / reading["uproot.iterate"]["seconds"] - 1,
    }

    def ok(cond):
        return "**met**" if cond else "**missed**"

    verdict = "\n".join(
        [
            f"- Out of core: peak RSS {stream['peak_rss_mb']:,.0f} MB while training on "
            f"{stream['rows']:,} tracks (target < 2,048 MB: {ok(stream['peak_rss_mb'] < 2048)}); "
            f"{stream['rows'] / stream['seconds']:,.0f} tracks/s; test accuracy "
            f"{stream['accuracy']:.4f}.",
            f"- Same {s['subset']:,} rows, one pass: partial_fit {acc_stream:.4f} vs fit "
            f"{acc_fit:.4f} ({100 * (acc_stream - acc_fit):+.2f} points; target within 0.5: "
            f"{ok(abs(acc_stream - acc_fit) <= 0.005)}).",
            f"- Dask, 2 workers vs 1: {scaling:.2f}x the throughput (target >= 1.7: "
            f"{ok(scaling >= 1.7)}).",
            f"- read_root overhead over uproot.concatenate: {100 * overhead['read_root']:+.1f}%; "
            f"iter_root over uproot.iterate: {100 * overhead['iter_root']:+.1f}% (target <= 10%: "
            f"{ok(max(overhead.values()) <= 0.10)}).",
        ]
    )
    records = {
        "stream": stream,
        "subset": {k: {"accuracy": a, "seconds": t} for k, (a, t) in subset.items()},
        "predict": predict,
        "reading": reading,
        "scaling": scaling,
        "overhead": overhead,
        "write seconds": write_s,
        "file MB": size_mb,
    }
    meta = {
        "tracks": f"{n_total:,} in {s['files']} files ({size_mb:,.0f} MB)",
        "chunk": s["chunk"],
        "in-memory subset": s["subset"],
        "test tracks": s["test"],
        "prediction files": s["predict"],
        "torch threads (main process)": torch.get_num_threads(),
    }

    def table(d, cols):
        return markdown_table(
            pd.DataFrame(d).T[cols].reset_index().rename(columns={"index": "what"})
        )

    write_report(
        TASK,
        [
            ("Verdict", verdict),
            (
                "Out-of-core training (one pass, a fresh process)",
                markdown_table(
                    pd.DataFrame(
                        [
                            {
                                "tracks": stream["rows"],
                                "seconds": stream["seconds"],
                                "tracks/s": stream["rows"] / stream["seconds"],
                                "peak RSS before training [MB]": stream["rss_before_mb"],
                                "peak RSS [MB]": stream["peak_rss_mb"],
                                "test accuracy": stream["accuracy"],
                            }
                        ]
                    )
                ),
            ),
            (
                "Streamed against in memory, same rows and passes",
                table(records["subset"], ["accuracy", "seconds"]),
            ),
            (
                "Predictions over ROOT files (reading included)",
                table(predict, ["rows", "seconds", "rows/s"]),
            ),
            ("Reading ROOT files (best of 3)", table(reading, ["seconds", "rows/s"])),
            ("Figure", f"![memory and throughput]({TASK}_memory_and_throughput.png)"),
        ],
        out_dir=args.out_dir,
        records=records,
        meta=meta,
        tuning=TUNING,
        headline=headline(records, meta),
    )


def headline(records, meta):
    """The task's line in the README's results table."""
    st, sub = records["stream"], records["subset"]
    diff = sub["partial_fit, 1 pass"]["accuracy"] - sub["fit, 1 epoch"]["accuracy"]
    return {
        "scope": f"`scale` ({meta['tracks']})",
        "text": f"partial_fit from ROOT files: peak RSS {st['peak_rss_mb']:,.0f} MB over "
        f"{st['rows']:,} tracks; streamed minus in-memory accuracy {100 * diff:+.2f} points; "
        f"Dask 2 workers {records['scaling']:.2f}x 1 worker; read_root overhead "
        f"{100 * records['overhead']['read_root']:+.1f}% (iter_root "
        f"{100 * records['overhead']['iter_root']:+.1f}%) over uproot",
        "numbers": {
            "peak RSS [MB]": st["peak_rss_mb"],
            "accuracy difference": diff,
            "dask scaling": records["scaling"],
            **{f"{k} overhead": v for k, v in records["overhead"].items()},
        },
    }
