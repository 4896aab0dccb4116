"""Benchmark `fse_speed`: training and inference throughput of FSE + attention.

The default architecture on the 19 features of `make_pid_tracks`, with 2 and
with 1 torch thread: training tracks/s at batch 512 (the whole ``fit``, and
the median epoch from skorch's history, which leaves out the start-up and
the thresholds chosen after training), batched inference with the torch
module, with ``predict_proba`` (input validation included) and with ONNX
Runtime, the ONNX Runtime batch-1 latency, and the fraction of the machine's
measured matmul peak that these reach. Run it alone: other jobs on the same
cores lower every number (the load averages are in the table).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import pandas as pd

from benchmarks._missing import fse
from benchmarks._runner import fit_timed, markdown_table, rows_per_second, write_report
from skhep_ml.datasets import make_pid_tracks

TASK = "fse_speed"
#: Rows per call in the batched-inference measurements (best of 256 ... 4096 on 2 cores).
INFERENCE_CHUNK = 256
EPOCHS = 5
TRAIN_FIT = f"training [tracks/s], whole fit ({EPOCHS} epochs, batch 512)"
TRAIN_EPOCH = "training [tracks/s], median epoch"
API = "inference predict_proba [tracks/s] (incl. validation)"
ONNX = f"inference ONNX Runtime [tracks/s] (batches of {INFERENCE_CHUNK})"
LATENCY = "ONNX Runtime batch-1 latency median [µs]"
TUNING = (
    "no tuning: the default FSEAttentionClassifier architecture with the benchmark suite's "
    "training settings (benchmarks/_missing.fse), batch 512; INFERENCE_CHUNK (256 rows) is the "
    "best of 256 ... 4096 measured on this machine; no quality number is compared here"
)


def fse_flops_per_track(net, n_tokens):
    """Multiply-add FLOPs (x2) of the matrix products of one forward pass, all tokens present."""
    t = n_tokens
    d = net.embed_out.out_features
    flops = 2 * t * net.embed_out.in_features * d  # token embedding (128 -> d)
    for layer in net.layers:
        ff = layer.ff1.out_features
        flops += 2 * t * d * 3 * d + 2 * 2 * t * t * d + 2 * t * d * d + 2 * 2 * t * d * ff
    p = net.pool[0].out_features
    flops += 2 * 2 * t * d * p
    if net.head is None:
        hid = net.head_hidden.out_features
        flops += 2 * d * hid + 2 * hid
    else:
        hid = net.head[0].out_features
        flops += 2 * d * hid + 2 * hid * net.n_outputs
    return flops


def matmul_gflops(n=1024, repeat=20):
    """Best float32 matmul rate [GFLOP/s] of an n x n product, with torch's current threads."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def measure(threads, n=20_000):
    """One column of the table: every measure with ``threads`` torch threads."""
    import onnxruntime as ort
    import torch

    from skhep_ml.export import to_onnx

    torch.set_num_threads(threads)
    data = make_pid_tracks(2 * n, random_state=123)
    X_tr, y_tr = data.data.iloc[:n], data.target.to_numpy()[:n]
    X_te = np.ascontiguousarray(data.data.iloc[n:].to_numpy(np.float32))
    load = [round(x, 2) for x in os.getloadavg()]
    peak = matmul_gflops()
    est = fse(0, False, batch_size=512, max_epochs=EPOCHS, validation_fraction=None)
    train_fit = EPOCHS * n / fit_timed(est, X_tr, y_tr)
    train_epoch = n / float(np.median(est.net_.history[:, "dur"]))
    net = est.net_.module_.eval()
    xt = torch.as_tensor(X_te)
    with torch.inference_mode():
        raw = rows_per_second(
            lambda x: [net(c) for c in torch.split(x, INFERENCE_CHUNK)], xt, repeat=5
        )
    api = rows_per_second(est.predict_proba, X_te, repeat=5)
    with tempfile.TemporaryDirectory() as d:
        path = to_onnx(est, f"{d}/fse.onnx")[0]
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        onnx_rate = rows_per_second(
            lambda x: [
                sess.run(None, {"features": x[i : i + INFERENCE_CHUNK]})
                for i in range(0, len(x), INFERENCE_CHUNK)
            ],
            X_te,
            repeat=5,
        )
        lat = []
        for i in range(2000):
            t0 = time.perf_counter()
            sess.run(None, {"features": X_te[i : i + 1]})
            lat.append(time.perf_counter() - t0)
    flops = fse_flops_per_track(net, X_te.shape[1])
    best_inference = max(raw, api, onnx_rate)
    return {
        "load average before": load,
        "matmul peak [GFLOP/s]": peak,
        "forward MFLOP per track (19 tokens)": flops / 1e6,
        TRAIN_FIT: train_fit,
        TRAIN_EPOCH: train_epoch,
        f"inference torch module [tracks/s] (batches of {INFERENCE_CHUNK})": raw,
        API: api,
        ONNX: onnx_rate,
        LATENCY: 1e6 * float(np.median(lat)),
        "ONNX Runtime batch-1 latency p99 [µs]": 1e6 * float(np.quantile(lat, 0.99)),
        "training fraction of matmul peak (3x forward FLOPs, median epoch)": 3
        * flops
        * train_epoch
        / (peak * 1e9),
        "inference fraction of matmul peak (best inference rate)": flops
        * best_inference
        / (peak * 1e9),
        "load average after": [round(x, 2) for x in os.getloadavg()],
    }


def run(args):
    import torch

    default_threads = torch.get_num_threads()
    out = {}
    try:
        # --quick leaves out the 1-thread column; the measurement itself is the same
        for threads in (2,) if args.quick else (2, 1):
            out[f"{threads} threads"] = measure(threads)
            print(threads, "threads:", out[f"{threads} threads"], flush=True)
    finally:
        torch.set_num_threads(default_threads)
    table = pd.DataFrame(out).map(lambda v: str(v) if isinstance(v, list) else f"{v:,.3g}")
    two = out["2 threads"]
    verdict = "\n".join(
        [
            f"- training, 2 threads: {two[TRAIN_EPOCH]:,.0f} tracks/s per epoch, "
            f"{two[TRAIN_FIT]:,.0f} over the whole fit (target: at least 8,000)",
            f"- batched inference, 2 threads: predict_proba {two[API]:,.0f}, ONNX Runtime "
            f"{two[ONNX]:,.0f} tracks/s (target: at least 40,000)",
            f"- ONNX Runtime batch-1 latency: {two[LATENCY]:.0f} µs median",
        ]
    )

    write_report(
        TASK,
        [
            (
                "Throughput (default architecture, 19 features)",
                markdown_table(table.reset_index().rename(columns={"index": "measure"})),
            ),
            ("Verdict", verdict),
        ],
        out_dir=args.out_dir,
        records=out,
        meta=META,
        tuning=TUNING,
        headline=headline(out, META),
    )


META = {
    "training tracks": 20_000,
    "notes": "a load average above 2 means other jobs shared the 2 cores: "
    "the numbers are then lower bounds",
}


def headline(records, meta):
    """The task's line in the README's results table (from the JSON's records)."""
    two = records["2 threads"]
    numbers = {k: two[k] for k in (TRAIN_EPOCH, TRAIN_FIT, API, ONNX, LATENCY)}
    return {
        "scope": "`fse_speed` (2 threads)",
        "text": f"FSE training {two[TRAIN_EPOCH]:,.0f} tracks/s per epoch at batch 512; "
        f"inference {two[API]:,.0f} tracks/s (`predict_proba`) and {two[ONNX]:,.0f} "
        f"(ONNX Runtime); ONNX batch-1 latency {two[LATENCY]:.0f} µs; load average before "
        f"{two['load average before']}, after {two['load average after']}",
        "numbers": numbers,
    }
