"""The benchmark suite's command line and shared helpers (the benchmarks themselves run outside CI)."""

import argparse
import importlib
import json

import pytest

from benchmarks import __main__ as cli
from benchmarks._runner import markdown_table, mean_std_table, require_data, write_report


def test_every_task_imports_and_has_run():
    tasks = cli.tasks()
    assert {"pid", "fse_speed", "higgsml", "anomaly", "decorrelation", "cwola", "domain"} <= set(
        tasks
    )
    for name in tasks:
        assert callable(importlib.import_module(f"benchmarks.{name}").run), name


def test_list_and_unknown_task(capsys):
    assert cli.main(["list"]) == 0
    assert "pid" in capsys.readouterr().out.split()
    with pytest.raises(SystemExit):
        cli.main(["no_such_task"])
    assert "unknown task" in capsys.readouterr().err


def test_mean_std_table_groups_in_first_seen_order():
    records = [
        {"method": "b", "seed": 0, "acc": 0.5},
        {"method": "a", "seed": 0, "acc": 0.25},
        {"method": "b", "seed": 1, "acc": 0.7},
    ]
    table = mean_std_table(records)
    assert table["method"].tolist() == ["b", "a"]
    assert table.loc[0, "acc"] == "0.6000 ± 0.1414"
    assert table.loc[1, "acc"] == "0.2500"  # one seed: no ± 0
    md = markdown_table(table[["method", "acc"]])
    assert md.splitlines()[:2] == ["| method | acc |", "|---|---|"]


def test_missing_data_dir_skips_with_a_message(tmp_path, capsys):
    assert require_data(argparse.Namespace(data_dir=None), "x") is None
    assert require_data(argparse.Namespace(data_dir=tmp_path), "x") is None
    assert "not found" in capsys.readouterr().out


def test_write_report_writes_markdown_and_json(tmp_path):
    write_report(
        "demo", [("Numbers", "- one line")], out_dir=tmp_path, records=[{"a": 1}], meta={"k": 2}
    )
    text = (tmp_path / "demo.md").read_text()
    assert text.startswith("# Benchmark `demo`") and "## Numbers" in text and "- one line" in text
    data = json.loads((tmp_path / "demo.json").read_text())
    assert data["records"] == [{"a": 1}] and data["meta"]["k"] == 2
