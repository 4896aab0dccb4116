"""Run every gallery example (``examples/plot_*.py``) with the Agg backend."""

import os
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The gallery runs every example in `make docs`, which CI runs after the tests;
# here they are opt-in (`pytest -m slow`), so the default run stays short.


def _params():
    for path in sorted(EXAMPLES.glob("plot_*.py")):
        yield pytest.param(path, id=path.stem, marks=[pytest.mark.slow])


@pytest.mark.parametrize("path", _params())
def test_example_runs(path, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        runpy.run_path(os.fspath(path), run_name="__main__")
    finally:
        plt.close("all")
