"""One-seed check of FSE + attention at the pid benchmark's default size (100k/100k tracks).

Run: ``python -m benchmarks._pid_default_check`` (about 15 minutes on one loaded core);
it writes ``benchmarks/results/pid_default_size_seed0.json``. The full ``pid`` task at
this size with 3 seeds is ``python -m benchmarks pid``.
"""

import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks import pid
from benchmarks._missing import fse
from skhep_ml.datasets import bayes_limit, make_pid_tracks


def main(seed=0):
    n_train, _ = pid.sizes(False)
    data = make_pid_tracks(2 * n_train, random_state=seed)
    X, y, post = data.data, data.target.to_numpy(), data.posterior
    X_tr, y_tr, X_te, y_te = X.iloc[:n_train], y[:n_train], X.iloc[n_train:], y[n_train:]
    out = {"bayes": float(np.mean(bayes_limit(post.iloc[n_train:], y_te)["predict"] == y_te))}
    for key, est in (
        ("xgb", pid.methods(False)["XGBoost (NaN-native)"](seed)),
        ("fse", fse(seed, False, verbose=1)),
    ):
        start = time.time()
        est.fit(X_tr, y_tr)
        out[f"{key}_fit_s"] = time.time() - start
        out[key] = float(np.mean(est.predict(X_te) == y_te))
        print(out, flush=True)
    out["fse_epochs"] = est.n_epochs_
    out["load"] = os.getloadavg()
    path = Path(__file__).resolve().parent / "results" / "pid_default_size_seed0.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
