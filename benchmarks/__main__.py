"""Command line: ``python -m benchmarks <task|all|list|readme> [--quick] [--seeds ...]``.

``readme`` prints the README's "Benchmark results" table, built from the
``<task>.json`` files in ``--out-dir`` (default: benchmarks/results).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

import matplotlib

from benchmarks._runner import readme_table, start_task

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent


def tasks():
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))


def default_data_dir():
    env = os.environ.get("SKHEP_ML_DATA")
    if env:
        return Path(env)
    candidate = HERE.parent.parent / "shared" / "data"
    return candidate if candidate.exists() else None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "task",
        help=f"one of {tasks()}, 'all', 'list' or 'readme' (the README's results table)",
    )
    parser.add_argument("--quick", action="store_true", help="small data and few seeds (minutes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="folder of the public datasets (default: ../shared/data when it exists)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where reports go (default: benchmarks/results, benchmarks/results/quick with --quick)",
    )
    args = parser.parse_args(argv)
    if args.out_dir is None:  # quick runs never overwrite the full-size results
        args.out_dir = HERE / "results" / "quick" if args.quick else HERE / "results"
    argv = sys.argv[1:] if argv is None else list(argv)
    if args.task == "list":
        print("\n".join(tasks()))
        return 0
    if args.task == "readme":
        print(readme_table(args.out_dir))
        return 0
    if args.seeds is None:
        args.seeds = [0, 1, 2]
    names = tasks() if args.task == "all" else [args.task]
    unknown = [n for n in names if n not in tasks()]
    if unknown:
        parser.error(f"unknown task {unknown[0]!r}; choose from {tasks()}")
    for name in names:
        start = time.perf_counter()
        print(
            f"=== benchmark {name} (quick={args.quick}, seeds={args.seeds}, data={args.data_dir})"
        )
        # with 'all', each task's report states the command that reruns it alone
        start_task(name, [name, *(a for a in argv if a != args.task)])
        importlib.import_module(f"benchmarks.{name}").run(args)
        print(f"=== {name} done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
