"""The benchmark suite's command line and shared helpers (the benchmarks themselves run outside CI)."""

import argparse
import importlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import __main__ as cli
from benchmarks._runner import (
    markdown_table,
    mean_std_table,
    paired_differences,
    paired_table,
    readme_table,
    require_data,
    start_task,
    write_report,
)


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
    md = markdown_table(table.rename(columns={"acc": "|eff. data - eff. MC|"}))
    assert md.splitlines()[0] == "| method | seed | \\|eff. data - eff. MC\\| |"


def test_missing_data_dir_skips_with_a_message(tmp_path, capsys):
    assert require_data(argparse.Namespace(data_dir=None), "x") is None
    assert require_data(argparse.Namespace(data_dir=tmp_path), "x") is None
    assert "not found" in capsys.readouterr().out


def test_write_report_writes_markdown_and_json(tmp_path):
    write_report(
        "demo",
        [("Numbers", "- one line")],
        out_dir=tmp_path,
        records=[{"a": 1}],
        meta={"k": 2},
        tuning="none",
    )
    text = (tmp_path / "demo.md").read_text()
    assert text.startswith("# Benchmark `demo`") and "## Numbers" in text and "- one line" in text
    data = json.loads((tmp_path / "demo.json").read_text())
    assert data["records"] == [{"a": 1}] and data["meta"]["k"] == 2


def test_report_stamp_states_commit_versions_command_machine_load_and_time(tmp_path):
    import torch

    start_task("stamped", ["stamped", "--quick", "--seeds", "0"])
    write_report(
        "stamped",
        [("Numbers", "x")],
        out_dir=tmp_path,
        records=[],
        tuning="defaults for every method",
        headline={"scope": "`stamped`", "text": "it works", "numbers": {"n": 1}},
    )
    data = json.loads((tmp_path / "stamped.json").read_text())
    run = data["run"]
    assert re.fullmatch(r"[0-9a-f]{40}", run["commit"])
    assert isinstance(run["dirty"], bool)
    assert run["command"] == "python -m benchmarks stamped --quick --seeds 0"
    assert run["packages"]["numpy"] == np.__version__
    assert run["packages"]["torch"] == torch.__version__
    assert {"skhep_ml", "scikit-learn", "skorch", "xgboost", "pandas"} <= set(run["packages"])
    assert run["machine"]["cores"] == os.cpu_count()
    assert run["machine"]["torch threads"] == torch.get_num_threads()
    assert len(run["load average before (1, 5, 15 min)"]) == 3
    assert len(run["load average after (1, 5, 15 min)"]) == 3
    assert 0 <= run["wall time [s]"] < 60
    assert data["meta"]["tuning"] == "defaults for every method"
    assert data["headline"]["numbers"] == {"n": 1}
    text = (tmp_path / "stamped.md").read_text()
    for piece in (run["commit"], "stamped --quick --seeds 0", f"numpy {np.__version__}"):
        assert piece in text
    assert "**tuning**: defaults for every method" in text and "it works" in text


def test_write_report_requires_a_tuning_statement(tmp_path):
    with pytest.raises(TypeError, match="tuning"):
        write_report("x", [], out_dir=tmp_path, records=[])


def _records(method_values, reference_values, method="ours", reference="base"):
    return [{"method": method, "seed": i, "m": v} for i, v in enumerate(method_values)] + [
        {"method": reference, "seed": i, "m": v} for i, v in enumerate(reference_values)
    ]


def test_paired_differences_pairs_by_seed_and_says_ahead():
    # the methods' spreads over seeds overlap, but every seed is better by 0.010-0.012
    records = _records([0.80, 0.91, 0.86], [0.79, 0.90, 0.848])
    table, verdict = paired_differences(records, "m", "ours", "base")
    assert table["seed"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(table["difference"], [0.01, 0.01, 0.012])
    assert verdict == "ahead"
    assert paired_differences(records, "m", "base", "ours")[1] == "behind"
    # a loss-like metric: a smaller value is better
    assert paired_differences(records, "m", "ours", "base", higher_is_better=False)[1] == "behind"


def test_paired_differences_says_tie_within_two_standard_errors_or_when_the_sign_flips():
    # differences +0.001, +0.03, +0.002: mean 0.011, se 0.0095, within 2 se, no sign flip
    within = _records([0.801, 0.83, 0.792], [0.80, 0.80, 0.79])
    d = paired_differences(within, "m", "ours", "base")[0]["difference"]
    assert (d > 0).all() and d.mean() < 2 * d.std() / np.sqrt(3)
    assert paired_differences(within, "m", "ours", "base")[1] == "tie"
    # mean +0.0133 with 10x +0.02 and one -0.0533: the sign flips
    flips = _records([0.82] * 10 + [0.7467], [0.80] * 11)
    table, verdict = paired_differences(flips, "m", "ours", "base")
    assert table["difference"].mean() > 2 * table["difference"].std() / np.sqrt(11)
    assert verdict == "tie"
    assert paired_differences(_records([0.9], [0.8]), "m", "ours", "base")[1].startswith(
        "undecided"
    )


def test_paired_differences_refuses_what_cannot_be_paired():
    with pytest.raises(ValueError, match="no records with method = 'other'"):
        paired_differences(_records([1, 2], [1, 2]), "m", "other", "base")
    twice = [*_records([1, 2], [1, 2]), {"method": "ours", "seed": 0, "m": 3}]
    with pytest.raises(ValueError, match="several records per seed"):
        paired_differences(twice, "m", "ours", "base")
    with pytest.raises(ValueError, match="share no seed"):
        paired_differences(
            [*_records([1], []), {"method": "base", "seed": 5, "m": 1}], "m", "ours", "base"
        )
    with pytest.raises(ValueError, match="no 'm'"):
        paired_differences(_records([1, float("nan")], [1, 2]), "m", "ours", "base")


def test_paired_table_has_one_row_per_comparison():
    records = _records([0.80, 0.91, 0.86], [0.79, 0.90, 0.848]) + [
        {"method": "other", "seed": i, "m": v} for i, v in enumerate([0.81, 0.89, 0.86])
    ]
    table = paired_table(records, [("m", "ours", "base"), ("m", "ours", "other", False)])
    assert table.columns.tolist() == [
        "method − reference",
        "metric",
        "seed 0",
        "seed 1",
        "seed 2",
        "mean ± std",
        "min",
        "max",
        "verdict",
    ]
    assert table.loc[0, "seed 2"] == "+0.012" and table.loc[0, "verdict"] == "ahead"
    assert table.loc[1, "verdict"] == "tie (lower is better)"


def _fake_result(folder, task, scope, text):
    head = {"scope": scope, "text": text, "numbers": {}}
    (folder / f"{task}.json").write_text(json.dumps({"headline": head, "records": []}))


def test_readme_table_from_results_files(tmp_path, capsys):
    _fake_result(tmp_path, "zeta", "`zeta`", "last, alphabetically")
    _fake_result(tmp_path, "cwola", "`cwola`", "CWoLa | pipes escaped")
    _fake_result(tmp_path, "pid", "`pid` (tiny)", "accuracy 0.9\nacross lines")
    lines = readme_table(tmp_path).splitlines()
    assert lines == [
        "| task | headline |",
        "| --- | --- |",
        "| `pid` (tiny) | accuracy 0.9 across lines |",
        "| `cwola` | CWoLa \\| pipes escaped |",
        "| `zeta` | last, alphabetically |",
    ]
    assert cli.main(["readme", "--out-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines() == lines


def test_readme_table_recomputes_a_missing_headline_or_says_to_rerun(tmp_path):
    records = [
        {"method": m, "seed": s, "ROC AUC (weighted)": a, "best AMS": 3.0 + s}
        for s in (0, 1)
        for m, a in (("FSE + attention", 0.90 + s / 100), ("XGBoost (NaN-native)", 0.91))
    ]
    (tmp_path / "higgsml.json").write_text(json.dumps({"meta": {}, "records": records}))
    row = readme_table(tmp_path).splitlines()[2]
    assert row.startswith("| `higgsml` (ATLAS simulated events") and "**tie**" in row
    (tmp_path / "nothing.json").write_text(json.dumps({"records": []}))
    with pytest.raises(ValueError, match=r"nothing\.json has no headline"):
        readme_table(tmp_path)
    with pytest.raises(ValueError, match=r"no <task>\.json"):
        readme_table(tmp_path / "empty")


def test_readme_table_from_the_committed_results():
    results = Path(cli.HERE) / "results"
    lines = readme_table(results).splitlines()
    assert len(lines) == 2 + len(list(results.glob("*.json")))
    for task in ("pid", "higgsml", "domain"):
        data = json.loads((results / f"{task}.json").read_text())
        head = importlib.import_module(f"benchmarks.{task}").headline(data["records"], data["meta"])
        assert re.search(r"\*\*(tie|ahead|behind)\*\*", head["text"]), task
    assert any("ATLAS simulated events" in line for line in lines)


def test_readme_results_table_is_the_generated_one():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("<!-- results table: python -m benchmarks readme -->\n")
    end = readme.index("<!-- end of results table -->")
    written = readme[start:end].split("\n", 1)[1].strip()
    assert written == readme_table(Path(__file__).resolve().parents[1] / "benchmarks/results")


def test_anomaly_contaminated_split_is_disjoint_with_the_stated_fractions():
    from benchmarks.anomaly import contaminated_split

    X = pd.DataFrame({"event": np.arange(3000)})
    anomaly = np.arange(3000) % 3 == 0  # 1000 anomalies, 2000 normal events
    case = contaminated_split(X, anomaly, seed=0)
    ids = [set(part["event"]) for part in (case.X, case.X_test, case.X_sup)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert len(case.X_test) == len(case.X_sup) == 2 * 400 and case.y_test.mean() == 0.5
    np.testing.assert_array_equal(case.y_test, anomaly[case.X_test["event"]])
    np.testing.assert_array_equal(case.y_sup, anomaly[case.X_sup["event"]])
    assert case.n_train_anomalies == anomaly[case.X["event"]].sum() == 12  # 1 % of 1212
    other = contaminated_split(X, anomaly, seed=1)
    assert set(other.X_test["event"]) != ids[1]  # a new split per seed
    with pytest.raises(ValueError, match="too few"):
        contaminated_split(X, np.arange(3000) < 500, seed=0)


def _anomaly_records():
    from benchmarks import anomaly

    auc = {
        anomaly.AE: 0.80,
        anomaly.FLOW: 0.85,
        anomaly.IFOREST: 0.75,
        anomaly.LOF: 0.70,
        anomaly.SUPERVISED: 0.97,
    }
    return [
        {
            "dataset": d,
            "method": m,
            "seed": s,
            "ROC AUC": a + s / 1000 - (m == anomaly.AE) * k,
            "max SIC": 2.5 + s / 10,
        }
        for d, k in ((anomaly.LHCO, 0.0), (anomaly.MAGIC, 0.1))
        for m, a in auc.items()
        for s in (0, 1, 2)
    ]


def test_anomaly_headline_states_best_row_paired_verdicts_and_the_flow_sic():
    from benchmarks.anomaly import headline

    head = headline(_anomaly_records(), {"seeds": [0, 1, 2]})
    lhco, magic = head["text"].split("; MAGIC: ")
    assert lhco.startswith("LHCO: best unsupervised Flow, AUC 0.851")
    assert "AE +0.05 ± 0 **ahead**, Flow +0.1 ± 0 **ahead**; Flow max SIC 2.60" in lhco
    assert "AE -0.05 ± 0 **behind**" in magic and "max SIC" not in magic
    assert "\n" not in head["text"] and len(head["text"]) < 400


def test_anomaly_defaults_rule_takes_the_best_mean_among_fast_enough_candidates(tmp_path):
    """The protocol's rule: the best mean paired AUC difference to IsolationForest,
    among candidates whose LHCO fit (scaled to 60k events, corrected for the load)
    stays under 2 minutes."""
    from benchmarks import anomaly_defaults as ad

    auc = {ad.IFOREST: 0.70, "AE a": 0.72, "AE b": 0.80, "Flow a": 0.75, "Flow b": 0.90}
    fit = {ad.IFOREST: 1.0, "AE a": 10.0, "AE b": 10.0, "Flow a": 30.0, "Flow b": 30.0}
    records = [
        {
            "dataset": data,
            "seed": seed,
            "candidate": name,
            "n_train": 100,
            "ROC AUC": a,
            "max SIC": 1.0,
            # "Flow b" is slow on LHCO: 50 s x 3 = 150 s alone (load 1), too slow;
            # "AE b" is slow only under load 4 on the machine's cores: fast alone
            "fit time [s]": 50.0 if name == "Flow b" else fit[name] * (4 if name == "AE b" else 1),
            "load before fit": 4.0 * (os.cpu_count() or 1) / 2 if name == "AE b" else 1.0,
            "epochs": 10,
        }
        for data in ("LHCO data_test", "toy")
        for seed in (0, 1)
        for name, a in auc.items()
    ]
    ad.report(records, {"seeds": [0, 1], "quick": True}, tmp_path)
    chosen = json.loads((tmp_path / "anomaly_defaults.json").read_text())["headline"]
    assert chosen["numbers"]["chosen"] == {"AE": "AE b", "Flow": "Flow a"}


@pytest.mark.slow
def test_scale_quick_run_reports_every_target(tmp_path):
    """The `scale` task end to end on small files: ROOT writing, partial_fit in a child
    process, Dask clusters of 1 and 2 workers, the reading comparison."""
    assert cli.main(["scale", "--quick", "--out-dir", str(tmp_path)]) in (0, None)
    data = json.loads((tmp_path / "scale.json").read_text())["records"]
    assert data["stream"]["rows"] == 40_000 and 0 < data["stream"]["peak_rss_mb"] < 4096
    assert {"fit, 1 epoch", "partial_fit, 1 pass"} <= set(data["subset"])
    assert len(data["predict"]) == 4 and all(v["rows"] == 40_000 for v in data["predict"].values())
    assert set(data["overhead"]) == {"read_root", "iter_root"}
    assert (tmp_path / "scale_memory_and_throughput.png").exists()


@pytest.mark.slow  # two child processes; the memory bounds themselves are in tests/test_memory.py
def test_memory_quick_run_measures_in_fresh_processes(tmp_path):
    import argparse

    from benchmarks import memory

    args = argparse.Namespace(quick=True, out_dir=tmp_path, estimators=["DNNClassifier"])
    records = memory.run(args)
    assert [(r["mode"], r["rows"]) for r in records] == [("predict", 2000), ("fit", 2000)]
    for r in records:
        assert "error" not in r, r
        assert 0 < r["peak above input [MB]"] < 2000 and r["met"]
    data = json.loads((tmp_path / "memory.json").read_text())
    assert data["headline"]["numbers"]["met"] is True
    assert (tmp_path / "memory_rss_vs_rows.png").exists()
