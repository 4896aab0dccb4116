"""Shared machinery of the benchmark suite: timing, summaries, reports."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "fit_timed",
    "markdown_table",
    "mean_std_table",
    "require_data",
    "rows_per_second",
    "save_figure",
    "write_report",
]


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
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


def _machine():
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": __import__("os").cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def write_report(task, sections, *, out_dir, records, meta=None):
    """Write ``<out_dir>/<task>.md`` (tables and text) and ``<task>.json`` (raw records).

    Parameters
    ----------
    task : str
    sections : list of (heading, DataFrame or str)
    out_dir : Path
    records : list of dict or dict
        Raw per-seed numbers, stored in the JSON for later analysis.
    meta : dict, optional
        Settings of the run (sizes, seeds, ...), printed at the top.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        **(meta or {}),
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    text = [f"# Benchmark `{task}`", ""]
    text += [f"- **{k}**: {v}" for k, v in meta.items() if k != "machine"]
    m = meta["machine"]
    text += [
        f"- **machine**: {m['processor']}, {m['cpu_count']} cores, torch {m['torch']} "
        f"({m['torch_threads']} threads), Python {m['python']}",
        "",
    ]
    for heading, body in sections:
        text += [f"## {heading}", ""]
        text += [markdown_table(body) if isinstance(body, pd.DataFrame) else str(body), ""]
    md = out_dir / f"{task}.md"
    md.write_text("\n".join(text))
    (out_dir / f"{task}.json").write_text(
        json.dumps({"meta": meta, "records": records}, indent=1, default=_json_default)
    )
    print("\n".join(text))
    print(f"wrote {md}")
    return md


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
        print(f"skipping real-data part: no data directory (give --data-dir; looked for {folder})")
        return None
    path = Path(args.data_dir) / folder
    if not path.exists():
        print(f"skipping real-data part: {path} not found")
        return None
    return path
