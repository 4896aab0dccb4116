"""Bad-input fuzzing of every public estimator, loader and ``to_onnx``.

Each case feeds one kind of bad input (or fault) to one target and sorts the
outcome:

- ``good``: a ``ValueError``/``TypeError`` whose message names the problem, a
  re-raised ``KeyboardInterrupt`` that leaves no half-fitted model looking
  whole, or a correct answer where the input is legitimate (NaN for the
  methods that handle missing values);
- ``cryptic``: an exception whose message does not name the problem;
- ``silent``: no exception and a wrong answer (NaN output, a fit that ignored
  the fault, a normal return from an interrupted fit).

``python benchmarks/fuzz.py out.json`` runs the cases against whatever
skhep_ml is importable (e.g. an older commit) using the public API only;
``python -m benchmarks fuzz`` runs them on this tree and writes the report,
with the before/after table when ``results/fuzz_before/fuzz.json`` exists.
"""

from __future__ import annotations

import _thread
import gzip
import json
import os
import re
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

TASK = "fuzz"

_DNN = dict(hidden_layers=(8,), max_epochs=3, batch_size=32)
_FSE = dict(d_model=8, embed_hidden=8, dim_feedforward=8, pool_hidden=8, head_hidden=8, n_layers=1)
_FSE.update(max_epochs=3, batch_size=32)
_MDA = dict(embed_dim=8, n_heads=2, hidden_layers=(8,), max_epochs=3, batch_size=32)
_PIVOT = dict(
    protected=-1,
    hidden_layers=(8,),
    adversary_hidden_layers=(8,),
    max_epochs=2,
    pretrain_epochs=1,
    adversary_pretrain_epochs=1,
)


def _targets():
    from sklearn.ensemble import HistGradientBoostingClassifier

    import skhep_ml as sk

    return {
        "DNNClassifier": lambda: sk.DNNClassifier(**_DNN),
        "FSEAttentionClassifier": lambda: sk.FSEAttentionClassifier(**_FSE),
        "MDAClassifier": lambda: sk.MDAClassifier(**_MDA),
        "PivotClassifier": lambda: sk.PivotClassifier(**_PIVOT),
        "AutoencoderAnomalyDetector": lambda: sk.AutoencoderAnomalyDetector(
            hidden_layers=(4, 2, 4), max_epochs=3
        ),
        "RandomForestBaseline": lambda: sk.RandomForestBaseline(n_estimators=5),
        "XGBoostBaseline": lambda: sk.XGBoostBaseline(n_estimators=5),
        "CWoLaClassifier": lambda: sk.CWoLaClassifier(
            mass=None, n_folds=3, estimator=HistGradientBoostingClassifier(max_iter=5)
        ),
    }


_HANDLES_NAN = {"FSEAttentionClassifier", "RandomForestBaseline", "XGBoostBaseline"}
_UNSUPERVISED = {"AutoencoderAnomalyDetector"}


def _data(n=200, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _fit(est, name, X, y, w=None):
    if name in _UNSUPERVISED:
        return est.fit(X, sample_weight=w)
    return est.fit(X, y, sample_weight=w)


def _output(est, name, X):
    if name in _UNSUPERVISED:
        return est.score_samples(X)
    return est.predict_proba(X)


# -- the cases: each returns ("good" | "silent", detail) or raises ------------------


def _expect_error(pattern):
    """A case that must raise a ValueError/TypeError whose message matches ``pattern``."""

    def decorate(fn):
        fn.pattern = pattern
        return fn

    return decorate


@_expect_error(r"inf")
def case_inf_in_X(est, name):
    X, y = _data()
    X[3, 1] = np.inf
    _fit(est, name, X, y)
    return "silent", "fit accepted inf"


def case_nan_in_X(est, name):
    X, y = _data()
    X[3, 1] = np.nan
    try:
        _fit(est, name, X, y)
    except ValueError as e:
        if name in _HANDLES_NAN:
            return "silent", f"refused NaN it should handle: {e}"
        return ("good", "refused") if "nan" in str(e).lower() else ("cryptic", str(e))
    if name not in _HANDLES_NAN:
        return "silent", "fit accepted NaN"
    out = _output(est, name, X)
    return ("good", "handled") if np.isfinite(out).all() else ("silent", "NaN output")


@_expect_error(r"nan|NaN")
def case_nan_in_y(est, name):
    if name in _UNSUPERVISED:
        return "good", "no y"
    X, y = _data()
    y = y.astype(float)
    y[5] = np.nan
    est.fit(X, y)
    return "silent", "fit accepted NaN in y"


@_expect_error(r"class")
def case_one_class(est, name):
    if name in _UNSUPERVISED:
        return "good", "no y"
    X, y = _data()
    est.fit(X, np.zeros_like(y))
    return "silent", "fit on one class"


@_expect_error(r"0 sample|minimum of 1|empty")
def case_empty(est, name):
    _fit(est, name, np.empty((0, 4)), np.empty(0, dtype=int))
    return "silent", "fit on no rows"


@_expect_error(r"0 feature|no columns")
def case_dataframe_without_columns(est, name):
    _fit(est, name, pd.DataFrame(index=range(20)), np.arange(20) % 2)
    return "silent", "fit on no columns"


@_expect_error(r"non-numeric|not numeric|det")
def case_string_column(est, name):
    X, y = _data()
    df = pd.DataFrame(X, columns=list("abcd")).assign(det="TPC")
    _fit(est, name, df, y)
    return "silent", "fit accepted a string column"


@_expect_error(r"sample_weight")
def case_nan_weight(est, name):
    X, y = _data()
    w = np.ones(len(y))
    w[0] = np.nan
    _fit(est, name, X, y, w)
    return "silent", "fit accepted a NaN weight"


@_expect_error(r"sample_weight|weight")
def case_zero_weights(est, name):
    X, y = _data()
    _fit(est, name, X, y, np.zeros(len(y)))
    return "silent", "fit with all weights 0"


@_expect_error(r"class .*(sums to|weight)|weight.*class")
def case_class_without_weight(est, name):
    if name in _UNSUPERVISED:
        return "good", "no classes"
    X, y = _data()
    est.fit(X, y, sample_weight=(y == 0).astype(float))
    return "silent", "fit with one class at weight 0 (a one-class fit)"


@_expect_error(r"sample_weight|samples|length|shape|inconsistent")
def case_weight_wrong_length(est, name):
    X, y = _data()
    _fit(est, name, X, y, np.ones(len(y) - 3))
    return "silent", "fit accepted short weights"


@_expect_error(r"[Ii]nconsistent|samples|length")
def case_X_y_length_mismatch(est, name):
    if name in _UNSUPERVISED:
        return "good", "no y"
    X, y = _data()
    est.fit(X, y[:-5])
    return "silent", "fit accepted mismatched X, y"


@_expect_error(r"2D|2d|dimension|reshape")
def case_1d_X(est, name):
    X, y = _data()
    _fit(est, name, X[:, 0], y)
    return "silent", "fit accepted 1-D X"


@_expect_error(r"continuous|[Uu]nknown label|label type|classif")
def case_continuous_y(est, name):
    if name in _UNSUPERVISED:
        return "good", "no y"
    X, _ = _data()
    est.fit(X, X[:, 0])
    return "silent", "fit accepted a continuous target"


def case_tiny_scale_feature(est, name):
    """The one informative feature is of order 1e-13 (a decay time in seconds)."""
    if name in _UNSUPERVISED or name == "PivotClassifier":
        return "good", "not applicable"
    from sklearn.metrics import roc_auc_score

    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, 800)
    X = np.c_[rng.exponential(np.where(y == 1, 3e-13, 1e-13)), rng.normal(size=(800, 3))]
    est.set_params(**{k: 30 for k in ("max_epochs",) if k in est.get_params()})
    if "lr" in est.get_params():
        est.set_params(lr=1e-2)
    est.fit(X, y)
    auc = roc_auc_score(y, est.predict_proba(X)[:, 1])
    return ("good", f"AUC {auc:.2f}") if auc > 0.68 else ("silent", f"ignored it: AUC {auc:.2f}")


@_expect_error(r"features|feature")
def case_predict_wrong_feature_count(est, name):
    X, y = _data()
    _fit(est, name, X, y)
    _output(est, name, X[:, :3])
    return "silent", "predicted on 3 of 4 features"


def case_predict_huge_value(est, name):
    X, y = _data()
    _fit(est, name, X, y)
    X_bad = X[:5].copy()
    X_bad[2, 0] = 1e30
    try:
        out = _output(est, name, X_bad)
    except ValueError as e:
        return (
            ("good", "refused")
            if "1e+30" in str(e) or "overflow" in str(e)
            else (
                "cryptic",
                str(e),
            )
        )
    return ("good", "finite") if np.isfinite(out).all() else ("silent", "NaN output")


@_expect_error(r"feature names")
def case_predict_renamed_columns(est, name):
    X, y = _data()
    _fit(est, name, pd.DataFrame(X, columns=list("abcd")), y)
    _output(est, name, pd.DataFrame(X, columns=list("abce")))
    return "silent", "predicted on renamed columns"


def case_ctrl_c_during_fit(est, name):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20_000, 4))
    y = (X[:, 0] > 0).astype(int)
    big = {
        "max_epochs": 100_000,
        "pretrain_epochs": 100_000,
        "n_estimators": 20_000,
        "early_stopping": False,
        "early_stopping_rounds": None,
    }
    est.set_params(**{k: v for k, v in big.items() if k in est.get_params()})
    if name == "CWoLaClassifier":
        from sklearn.ensemble import HistGradientBoostingClassifier

        est.set_params(
            estimator=HistGradientBoostingClassifier(max_iter=5000, early_stopping=False)
        )
    timer = threading.Timer(3.0, _thread.interrupt_main)
    timer.start()
    try:
        _fit(est, name, X, y)
    except KeyboardInterrupt:
        timer.cancel()
        from sklearn.exceptions import NotFittedError

        try:
            out = _output(est, name, X[:5])
        except NotFittedError:
            return "good", "re-raised; not fitted"
        except Exception as e:  # looks fitted but is broken
            return "cryptic", f"re-raised, then {type(e).__name__}: {e}"
        if getattr(est, "interrupted_", False) and np.isfinite(out).all():
            return "good", "re-raised; partial model flagged interrupted_"
        return "silent", "re-raised, but a half-fitted model looks whole"
    finally:
        timer.cancel()
    return "silent", "fit returned normally after Ctrl-C"


# -- estimator-specific cases -------------------------------------------------------


def _nuclei():
    from skhep_ml.datasets import make_multimodal_nuclei

    d = make_multimodal_nuclei(150, 150, random_state=0)
    return np.vstack([d.X_mc, d.X_data]), d.y_mc


def special_mda_unlabelled_weight_zero():
    import skhep_ml as sk

    X, y_mc = _nuclei()
    y = np.concatenate([y_mc, np.full(150, -1)])
    w = np.r_[np.ones(150), np.zeros(150)]
    try:
        p = sk.MDAClassifier(**_MDA).fit(X, y, sample_weight=w).predict_proba(X)
    except ValueError as e:
        return ("good", "refused") if "weight" in str(e) else ("cryptic", str(e))
    return ("good", "finite") if np.isfinite(p).all() else ("silent", "all-NaN predictions")


def special_mda_string_labels_unlabelled():
    import skhep_ml as sk

    X, y_mc = _nuclei()
    y = np.concatenate([np.array(["bkg", "sig"], dtype=object)[y_mc], np.full(150, -1, object)])
    try:
        clf = sk.MDAClassifier(**_MDA).fit(X, y)
    except ValueError as e:
        return "cryptic", str(e)
    ok = list(clf.classes_) == ["bkg", "sig"]
    return ("good", "fits") if ok else ("silent", f"classes_ {clf.classes_}")


def special_mda_huge_value():
    import skhep_ml as sk

    X, y_mc = _nuclei()
    clf = sk.MDAClassifier(**_MDA).fit(X[:150], y_mc)
    X_bad = X[:3].copy()
    X_bad[0, -3] = 1e30
    try:
        p = clf.predict_proba(X_bad)
    except ValueError as e:
        return ("good", "refused") if "overflow" in str(e) else ("cryptic", str(e))
    return ("good", "finite") if np.isfinite(p).all() else ("silent", "NaN output")


def special_nsigma_template_without_braces():
    import skhep_ml as sk
    from skhep_ml.datasets import make_pid_tracks

    t = make_pid_tracks(2000, random_state=0)
    try:
        sk.NSigmaClassifier(nsigma_tpc="nsigma_tpc_pi").fit(t.data, t.target)
    except ValueError as e:
        return (
            ("good", "refused")
            if "{}" in str(e) or "placeholder" in str(e)
            else (
                "cryptic",
                str(e),
            )
        )
    return "silent", "every species mapped to one column"


def special_nsigma_defaults_on_own_data():
    import skhep_ml as sk
    from skhep_ml.datasets import make_pid_tracks

    t = make_pid_tracks(2000, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            acc = sk.NSigmaClassifier().fit(t.data, t.target).score(t.data, t.target)
    except ValueError as e:
        return "cryptic", f"defaults fail on make_pid_tracks: {e}"
    return "good", f"accuracy {acc:.2f}"


def _write(tmp, name, data, mode="w"):
    path = Path(tmp) / name
    with open(path, mode) as f:
        f.write(data)
    return path


def _loader_case(load, make_file):
    with tempfile.TemporaryDirectory() as tmp:
        path = make_file(tmp)
        try:
            out = load(path)
        except ValueError as e:
            return ("good", "refused") if str(path.name) in str(e) else ("cryptic", str(e))
        except Exception as e:
            return "cryptic", f"{type(e).__name__}: {e}"
    try:
        n = len(out["data"])
    except Exception:
        n = "some"
    return "silent", f"loaded {n} rows"


def _lhco_file(label):
    def make(tmp):
        rng = np.random.RandomState(0)
        a = np.c_[rng.uniform(3.3, 3.7, (20, 1)), rng.uniform(0, 1, (20, 4)), np.zeros(20)]
        a[3, -1] = label
        np.save(Path(tmp) / "innerdata_train.npy", a)
        return Path(tmp) / "innerdata_train.npy"

    return make


def special_loaders():
    from skhep_ml.datasets import load_higgsml, load_lhco_rnd, load_magic

    data = os.environ.get("SKHEP_ML_DATA")
    real = Path(data) if data else Path(__file__).resolve().parents[2] / "shared" / "data"
    higgs = real / "higgsml_atlas_2014_subset" / "atlas-higgs-challenge-2014-v2_first22889.csv.gz"
    results = {}
    for label in (2.0, 0.5, np.nan):
        results[f"load_lhco_rnd label {label}"] = _loader_case(
            lambda p: load_lhco_rnd(p.parent, subset="data"), _lhco_file(label)
        )
    if higgs.exists():
        text = gzip.open(higgs, "rt").read().splitlines()
        truncated = "\n".join(text[:50]) + "\n" + text[50][: len(text[50]) // 2] + "\n"
        results["load_higgsml truncated CSV"] = _loader_case(
            load_higgsml,
            lambda tmp: _write(tmp, "atlas-higgs-challenge-2014-v2.csv", truncated),
        )
    results["load_higgsml binary file"] = _loader_case(
        load_higgsml, lambda tmp: _write(tmp, "atlas-higgs.csv", bytes(range(256)) * 4, "wb")
    )
    results["load_magic empty file"] = _loader_case(
        load_magic, lambda tmp: _write(tmp, "magic04.data", "")
    )
    results["load_lhco_rnd CSV given"] = _loader_case(
        lambda p: load_lhco_rnd(p.parent, subset="data"),
        lambda tmp: _write(tmp, "innerdata_train.npy", "a,b\n1,2\n"),
    )
    return results


def special_to_onnx_unfitted():
    import skhep_ml as sk
    from skhep_ml.export import to_onnx

    with tempfile.TemporaryDirectory() as tmp:
        try:
            to_onnx(sk.FSEAttentionClassifier(), Path(tmp) / "m.onnx")
        except Exception as e:
            good = "fitted" in str(e)
            return ("good", "refused") if good else ("cryptic", f"{type(e).__name__}: {e}")
    return "silent", "exported an unfitted model"


# -- driver -------------------------------------------------------------------------


def _run_case(fn, *args):
    pattern = getattr(fn, "pattern", None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)
    except (ValueError, TypeError) as e:
        if pattern is None:
            return "cryptic", f"{type(e).__name__}: {e}"
        if re.search(pattern, str(e)):
            return "good", "clear error"
        return "cryptic", f"{type(e).__name__}: {str(e)[:160]}"
    except KeyboardInterrupt:
        raise
    except Exception as e:
        return "cryptic", f"{type(e).__name__}: {str(e)[:160]}"


def fuzz():
    """Run every case; list of ``{"target", "case", "outcome", "detail"}``."""
    import signal

    # Ctrl-C is pressed with _thread.interrupt_main(): it needs Python's SIGINT
    # handler, which a shell's background job does not get
    signal.signal(signal.SIGINT, signal.default_int_handler)
    records = []
    cases = [(k, v) for k, v in globals().items() if k.startswith("case_")]
    # Ctrl-C last: an interrupt that lands in a lazy import (torch imports sympy on
    # first use) leaves that module half-initialised for the rest of the process
    cases.sort(key=lambda item: item[0] == "case_ctrl_c_during_fit")
    for case, fn in cases:
        for name, make in _targets().items():
            outcome, detail = _run_case(fn, make(), name)
            records.append(dict(target=name, case=case[5:], outcome=outcome, detail=detail))
    for case, fn in [(k, v) for k, v in globals().items() if k.startswith("special_")]:
        result = _run_case(fn)
        if isinstance(result, dict):
            for sub, (outcome, detail) in result.items():
                records.append(
                    dict(target=sub.split()[0], case=sub, outcome=outcome, detail=detail)
                )
        else:
            records.append(dict(target="-", case=case[8:], outcome=result[0], detail=result[1]))
    return records


def _counts(records):
    df = pd.DataFrame(records)
    return df["outcome"].value_counts().reindex(["good", "cryptic", "silent"], fill_value=0)


def run(args):
    from benchmarks._runner import markdown_table, write_report

    records = fuzz()
    after = _counts(records)
    sections = []
    before_file = Path(args.out_dir) / "fuzz_before" / "fuzz.json"
    summary = pd.DataFrame({"after (this tree)": after})
    if before_file.exists():
        before = json.loads(before_file.read_text())
        summary.insert(0, f"before ({before['commit']})", _counts(before["records"]))
    sections.append(("Outcomes", markdown_table(summary.rename_axis("outcome").reset_index())))
    bad = [r for r in records if r["outcome"] != "good"]
    sections.append(
        (
            "Cases that are not good on this tree",
            markdown_table(pd.DataFrame(bad)) if bad else "none",
        )
    )
    if before_file.exists():
        old = [r for r in before["records"] if r["outcome"] != "good"]
        sections.append(("Cases that were not good before", markdown_table(pd.DataFrame(old))))
    write_report(
        TASK,
        sections,
        out_dir=args.out_dir,
        records=records,
        tuning="not applicable (no model quality is measured)",
        meta={"cases": len(records)},
        headline=headline(records, {}),
    )


def headline(records, meta):
    c = _counts(records)
    return {
        "scope": f"`fuzz` ({len(records)} bad inputs: every estimator, loader, `to_onnx`)",
        "text": f"{c['good']} handled well, {c['cryptic']} cryptic errors, {c['silent']} silent",
        "numbers": {k: int(v) for k, v in c.items()},
    }


if __name__ == "__main__":
    import subprocess

    out = fuzz()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    Path(sys.argv[1]).write_text(json.dumps({"commit": commit, "records": out}, indent=1))
    print(_counts(out).to_dict())
