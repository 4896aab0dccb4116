"""Shared machinery of the benchmark suite: timing, summaries, paired comparisons, reports.

Every report goes through :func:`write_report`, which stamps it with the run's
provenance (commit, package versions, command line, machine, load, wall time)
in both the Markdown and the JSON file.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "fit_timed",
    "markdown_table",
    "mean_std_table",
    "paired_differences",
    "paired_summary",
    "paired_table",
    "paired_verdict",
    "readme_table",
    "require_data",
    "rows_per_second",
    "run_stamp",
    "save_figure",
    "start_task",
    "write_report",
]

ROOT = Path(__file__).resolve().parents[1]
#: Packages whose versions every report states; the optional ones only when imported.
CORE_PACKAGES = ("skhep_ml", "numpy", "pandas", "scikit-learn", "torch", "skorch", "xgboost")
OPTIONAL_PACKAGES = {  # distribution name -> module name
    "scipy": "scipy",
    "iminuit": "iminuit",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "hep_ml": "hep_ml",
    "matplotlib": "matplotlib",
    "mplhep": "mplhep",
}
#: Row order of the README's "Benchmark results" table; other tasks follow alphabetically.
README_ORDER = (
    "pid",
    "fse_speed",
    "higgsml",
    "anomaly",
    "anomaly_defaults",
    "anomaly_fit_time",
    "decorrelation",
    "pivot_defaults",
    "cwola",
    "cwola_defaults",
    "cwola_folds",
    "sideband_fit",
    "domain",
    "fuzz",
)


def fit_timed(estimator, X, y=None, **fit_params):
    """Fit ``estimator`` and return the wall-clock seconds it took."""
    start = time.perf_counter()
    if y is None:
        estimator.fit(X, **fit_params)
    else:
        estimator.fit(X, y, **fit_params)
    return time.perf_counter() - start


def rows_per_second(fn, X, repeat=3):
    """Throughput of ``fn(X)`` in rows per second, best of ``repeat`` calls."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn(X)
        best = min(best, time.perf_counter() - start)
    return len(X) / best


def _fmt(x):
    if not np.isfinite(x):
        return str(x)
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 0.01:
        return f"{x:.4f}"
    return f"{x:.2e}"


def mean_std_table(records, by="method"):
    """Mean ± standard deviation over seeds of every numeric column.

    Parameters
    ----------
    records : list of dict
        One dict per (method, seed), with the ``by`` key(s) and numbers.
    by : str or list of str
        Grouping key(s); rows keep their first-seen order.

    Returns
    -------
    DataFrame of strings such as ``"0.9312 ± 0.0021"`` (``± 0`` omitted for a
    single seed).
    """
    by = [by] if isinstance(by, str) else list(by)
    df = pd.DataFrame(records)
    numeric = [c for c in df.columns if c not in by and pd.api.types.is_numeric_dtype(df[c])]
    groups = df.groupby(by, sort=False)[numeric]
    mean, std, count = groups.mean(), groups.std(ddof=1), groups.count()
    out = pd.DataFrame(index=mean.index, columns=numeric, dtype=object)
    for col in numeric:
        for idx in mean.index:
            m, s, n = mean.at[idx, col], std.at[idx, col], count.at[idx, col]
            if n == 0:
                out.at[idx, col] = "–"
            elif n == 1 or not np.isfinite(s):
                out.at[idx, col] = _fmt(m)
            else:
                out.at[idx, col] = f"{_fmt(m)} ± {_fmt(s)}"
    return out.reset_index()


def markdown_table(df):
    """A GitHub-flavoured Markdown table (no extra dependency)."""
    df = df.reset_index(drop=True)
    cells = [[str(c) for c in df.columns]] + [
        [
            v if isinstance(v, str) else _fmt(v) if isinstance(v, (float, np.floating)) else str(v)
            for v in row
        ]
        for row in df.itertuples(index=False)
    ]
    cells = [[c.replace("|", "\\|") for c in row] for row in cells]  # "|" would split a cell
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


# ---------------------------------------------------------------- paired comparisons


def paired_verdict(differences, higher_is_better=True):
    """``"tie"``, ``"ahead"`` or ``"behind"`` for per-seed differences (method - reference).

    A tie when the mean difference is within twice its standard error, or when
    its sign flips across seeds; otherwise the method is ahead (better) or
    behind. One seed has no spread: ``"undecided (1 seed)"``.
    """
    d = np.asarray(differences, dtype=float)
    if d.size < 2:
        return f"undecided ({d.size} seed)"
    mean, se = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
    if (d.min() < 0 < d.max()) or abs(mean) <= 2 * se:
        return "tie"
    return "ahead" if (mean > 0) == higher_is_better else "behind"


def paired_differences(
    records, metric, method, reference, *, by="seed", key="method", higher_is_better=True
):
    """Per-seed differences ``metric(method) - metric(reference)``, paired on ``by``.

    Parameters
    ----------
    records : list of dict or DataFrame
        One row per (``key``, ``by``), e.g. per (method, seed).
    metric, method, reference : str
        The column compared and the two values of ``key`` compared.
    by : str
        The pairing column: both methods must have been run on the same values.
    key : str
        The column naming the method.
    higher_is_better : bool
        Direction of ``metric``: whether a positive difference puts ``method`` ahead.

    Returns
    -------
    table : DataFrame
        Columns ``by``, ``method``, ``reference``, ``difference`` (one row per seed).
    verdict : str
        See :func:`paired_verdict`.
    """
    df = pd.DataFrame(records)
    sides = {}
    for name in (method, reference):
        rows = df[df[key] == name]
        if rows.empty:
            raise ValueError(f"no records with {key} = {name!r}")
        if rows[by].duplicated().any():
            raise ValueError(f"{name!r} has several records per {by}: cannot pair them")
        values = rows.set_index(by)[metric].astype(float)
        if values.isna().any():
            raise ValueError(
                f"{name!r} has no {metric!r} for {by} {list(values.index[values.isna()])}"
            )
        sides[name] = values
    common = [v for v in sides[method].index if v in set(sides[reference].index)]
    if not common:
        raise ValueError(f"{method!r} and {reference!r} share no {by}")
    table = pd.DataFrame(
        {
            by: common,
            "method": sides[method].loc[common].to_numpy(),
            "reference": sides[reference].loc[common].to_numpy(),
        }
    )
    table["difference"] = table["method"] - table["reference"]
    return table, paired_verdict(table["difference"], higher_is_better)


def _signed(x):
    return f"{x:+.3g}" if abs(x) >= 1e-4 or x == 0 else f"{x:+.2e}"


def paired_summary(records, metric, method, reference, **kwargs):
    """:func:`paired_differences` summed up: a dict of the per-seed differences,
    their mean, std, min, max, the verdict and a short ``text`` (``"+0.0009 ± 0.0013"``).

    ``kwargs`` go to :func:`paired_differences`.
    """
    table, verdict = paired_differences(records, metric, method, reference, **kwargs)
    by = kwargs.get("by", "seed")
    d = table["difference"]
    std = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
    return {
        "per " + by: dict(zip(table[by].tolist(), d.tolist())),
        "mean": float(d.mean()),
        "std": std,
        "min": float(d.min()),
        "max": float(d.max()),
        "verdict": verdict,
        "text": _signed(d.mean()) + (f" ± {std:.2g}" if len(d) > 1 else " (1 seed)"),
    }


def paired_table(records, comparisons, *, by="seed", key="method"):
    """The report table of paired differences, one row per comparison.

    Parameters
    ----------
    records : list of dict or DataFrame
    comparisons : list of tuple
        ``(metric, method, reference)`` or ``(metric, method, reference, higher_is_better)``.

    Returns
    -------
    DataFrame of strings: the comparison, the metric, the difference per
    ``by`` value, mean ± std, min and max over them, and the verdict.
    """
    rows = []
    for comparison in comparisons:
        metric, method, reference, *rest = comparison
        higher = rest[0] if rest else True
        summary = paired_summary(
            records, metric, method, reference, by=by, key=key, higher_is_better=higher
        )
        row = {"method − reference": f"{method} − {reference}", "metric": metric}
        row.update({f"{by} {v}": _signed(x) for v, x in summary["per " + by].items()})
        row["mean ± std"] = summary["text"]
        row["min"], row["max"] = _signed(summary["min"]), _signed(summary["max"])
        row["verdict"] = summary["verdict"] + ("" if higher else " (lower is better)")
        rows.append(row)
    out = pd.DataFrame(rows)
    tail = ["mean ± std", "min", "max", "verdict"]
    return out[[c for c in out.columns if c not in tail] + tail].fillna("–")


PAIRED_NOTE = (
    "Per seed (the same data for both), method minus reference; verdict **tie** when the mean "
    "difference is within twice its standard error or its sign flips across seeds, otherwise "
    "**ahead** / **behind** (better / worse)."
)

# ---------------------------------------------------------------- provenance

_started = {}


def start_task(task, argv=None):
    """Record the start of ``task``: time, load average and command line, for its report."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _started[task] = {
        "perf": time.perf_counter(),
        "load": _load(),
        "command": "python -m benchmarks " + shlex.join(argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }


def _load():
    return [round(x, 2) for x in os.getloadavg()]


def _git(*args):
    out = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout.rstrip()  # not strip(): porcelain lines start with a status column


def _commit():
    try:
        head = _git("rev-parse", "HEAD")
        # results written by this very suite do not make a run "dirty"
        changed = _git("status", "--porcelain", "--", ".", ":(exclude)benchmarks/results")
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown (not a git checkout)", "dirty": None, "changed files": []}
    files = [line[3:] for line in changed.splitlines()]
    return {"commit": head, "dirty": bool(files), "changed files": files[:20]}


def _version(dist):
    # xgboost may come as its CPU build, the distribution xgboost-cpu (see Makefile)
    for name in (dist, f"{dist}-cpu"):
        try:
            return metadata.version(name) + ("" if name == dist else " (cpu build)")
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _packages():
    out = {name: _version(name) for name in CORE_PACKAGES}
    out.update({d: _version(d) for d, mod in OPTIONAL_PACKAGES.items() if mod in sys.modules})
    return out


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine():
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_stamp(task):
    """Provenance of the current run of ``task``: what a referee needs to reproduce it."""
    start = _started.get(task)
    stamp = {
        **_commit(),
        "command": start["command"] if start else "python " + shlex.join(sys.argv),
        "packages": _packages(),
        "machine": _machine(),
        "started": start["started"] if start else "not recorded",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "wall time [s]": round(time.perf_counter() - start["perf"], 1) if start else None,
        "load average before (1, 5, 15 min)": start["load"] if start else "not recorded",
        "load average after (1, 5, 15 min)": _load(),
    }
    return stamp


def _stamp_lines(stamp):
    m = stamp["machine"]
    dirty = {True: "dirty: " + ", ".join(stamp["changed files"]), False: "clean", None: "?"}
    wall = stamp["wall time [s]"]
    return [
        f"- **commit**: `{stamp['commit']}` ({dirty[stamp['dirty']]})",
        f"- **command**: `{stamp['command']}`",
        "- **packages**: " + ", ".join(f"{k} {v}" for k, v in stamp["packages"].items()),
        f"- **machine**: {m['cpu']}, {m['cores']} cores, torch threads {m['torch threads']}, "
        f"Python {m['python']}, {m['platform']}",
        f"- **load average** (1, 5, 15 min): before {stamp['load average before (1, 5, 15 min)']}"
        f", after {stamp['load average after (1, 5, 15 min)']}",
        f"- **wall time**: {'not recorded' if wall is None else f'{wall:,.0f} s'} "
        f"({stamp['started']} to {stamp['finished']})",
    ]


def write_report(task, sections, *, out_dir, records, tuning, meta=None, headline=None):
    """Write ``<out_dir>/<task>.md`` (tables and text) and ``<task>.json`` (raw records).

    Both files carry the run's stamp (:func:`run_stamp`): commit, package
    versions, command line, machine, load before and after, wall time.

    Parameters
    ----------
    task : str
    sections : list of (heading, body)
        ``body``: a DataFrame (written as a table), a string, or a list of them.
    out_dir : Path
    records : list of dict or dict
        Raw per-seed numbers, stored in the JSON for later analysis.
    tuning : str
        How the hyper-parameters of every method were chosen, and the budget
        each got (the baselines' included).
    meta : dict, optional
        Settings of the run (sizes, seeds, ...), printed at the top.
    headline : dict, optional
        ``{"scope": ..., "text": ..., "numbers": {...}}``: the task's line in the
        README's results table (:func:`readme_table`).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {**(meta or {}), "tuning": tuning}
    stamp = run_stamp(task)
    text = [f"# Benchmark `{task}`", "", *_stamp_lines(stamp)]
    text += [f"- **{k}**: {v}" for k, v in meta.items()]
    text.append("")
    if headline is not None:
        text += ["## Headline", "", headline["text"], ""]
    for heading, body in sections:
        text += [f"## {heading}", ""]
        for part in body if isinstance(body, list) else [body]:
            text += [markdown_table(part) if isinstance(part, pd.DataFrame) else str(part), ""]
    md = out_dir / f"{task}.md"
    md.write_text("\n".join(text))
    data = {"run": stamp, "meta": meta, "headline": headline, "records": records}
    (out_dir / f"{task}.json").write_text(json.dumps(data, indent=1, default=_json_default))
    print("\n".join(text))
    print(f"wrote {md}")
    return md


# ---------------------------------------------------------------- README table


def readme_table(results_dir):
    """The README's "Benchmark results" table, built from ``<results_dir>/<task>.json``.

    Each row is the ``headline`` a task stored in its JSON; a results file
    from before headlines were stored gets one from its records, through the
    task module's ``headline(records, meta)`` when it has one.
    """
    results_dir = Path(results_dir)
    files = {p.stem: p for p in results_dir.glob("*.json")}
    if not files:
        raise ValueError(f"no <task>.json results in {results_dir}")
    order = [t for t in README_ORDER if t in files] + sorted(set(files) - set(README_ORDER))
    lines = ["| task | headline |", "| --- | --- |"]
    for task in order:
        data = json.loads(files[task].read_text())
        head = data.get("headline")
        if head is None:
            head = _recomputed_headline(task, data, files[task])
        text = " ".join(str(head["text"]).split()).replace("|", "\\|")
        lines.append(f"| {head['scope']} | {text} |")
    return "\n".join(lines)


def _recomputed_headline(task, data, path):
    try:
        module = importlib.import_module(f"benchmarks.{task}")
    except ImportError:
        module = None
    if module is None or not hasattr(module, "headline"):
        raise ValueError(f"{path} has no headline and no task module computes one: rerun {task}")
    return module.headline(data["records"], data.get("meta", {}))


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def save_figure(fig, task, name, *, out_dir):
    """Save a matplotlib figure as ``<out_dir>/<task>_<name>.png`` and close it."""
    import matplotlib.pyplot as plt

    path = Path(out_dir) / f"{task}_{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def require_data(args, folder):
    """The dataset folder under ``--data-dir``, or None with a clear skip message."""
    if args.data_dir is None:
        print(
            f"skipping public-dataset part: no data directory (give --data-dir; looked for {folder})"
        )
        return None
    path = Path(args.data_dir) / folder
    if not path.exists():
        print(f"skipping public-dataset part: {path} not found")
        return None
    return path
