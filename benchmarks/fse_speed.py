"""Benchmark `fse_speed`: FSE + attention against the model users would otherwise run.

Every verdict is a ratio measured in one run, so that it does not depend on
the machine or its load:

1. Reference: the ALICE attention model from stock torch modules
   (``benchmarks/_alice_reference.py``: ``nn.TransformerEncoder``, batches
   grouped by missingness pattern, torch's fused encoder kernels in eval
   mode; the grouping is not timed), same sizes as the default
   :class:`~skhep_ml.FSEAttentionClassifier`, on the same tracks and
   threads. Training: our whole ``fit`` (``EPOCHS`` epochs at batch 512,
   thresholds included; and, for scale, with ``thresholds=None``) against
   ``EPOCHS`` epochs of the reference;
   inference: ``predict_proba`` (input validation included) against the
   reference's forward on pre-grouped batches of 256. Interleaved repeats
   (ours, reference, ours, ...): median and spread of the ratio.
2. The profiles (torch.profiler, top operations) of a training epoch and an
   inference pass of both, which guided the changes.
3. Bridge overhead: ``DNNClassifier.fit`` / ``predict_proba`` against a plain
   torch loop on the same module, data and epochs. ``predict_proba`` returns
   float64 probabilities (scikit-learn's contract; 1 - p keeps its precision
   near 1 for tight cuts), so the verdict's plain forward returns them too;
   the float32 forward is shown beside it. The prediction calls of the
   three take turns.
4. Time to accuracy on `pid` tracks: the training wall time each method
   needs to come within 0.1 percentage point of its final test accuracy,
   FSE against XGBoost.
5. ONNX Runtime throughput and batch-1 latency of the exported FSE model.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from benchmarks import _alice_reference as alice
from benchmarks._missing import fse
from benchmarks._runner import markdown_table, rows_per_second, write_report
from skhep_ml import DNNClassifier, FSEAttentionClassifier
from skhep_ml.datasets import make_pid_tracks
from skhep_ml.nn import fse as fse_nn

TASK = "fse_speed"
EPOCHS = 2
BATCH = 512
#: Rows per batch of the reference's inference (the ALICE loaders' batches).
REF_BATCH = 256
#: Rows per call of the ONNX Runtime throughput.
ONNX_CHUNK = 256
FAST = "FSE (batch 512, lr 3e-3, one-cycle, 10 epochs)"
#: Accuracy within this of the final one counts as reached (0.1 percentage point).
TOLERANCE = 0.001
TUNING = (
    "no tuning: the default FSEAttentionClassifier architecture with the benchmark suite's "
    "training settings (benchmarks/_missing.fse) at batch 512; the reference has the same "
    "sizes and optimiser (Adam, lr 2e-3). Time to accuracy: FSE with the `pid` benchmark's "
    "settings and with one shorter setting (batch 512, lr 3e-3, one-cycle schedule, 10 epochs; "
    "it counts only if its final accuracy is within 0.1 pt of the pid settings'), the shortest "
    "one-cycle setting within 0.1 pt of the pid settings on separate selection tracks "
    "(make_pid_tracks, random_state=100: 100k training, 20k validation; never these test "
    "tracks): pid settings 0.9674; one-cycle batch 256/lr 2e-3/6 epochs 0.9660, 512/3e-3/8 "
    "0.9663, 512/3e-3/10 0.9671, 1024/5e-3/4 0.9530, 2048/1e-2/4 0.8113. It replaces the cosine "
    "setting of the earlier runs (batch 512, lr 3e-3, 10 epochs: 0.9656, not as accurate). "
    "XGBoost with the `pid` benchmark's settings"
)


def _ratio_stats(ours, ref):
    """Median, min and max of ref / ours time ratios (above 1: ours faster)."""
    r = np.asarray(ref) / np.asarray(ours)
    return {"median": float(np.median(r)), "min": float(r.min()), "max": float(r.max())}


def against_reference(n, repeats, threads):
    """Training and inference times of FSE and the reference, interleaved, one process."""
    torch.set_num_threads(threads)
    data = make_pid_tracks(2 * n, random_state=123)
    X = data.data.to_numpy(np.float32)  # arrays: predict_proba gets what fit got
    X_tr, y_tr = X[:n], data.target.to_numpy()[:n]
    X_te = np.ascontiguousarray(X[n:])
    ours = fse(0, False, batch_size=BATCH, max_epochs=EPOCHS, validation_fraction=None)
    ours.fit(X_tr[:2000], y_tr[:2000])  # warm-up (first-call costs of torch)
    classes = np.unique(y_tr)
    mean, std = ours.feature_mean_, ours.feature_scale_
    # the reference's data preparation, not timed: standardised rows grouped by pattern
    groups = alice.group_by_pattern(X_tr, np.searchsorted(classes, y_tr), mean, std)
    batches = alice.split_batches(alice.group_by_pattern(X_te, None, mean, std), REF_BATCH)
    # our network on the reference's own batches (same rows, raw values): the same
    # work as the reference, so its ratio is what the arithmetic alone allows
    own_batches = [torch.as_tensor(X_te[rows]) for rows, _ in batches]
    names = ("fit", "ref fit", "fit, no thresholds", "predict", "ref predict", "forward")
    times = {k: [] for k in (*names, "torch dropout")}
    ref = None
    for r in range(repeats):
        torch.manual_seed(r)
        est = fse(r, False, batch_size=BATCH, max_epochs=EPOCHS, validation_fraction=None)
        t0 = time.perf_counter()
        est.fit(X_tr, y_tr)
        times["fit"].append(time.perf_counter() - t0)
        # the whole fit ends with a prediction pass over the training rows for the F1
        # thresholds, which the reference does not do: the training alone, for scale
        bare = fse(r, False, batch_size=BATCH, max_epochs=EPOCHS, validation_fraction=None)
        t0 = time.perf_counter()
        bare.set_params(thresholds=None).fit(X_tr, y_tr)
        times["fit, no thresholds"].append(time.perf_counter() - t0)
        with _torch_dropout():  # the ablation: does the dropout bank still pay?
            plain = fse(r, False, batch_size=BATCH, max_epochs=EPOCHS, validation_fraction=None)
            t0 = time.perf_counter()
            plain.fit(X_tr, y_tr)
            times["torch dropout"].append(time.perf_counter() - t0)
        ref = alice.AliceAttentionReference(X_te.shape[1], len(classes))
        t0 = time.perf_counter()
        alice.train_grouped(ref, groups, epochs=EPOCHS, batch_size=BATCH, lr=est.lr, seed=r)
        times["ref fit"].append(time.perf_counter() - t0)
        ours = est
    ours.predict_proba(X_te[:1000])
    alice.predict_grouped(ref, batches[:4])
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours.predict_proba(X_te)
        times["predict"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        alice.predict_grouped(ref, batches)
        times["ref predict"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _forward_batches(ours.net_.module_, own_batches)
        times["forward"].append(time.perf_counter() - t0)
    return ours, ref, groups, batches, X_te, times


class _TorchDropout:
    """torch's dropout in the DropoutBank's place."""

    def __init__(self, p, *args, **kwargs):
        self.p = p

    def __call__(self, x):
        return F.dropout(x, self.p, training=True)


@contextlib.contextmanager
def _torch_dropout():
    """FSE networks built inside use torch's dropout instead of the DropoutBank."""
    saved = fse_nn.DropoutBank
    fse_nn.DropoutBank = _TorchDropout
    try:
        yield
    finally:
        fse_nn.DropoutBank = saved


def _forward_batches(module, batches):
    module.eval()
    with torch.inference_mode():
        return [module(xb) for xb in batches]


#: torch's fused encoder layer, the same kernel on the same tokens in both models' inference.
ENCODER_OP = "aten::_transformer_encoder_layer_fwd"


def profile_tables(est, ref, groups, batches, X_te, n_rows=4096, top=8):
    """torch.profiler's top operations (self CPU time) of training and inference, both models,
    and the share of each job's time inside the encoder layers (``ENCODER_OP``)."""
    from torch.profiler import ProfilerActivity, profile

    net = copy.deepcopy(est.net_.module_).train()
    ref = copy.deepcopy(ref).train()
    rows = np.random.default_rng(0).permutation(len(X_te))[:n_rows]
    x = torch.as_tensor(X_te[rows])
    order = torch.as_tensor(
        np.argsort(
            np.unique(np.isnan(X_te[rows]), axis=0, return_inverse=True)[1].ravel(), kind="stable"
        )
    )
    y = torch.zeros(n_rows, net.n_outputs)
    opt_n, opt_r = torch.optim.Adam(net.parameters()), torch.optim.Adam(ref.parameters())

    def train_ours():
        for idx in torch.split(order, BATCH):  # batches ordered by pattern, as in fit
            loss = F.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
            opt_n.zero_grad()
            loss.backward()
            opt_n.step()

    def train_ref():
        for _, Xg, _ in groups:
            for xb in torch.split(Xg[: n_rows // len(groups)], BATCH):
                loss = F.binary_cross_entropy_with_logits(
                    ref(xb), torch.zeros(len(xb), net.n_outputs)
                )
                opt_r.zero_grad()
                loss.backward()
                opt_r.step()

    jobs = {
        "training, FSEAttentionNet": train_ours,
        "training, reference": train_ref,
        "inference, predict_proba": lambda: est.predict_proba(X_te[:n_rows]),
        "inference, reference": lambda: alice.predict_grouped(ref, batches[: n_rows // REF_BATCH]),
    }
    tables, encoder_share = [], {}
    for name, job in jobs.items():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            job()
        ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in ops)
        encoder_share[name] = sum(e.cpu_time_total for e in ops if e.key == ENCODER_OP) / total
        tables.append(
            pd.DataFrame(
                {
                    "job": name,
                    "operation": [e.key for e in ops[:top]],
                    "self CPU share": [f"{e.self_cpu_time_total / total:.1%}" for e in ops[:top]],
                    "calls": [e.count for e in ops[:top]],
                }
            )
        )
    return pd.concat(tables, ignore_index=True), encoder_share


def bridge_overhead(n, repeats):
    """``DNNClassifier`` fit / predict_proba against a plain torch loop on the same module.

    Fits of ``BRIDGE_EPOCHS`` epochs (a few seconds: the fixed cost of a fit,
    validation and set-up, counts but does not dominate), in alternating
    order (ours first on even repeats, the loop first on odd ones) so that a
    drift of the machine's speed does not favour one side.
    """
    data = make_pid_tracks(2 * n, random_state=7)
    X = np.nan_to_num(data.data.to_numpy(np.float32))  # a DNN takes no NaN
    y = data.target.to_numpy()
    X_tr, y_tr, X_te = X[:n], y[:n], X[n:]
    params = dict(
        hidden_layers=(64, 32, 16),
        activation="leaky_relu",
        batch_size=256,
        lr=2e-3,
        max_epochs=BRIDGE_EPOCHS,
        validation_fraction=None,
        lr_schedule=None,
    )
    y_enc = torch.as_tensor(np.searchsorted(np.unique(y_tr), y_tr))
    xt = torch.as_tensor(X_tr)
    # warm-up, and the module the plain loop trains (freshly initialised per repeat)
    template = DNNClassifier(**{**params, "max_epochs": 1}).fit(X_tr[:2000], y_tr[:2000])
    template = template.net_.module_

    def fit_ours(r):
        est = DNNClassifier(**params, random_state=r)
        t0 = time.perf_counter()
        est.fit(X_tr, y_tr)
        return est, time.perf_counter() - t0

    def fit_loop(r):
        torch.manual_seed(r)
        module = copy.deepcopy(template)
        for m in module.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        t0 = time.perf_counter()
        opt = torch.optim.Adam(module.parameters(), lr=params["lr"])
        module.train()
        for _ in range(params["max_epochs"]):
            for idx in torch.split(torch.randperm(n), params["batch_size"]):
                loss = F.cross_entropy(module(xt[idx]), y_enc[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return module.eval(), time.perf_counter() - t0

    times = {"fit": [], "loop fit": [], "predict": [], "loop predict": [], "loop predict f32": []}
    for r in range(repeats):
        if r % 2:
            module, t_loop = fit_loop(r)
            est, t_ours = fit_ours(r)
        else:
            est, t_ours = fit_ours(r)
            module, t_loop = fit_loop(r)
        times["fit"].append(t_ours)
        times["loop fit"].append(t_loop)
        # one call is ~10 ms: the median of PREDICT_CALLS calls per repeat, the three
        # calls in turn (blocks of calls of one kind drifted with the machine's speed)
        calls = {
            "predict": (est.predict_proba, X_te),
            "loop predict": (_plain_proba, module, X_te, torch.float64),
            "loop predict f32": (_plain_proba, module, X_te, torch.float32),
        }
        seconds = {k: [] for k in calls}
        for _ in range(PREDICT_CALLS):
            for k, (fn, *args) in calls.items():
                t0 = time.perf_counter()
                fn(*args)
                seconds[k].append(time.perf_counter() - t0)
        for k, v in seconds.items():
            times[k].append(float(np.median(v)))
    return times


def bridge_in_fresh_process(n, repeats, threads):
    """:func:`bridge_overhead` in a new Python process (``threads`` torch threads).

    The same prediction is state-dependent: inside this long run, after the
    FSE fits, glibc's heap has grown (its mmap threshold adapts), so the
    plain loop's whole-array forward reuses warm memory, while in a new
    process its large temporaries are fresh pages (page faults) and our
    8192-row chunks are faster. Both states are measured and reported.
    """
    code = (
        "import json, torch\n"
        f"torch.set_num_threads({threads})\n"
        "from benchmarks.fse_speed import bridge_overhead\n"
        f"print('BRIDGE ' + json.dumps(bridge_overhead({n}, {repeats})))\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("BRIDGE ")][-1]
    return json.loads(line[len("BRIDGE ") :])


def _bridge_label(kind, state):
    what = {
        "fit": f"DNNClassifier.fit vs plain torch loop ({BRIDGE_EPOCHS} epochs)",
        "predict": "DNNClassifier.predict_proba vs plain forward + float64 softmax (same output)",
        "predict f32": "DNNClassifier.predict_proba vs plain forward + float32 softmax",
    }[kind]
    return f"{what}, {state}"


def _bridge_table(times, state):
    table = _stats_table(
        times,
        [
            (_bridge_label("fit", state), "fit", "loop fit"),
            (_bridge_label("predict", state), "predict", "loop predict"),
            (_bridge_label("predict f32", state), "predict", "loop predict f32"),
        ],
    )
    table["overhead (ours/loop - 1): median"] = 1.0 / table["ratio reference/ours: median"] - 1.0
    return table


#: Epochs of the bridge-overhead fits, and their repeats.
BRIDGE_EPOCHS = 10
BRIDGE_REPEATS = 5
PREDICT_CALLS = 7


def _plain_proba(module, X, dtype):
    with torch.inference_mode():
        return torch.softmax(module(torch.as_tensor(X)).to(dtype), dim=1).numpy()


class _EpochAccuracy:
    """Test accuracy (argmax of the outputs) after every epoch, outside the timed epoch."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __call__(self, est):
        from skorch.callbacks import Callback

        X, y = self.X, self.y

        class Accuracy(Callback):
            def on_epoch_end(self, net, **kwargs):
                module = net.module_
                was = module.training
                module.eval()
                with torch.inference_mode():
                    out = torch.cat([module(c) for c in torch.split(torch.as_tensor(X), 8192)])
                module.train(was)
                net.history.record(
                    "test_accuracy", float(np.mean(est.classes_[out.argmax(1).numpy()] == y))
                )

        return [("test_accuracy", Accuracy())]


class _TimedFSE(FSEAttentionClassifier):
    """FSE whose fit records the test accuracy of every epoch (for time to accuracy)."""

    _probe = None

    def _extra_callbacks(self):
        return [*super()._extra_callbacks(), *self._probe(self)]


def _fse_curve(params, X_tr, y_tr, X_te, y_te):
    est = _TimedFSE(**params)
    est._probe = _EpochAccuracy(np.ascontiguousarray(X_te, dtype=np.float32), y_te)
    t0 = time.perf_counter()
    est.fit(X_tr, y_tr)
    total = time.perf_counter() - t0
    h = est.history_
    seconds = np.cumsum(h[:, "dur"])  # skorch's epoch timer stops before the accuracy probe
    acc = np.asarray(h[:, "test_accuracy"])
    out = est.predict_proba(X_te).argmax(1)
    final = float(np.mean(est.classes_[out] == y_te))
    return seconds, acc, final, total


def _xgb_curve(seed, X_tr, y_tr, X_te, y_te):
    import xgboost as xgb
    from sklearn.model_selection import train_test_split

    classes = np.unique(y_tr)
    y_enc = np.searchsorted(classes, y_tr)
    tr, va = train_test_split(
        np.arange(len(y_enc)), test_size=0.1, stratify=y_enc, random_state=seed
    )

    class Clock(xgb.callback.TrainingCallback):
        def __init__(self):
            self.t = []

        def after_iteration(self, model, epoch, evals_log):
            self.t.append(time.perf_counter())
            return False

    clock = Clock()
    model = xgb.XGBClassifier(
        n_estimators=2000,
        learning_rate=0.1,
        max_depth=6,
        tree_method="hist",
        n_jobs=2,
        random_state=seed,
        early_stopping_rounds=20,
        callbacks=[clock],
    )
    t0 = time.perf_counter()
    model.fit(X_tr[tr], y_enc[tr], eval_set=[(X_tr[va], y_enc[va])], verbose=False)
    total = time.perf_counter() - t0
    seconds = np.asarray(clock.t) - t0
    best = model.best_iteration + 1
    rounds = np.unique(np.r_[np.arange(5, best, 5), best])
    acc = np.array(
        [
            np.mean(classes[model.predict_proba(X_te, iteration_range=(0, k)).argmax(1)] == y_te)
            for k in rounds
        ]
    )
    return seconds[rounds - 1], acc, float(acc[-1]), total


def _best_fse_ratio(tta):
    """Time-to-accuracy ratio to XGBoost of the fastest FSE setting as accurate as the pid one."""
    fse_rows = tta.iloc[1:]
    return float(
        fse_rows.loc[
            fse_rows["as accurate as FSE (pid settings)"], "own-final time / XGBoost's"
        ].min()
    )


def _reached(seconds, acc, target):
    hit = np.flatnonzero(acc >= target)
    return float(seconds[hit[0]]) if hit.size else float("nan")


def time_to_accuracy(n_train, n_test, seed, quick):
    data = make_pid_tracks(n_train + n_test, random_state=seed)
    X = data.data.to_numpy(np.float32)
    y = data.target.to_numpy()
    X_tr, y_tr, X_te, y_te = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    curves = {
        "XGBoost (pid settings)": _xgb_curve(seed, X_tr, y_tr, X_te, y_te),
        "FSE (pid settings: batch 256, lr 2e-3, exponential decay)": _fse_curve(
            fse(seed, quick).get_params(), X_tr, y_tr, X_te, y_te
        ),
        FAST: _fse_curve(
            fse(
                seed, quick, batch_size=512, lr=3e-3, lr_schedule="one_cycle", max_epochs=10
            ).get_params(),
            X_tr,
            y_tr,
            X_te,
            y_te,
        ),
    }
    xgb_final = curves["XGBoost (pid settings)"][2]
    rows = []
    for name, (seconds, acc, final, total) in curves.items():
        rows.append(
            {
                "method": name,
                "final test accuracy": final,
                "whole fit [s]": total,
                "to within 0.1 pt of own final [s]": _reached(seconds, acc, final - TOLERANCE),
                "to within 0.1 pt of XGBoost's final [s]": _reached(
                    seconds, acc, xgb_final - TOLERANCE
                ),
            }
        )
    df = pd.DataFrame(rows)
    xgb_t = df.loc[0, "to within 0.1 pt of own final [s]"]
    df["own-final time / XGBoost's"] = df["to within 0.1 pt of own final [s]"] / xgb_t
    # a faster setting counts only if it learns as much as the pid settings (not less)
    floor = df.loc[1, "final test accuracy"] - TOLERANCE
    df["as accurate as FSE (pid settings)"] = df["final test accuracy"] >= floor
    df.loc[0, "as accurate as FSE (pid settings)"] = True
    return df, {k: {"seconds": v[0].tolist(), "accuracy": v[1].tolist()} for k, v in curves.items()}


def onnx_rates(est, X_te, threads):
    import onnxruntime as ort

    from skhep_ml.export import to_onnx

    with tempfile.TemporaryDirectory() as d:
        path = to_onnx(est, f"{d}/fse.onnx")[0]
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        (p_onnx,) = sess.run(None, {"features": X_te[:4096]})
        parity = float(np.abs(p_onnx - est.predict_proba(X_te[:4096])).max())
        rate = rows_per_second(
            lambda x: [
                sess.run(None, {"features": x[i : i + ONNX_CHUNK]})
                for i in range(0, len(x), ONNX_CHUNK)
            ],
            X_te,
            repeat=3,
        )
        lat = []
        for i in range(1000):
            t0 = time.perf_counter()
            sess.run(None, {"features": X_te[i : i + 1]})
            lat.append(time.perf_counter() - t0)
    return {
        f"ONNX Runtime [tracks/s] (batches of {ONNX_CHUNK})": rate,
        "ONNX Runtime batch-1 latency median [µs]": 1e6 * float(np.median(lat)),
        "max |ONNX Runtime - predict_proba| (4096 tracks)": parity,
    }


def _stats_table(times, pairs):
    rows = []
    for label, ours, ref in pairs:
        s = _ratio_stats(times[ours], times[ref])
        rows.append(
            {
                "measure": label,
                "ours: median [s]": float(np.median(times[ours])),
                "reference: median [s]": float(np.median(times[ref])),
                "ratio reference/ours: median": s["median"],
                "min": s["min"],
                "max": s["max"],
            }
        )
    return pd.DataFrame(rows)


def run(args):
    threads = 2
    default_threads = torch.get_num_threads()
    n = 5_000 if args.quick else 40_000
    repeats = 3
    n_tta, n_tta_test = (10_000, 10_000) if args.quick else (100_000, 100_000)
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        est, ref, groups, batches, X_te, times = against_reference(n, repeats, threads)
        print("against the reference:", times, flush=True)
        vs_ref = _stats_table(
            times,
            [
                (f"training: whole fit vs {EPOCHS} epochs (batch {BATCH})", "fit", "ref fit"),
                (
                    "training without the F1-threshold pass (thresholds=None), for scale",
                    "fit, no thresholds",
                    "ref fit",
                ),
                (
                    f"inference: predict_proba vs forward on pre-grouped batches of {REF_BATCH}",
                    "predict",
                    "ref predict",
                ),
                (
                    "training, dropout bank: our fit vs our fit with torch's dropout",
                    "fit",
                    "torch dropout",
                ),
                (
                    "inference, same work: our network's forward vs the reference's, "
                    f"both on the reference's pre-grouped batches of {REF_BATCH}",
                    "forward",
                    "ref predict",
                ),
            ],
        )
        profiles, encoder_share = profile_tables(est, ref, groups, batches, X_te)
        onnx = onnx_rates(est, X_te, threads)
        bridge_repeats = 2 if args.quick else BRIDGE_REPEATS
        bridge_times = {
            "in this run, after the FSE fits": bridge_overhead(n, bridge_repeats),
            "in a fresh process": bridge_in_fresh_process(n, bridge_repeats, threads),
        }
        bridge = pd.concat(
            [_bridge_table(t, state) for state, t in bridge_times.items()], ignore_index=True
        )
        print(bridge, flush=True)
        tta, curves = time_to_accuracy(n_tta, n_tta_test, args.seeds[0], args.quick)
        print(tta, flush=True)
    finally:
        torch.set_num_threads(default_threads)
    load_after = [round(x, 2) for x in os.getloadavg()]
    fit_r = _ratio_stats(times["fit"], times["ref fit"])
    pred_r = _ratio_stats(times["predict"], times["ref predict"])
    same_r = _ratio_stats(times["forward"], times["ref predict"])
    bank_r = _ratio_stats(times["fit"], times["torch dropout"])
    bare_r = _ratio_stats(times["fit, no thresholds"], times["ref fit"])
    # the encoder layers run the same kernel on the same tokens in both: with all the
    # rest of our inference free, the ratio could reach at most 1 / (their share)
    ref_encoder = encoder_share["inference, reference"]
    fse_tta = _best_fse_ratio(tta)
    over = bridge.set_index("measure")["overhead (ours/loop - 1): median"]
    verdict = "\n".join(
        [
            f"- training, FSE / reference speed: {fit_r['median']:.2f}x (median of {repeats}, "
            f"{fit_r['min']:.2f} to {fit_r['max']:.2f}; target at least 1.5, goal 2); "
            f"without the F1-threshold pass at the end of the fit: {bare_r['median']:.2f}x",
            f"- inference, FSE / reference speed: {pred_r['median']:.2f}x ({pred_r['min']:.2f} to "
            f"{pred_r['max']:.2f}; target at least 1.5, goal 2); our network's forward on the "
            f"reference's own batches (the same work): {same_r['median']:.2f}x",
            f"- inference bound: the encoder layers ({ENCODER_OP}, the same kernel on the same "
            f"tokens in both) take {ref_encoder:.0%} of the reference's inference and "
            f"{encoder_share['inference, predict_proba']:.0%} of our predict_proba; with the "
            f"rest of our inference free, the ratio could reach at most "
            f"{1 / ref_encoder:.2f}x, so 1.5x needs fewer encoder operations "
            "(a smaller model) or a faster kernel, not less overhead",
            f"- dropout bank: torch's dropout in its place makes our fit {bank_r['median']:.2f}x "
            f"as slow ({bank_r['min']:.2f} to {bank_r['max']:.2f}): "
            + ("it still pays, kept" if bank_r["min"] > 1.05 else "it no longer clearly pays"),
            f"- time to within 0.1 pt of the final accuracy, fastest FSE setting as accurate as "
            f"the pid settings / XGBoost: "
            f"{fse_tta:.1f}x (target at most 5, goal 3)",
            "- bridge overhead, DNNClassifier against a plain torch loop (target at most +10%): "
            + "; ".join(
                f"{state}: fit {over[_bridge_label('fit', state)]:+.0%}, predict_proba "
                f"{over[_bridge_label('predict', state)]:+.0%} against the same float64 output "
                f"({over[_bridge_label('predict f32', state)]:+.0%} against a float32 softmax)"
                for state in bridge_times
            ),
            f"- ONNX parity: max |ONNX Runtime - predict_proba| = "
            f"{onnx['max |ONNX Runtime - predict_proba| (4096 tracks)']:.1e} (must stay below 1e-5)",
            "- GPU: not measured (no GPU on the benchmark machine)",
        ]
    )
    records = {
        "times": times,
        "bridge_times": bridge_times,
        "ratios": {
            "training": fit_r,
            "inference": pred_r,
            "inference, same work": same_r,
            "dropout bank": bank_r,
            "training without thresholds": bare_r,
        },
        "encoder share": encoder_share,
        "onnx": onnx,
        "time_to_accuracy": tta.to_dict(orient="records"),
        "curves": curves,
        "load average before": load_before,
        "load average after": load_after,
    }
    write_report(
        TASK,
        [
            (
                f"FSE against the ALICE reference ({n:,} tracks, {threads} threads, interleaved)",
                markdown_table(vs_ref),
            ),
            ("Verdict", verdict),
            (
                "Profiles (top operations by self CPU time)",
                [
                    "torch.profiler on 4096 tracks: a training pass (batches of 512) and an "
                    "inference pass of each model. What they showed and what changed: the "
                    "reference spends about a fifth of its training in `aten::bernoulli_` "
                    "(nn.Dropout), which FSE's DropoutBank avoids; FSE's masked attention over "
                    "all 19 tokens spent its time in `copy_`, `masked_fill_` and the wider "
                    "products, so every pattern now runs its present tokens only, without a mask "
                    "(training batches ordered by pattern, `BatchLoader(by_pattern=True)`), and in "
                    "inference through `aten::_transformer_encoder_layer_fwd`, the fused kernel of "
                    "the reference. The inference profile then showed `aten::unique_dim` and its "
                    "per-row `select`/`equal` calls (about a sixth of predict_proba, and of every "
                    "training batch): the missingness patterns are now found by a 1-D unique over "
                    "one 64-bit key per row (`skhep_ml.nn.fse.missingness_patterns`). The "
                    "token-embedding MLP's `aten::addmm` (128 x 32 per token) is, in inference, "
                    "a lookup in piecewise-linear tables (`FSEAttentionNet.token_tables`; "
                    "training keeps the MLP: rebuilding the tables every step cost what they "
                    "saved); in the training profile, `CopySlices` and `clone` in the backward "
                    "pass (in-place ReLUs on the views that nn.Linear returns for 3-D inputs) "
                    "are gone; and the Adam update, about 2.2 ms per step as a loop of per-tensor "
                    "ops, is one fused kernel (0.34 ms). Tried and not adopted: torch.compile "
                    "of the per-pattern inference (46 s to compile on this CPU, then 1.22 s "
                    "against 1.17 s for the fused kernel on 40k tracks) and two Python threads "
                    "of one torch thread each (1.02 s against 1.09 s: torch's two threads "
                    "already scale 1.77x on this model).",
                    markdown_table(profiles),
                ],
            ),
            (
                f"Time to accuracy (`pid` tracks, {n_tta:,} training, {n_tta_test:,} test)",
                [
                    "Training wall time until the test accuracy (argmax of the outputs, after each "
                    "FSE epoch or every 5 XGBoost rounds; evaluation not timed) first comes within "
                    "0.1 percentage point of the final one.",
                    markdown_table(tta),
                ],
            ),
            (
                "Bridge overhead",
                [
                    "The same calls in two states of the process. In this run, after the FSE "
                    "fits, glibc's heap has grown and the plain loop's whole-array forward "
                    "reuses warm memory; in a fresh process its large temporaries are new pages "
                    "(page faults), and predict_proba's chunks of rows are the faster. "
                    "Alone in a fresh process, bridge_overhead measures the second state.",
                    markdown_table(bridge),
                ],
            ),
            (
                "ONNX Runtime",
                markdown_table(
                    pd.DataFrame([onnx])
                    .T.reset_index()
                    .rename(columns={"index": "measure", 0: "value"})
                ),
            ),
        ],
        out_dir=args.out_dir,
        records=records,
        meta={
            **META,
            "tracks (reference comparison)": n,
            "repeats": repeats,
            "load average before": load_before,
            "load average after": load_after,
        },
        tuning=TUNING,
        headline=headline(records, META),
    )


META = {
    "notes": "every verdict is a ratio of two measurements interleaved in one run (a loaded "
    "machine slows both); the absolute seconds depend on the load",
}


def headline(records, meta):
    """The task's line in the README's results table (from the JSON's records)."""
    r = records["ratios"]
    tta = pd.DataFrame(records["time_to_accuracy"])
    best = _best_fse_ratio(tta)
    numbers = {
        "training ratio": r["training"]["median"],
        "inference ratio": r["inference"]["median"],
        "time to accuracy / XGBoost": best,
    }
    return {
        "scope": "`fse_speed` (2 threads)",
        "text": f"FSE against the ALICE reference (stock torch, batches grouped by pattern): "
        f"training {r['training']['median']:.2f}x, inference {r['inference']['median']:.2f}x "
        f"faster (median of 3 interleaved repeats); time to within 0.1 pt of its final pid "
        f"accuracy {best:.1f}x XGBoost's",
        "numbers": numbers,
    }
