"""Benchmark task ``decorrelation``: learning to pivot and mass decorrelation.

1. The 2D toy of arXiv:1611.01046: classifier output distributions for
   Z = -1, 0, +1 (one standard deviation) with λ = 0 and with PivotClassifier's
   defaults (chosen by ``pivot_defaults`` on other draws of the toy), the
   spread of the output across Z (max - min over Z of the mean output), the AUC
   and the best AMS per Z (the paper's significance example, with 100 signal and
   1000 background events expected).
2. W vs QCD jets (``make_jet_mass_toy``): R50 versus 1/JSD (base 2, background
   mass passing vs failing the 50%-signal-efficiency cut) for an unconstrained
   DNN, XGBoost, PivotClassifier (adversary) at several λ, PivotClassifier
   (DisCo) at several strengths and hep_ml's uGB with BinFlatnessLossFunction.

The toy and the jets run every seed (the toy: PivotClassifier's defaults
against λ = 0, per seed; the jets: mean ± std in the table). The jet test sample is
large (200,000 jets) because 1/JSD is estimated from the few hundred QCD
jets that pass the cut: with a small test sample its statistical floor, not
the classifier, sets the largest 1/JSD that can be seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from benchmarks._runner import (
    PAIRED_NOTE,
    fit_timed,
    mean_std_table,
    paired_table,
    save_figure,
    write_report,
)
from skhep_ml import DNNClassifier, PivotClassifier, XGBoostBaseline
from skhep_ml.datasets import make_jet_mass_toy, make_pivot_toy
from skhep_ml.metrics import best_ams, inverse_jsd, r50
from skhep_ml.plotting import DecorrelationTradeoffDisplay, ScoreDistributionDisplay

TASK = "decorrelation"
DNN = "DNN (unconstrained)"
TUNING = (
    "the toy runs PivotClassifier's defaults, chosen by the `pivot_defaults` protocol on "
    "development draws (seeds 100-102), never on the draws reported here. The jets' strengths "
    "(adversary λ 10, 20 and 50, DisCo λ 10, 20 and 30) are a scan reported in full; the DisCo "
    "values and the adversary's 10 and 50 were picked after looking at earlier runs of this task "
    "on seeds 0-2; run with --seeds 3 4 5 (as the committed results are) the jets reported were "
    "not used for that choice, although the headline still names the best setting of the scan. "
    "The unconstrained DNN shares the Pivot rows' network, epochs and batch; XGBoost (300 "
    "trees, defaults otherwise) and hep_ml's uGB (100 trees, depth 4, fl_coefficient 3) got no "
    "scan: the decorrelating baselines had a smaller budget than PivotClassifier."
)
Z_VALUES = (-1.0, 0.0, 1.0)
#: The toy compares PivotClassifier with its defaults (adversary on every
#: event, as the toy needs) against the same classifier with λ = 0.
TOY_METHODS = {
    "λ = 0 (no adversary pressure)": dict(lambda_=0.0),
    "defaults (adversary)": {},
}


def _toy(seed, quick):
    n = 5000 if quick else 20000
    X, y = make_pivot_toy(n, random_state=seed)
    X_te, y_te = make_pivot_toy(n, random_state=seed + 1000)
    at_z = [make_pivot_toy(n, z=z, random_state=seed + 2000) for z in Z_VALUES]
    rows, outputs = [], {}
    quick_params = dict(max_epochs=6, pretrain_epochs=2, adversary_pretrain_epochs=2)
    for name, params in TOY_METHODS.items():
        clf = PivotClassifier(
            protected="z",
            adversary_on="all",
            random_state=seed,
            **params,
            **(quick_params if quick else {}),
        )
        fit_s = fit_timed(clf, X, y)
        outs = [clf.predict_proba(Xz)[:, 1] for Xz, _ in at_z]
        outputs[name] = outs
        means = [o.mean() for o in outs]
        row = {
            "method": name,
            "seed": seed,
            "λ": clf.lambda_,
            "AUC": roc_auc_score(y_te, clf.predict_proba(X_te)[:, 1]),
            "spread of mean output across Z": max(means) - min(means),
            "final L_r": clf.history_[-1]["train_loss_adv"],
            "fit time [s]": fit_s,
        }
        for z, o, (_, yz) in zip(Z_VALUES, outs, at_z):
            w = np.where(yz == 1, 100.0 / (yz == 1).sum(), 1000.0 / (yz == 0).sum())
            row[f"best AMS (Z={z:+g})"] = best_ams(yz, o, sample_weight=w)[0]
        rows.append(row)
        print(
            f"toy seed {seed} {name}: AUC {row['AUC']:.3f}, spread {row['spread of mean output across Z']:.4f}"
        )
    return rows, outputs


def _toy_ratios(toy):
    """Per seed: spread reduction and AUC cost of the defaults against λ = 0."""
    spread = "spread of mean output across Z"
    by = toy.pivot(index="seed", columns="method", values=[spread, "AUC"])
    base, adv = list(TOY_METHODS)
    ratio = by[spread][base] / by[spread][adv]
    cost = by["AUC"][base] - by["AUC"][adv]
    return pd.DataFrame({"spread reduction": ratio, "AUC cost": cost})


def _toy_figure(outputs, out_dir):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(outputs), figsize=(5 * len(outputs), 3.8), sharey=True)
    for ax, (name, outs) in zip(axes, outputs.items()):
        ScoreDistributionDisplay.from_predictions(
            np.concatenate(outs),
            np.repeat(np.arange(len(outs)), [len(o) for o in outs]),
            bins=np.linspace(0, 1, 41),
            labels={i: f"Z = {z:+g}σ" for i, z in enumerate(Z_VALUES)},
            xlabel="f(X)",
            ax=ax,
        )
        ax.set_title(name)
    return save_figure(fig, TASK, "toy", out_dir=out_dir)


#: Strengths scanned on the jets (20: the default).
ADVERSARY_LAMBDAS = (10.0, 20.0, 50.0)
DISCO_LAMBDAS = (10.0, 20.0, 30.0)


def _jet_methods(quick, seed):
    # batches of 1024: DisCo's distance correlation is estimated per minibatch
    nn = dict(
        hidden_layers=(64, 64),
        max_epochs=10 if quick else 30,
        batch_size=512 if quick else 1024,
        random_state=seed,
    )
    methods = {
        DNN: lambda: DNNClassifier(lr=1e-3, **nn),
        "XGBoost": lambda: XGBoostBaseline(n_estimators=300, n_jobs=1, random_state=seed),
    }
    for lam in ADVERSARY_LAMBDAS:
        methods[f"Pivot adversary λ={lam:g}"] = lambda lam=lam: PivotClassifier(
            protected="mass", method="adversary", lambda_=lam, adversary_steps=2, **nn
        )
    for lam in DISCO_LAMBDAS:
        methods[f"Pivot DisCo λ={lam:g}"] = lambda lam=lam: PivotClassifier(
            protected="mass", method="disco", lambda_=lam, **nn
        )
    return methods


def _hep_ml_ugb(features, seed, quick):
    """hep_ml's mass-flat BDT, or the reason it cannot run."""
    try:
        from hep_ml.gradientboosting import UGradientBoostingClassifier
        from hep_ml.losses import BinFlatnessLossFunction
    except ImportError as error:  # pragma: no cover - depends on the environment
        return None, f"hep_ml is not installed ({error}); `pip install skhep_ml[hepml]`"
    loss = BinFlatnessLossFunction(["mass"], uniform_label=0, n_bins=15, fl_coefficient=3.0)
    return (
        UGradientBoostingClassifier(
            loss=loss,
            n_estimators=50 if quick else 100,
            max_depth=4,
            train_features=list(features),
            random_state=seed,
        ),
        None,
    )


def _jets(seed, quick):
    n_train = 10_000 if quick else 50_000
    n_test = 50_000 if quick else 200_000
    X, y = make_jet_mass_toy(n_train + n_test, random_state=seed)
    X_tr, y_tr, X_te, y_te = X.iloc[:n_train], y[:n_train], X.iloc[n_train:], y[n_train:]
    features = [c for c in X.columns if c != "mass"]
    mass = X_te["mass"].to_numpy()
    rows, notes = [], []
    methods = _jet_methods(quick, seed)
    ugb, why = _hep_ml_ugb(features, seed, quick)
    if ugb is not None:
        methods["hep_ml uGB (BinFlatness)"] = lambda: ugb
    else:
        notes.append(f"hep_ml uGB not run: {why}")
    for name, make in methods.items():
        est = make()
        sees_mass = isinstance(est, PivotClassifier) or name.startswith("hep_ml")
        X_fit, X_eval = (X_tr, X_te) if sees_mass else (X_tr[features], X_te[features])
        fit_s = fit_timed(est, X_fit, y_tr)
        score = est.predict_proba(X_eval)[:, 1]
        row = {
            "method": name,
            "seed": seed,
            "R50": r50(y_te, score),
            "1/JSD": inverse_jsd(y_te, score, mass),
            "AUC": roc_auc_score(y_te, score),
            "fit time [s]": fit_s,
        }
        rows.append(row)
        print(f"jets {name}: R50 {row['R50']:.1f}, 1/JSD {row['1/JSD']:.1f}, fit {fit_s:.0f} s")
    return rows, notes


def _jet_figure(df, out_dir):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5))
    for family, marker in [
        ("DNN", "o"),
        ("XGBoost", "s"),
        ("Pivot adversary", "^"),
        ("Pivot DisCo", "v"),
        ("hep_ml", "D"),
    ]:
        sel = df[df["method"].str.startswith(family)]
        if len(sel):
            DecorrelationTradeoffDisplay(
                background_rejection=sel["R50"],
                inverse_jsd=sel["1/JSD"],
                point_labels=[m.split(" ")[-1] for m in sel["method"]],
                name=family,
            ).plot(ax=ax, marker=marker)
    dnn = df[df["method"] == DNN]
    if len(dnn):  # the target: 1/JSD >= 5x and R50 >= half of the DNN's
        ax.axvline(5 * dnn["1/JSD"].iloc[0], color="grey", ls="--", lw=1)
        ax.axhline(0.5 * dnn["R50"].iloc[0], color="grey", ls="--", lw=1, label="target")
    ax.set_title("W vs QCD jet toy: performance vs mass decorrelation")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, TASK, "jets", out_dir=out_dir)


def _passes(jets):
    """Pivot rows with 1/JSD >= 5x and R50 >= half of the unconstrained DNN's (same seed)."""
    dnn = jets[jets["method"] == DNN].set_index("seed")
    piv = jets[jets["method"].str.startswith("Pivot")].copy()
    piv["1/JSD gain"] = piv["1/JSD"].to_numpy() / dnn.loc[piv["seed"], "1/JSD"].to_numpy()
    piv["R50 kept"] = piv["R50"].to_numpy() / dnn.loc[piv["seed"], "R50"].to_numpy()
    piv["passes"] = (piv["1/JSD gain"] >= 5) & (piv["R50 kept"] >= 0.5)
    return piv


def run(args):
    toy_rows = []
    for s in args.seeds:
        rows, outputs = _toy(s, args.quick)
        toy_rows += rows
        if s == args.seeds[0]:
            _toy_figure(outputs, args.out_dir)
    jet_rows, notes = [], []
    for s in args.seeds:
        rows, notes = _jets(s, args.quick)
        jet_rows += rows
    jets = pd.DataFrame(jet_rows)
    means = jets.groupby("method", sort=False).mean(numeric_only=True).reset_index()
    _jet_figure(means, args.out_dir)

    toy = pd.DataFrame(toy_rows)
    ratios = _toy_ratios(toy)
    toy_lines = [
        f"- Toy, PivotClassifier defaults (λ = {toy['λ'].iloc[-1]:g}, cosine lr, adversary on all "
        f"events) against λ = 0, per seed: spread of the mean output across Z reduced "
        + ", ".join(f"{r:.1f}x" for r in ratios["spread reduction"])
        + " (target ≥ 5x), AUC cost "
        + ", ".join(f"{c:.3f}" for c in ratios["AUC cost"])
        + f" (target ≤ 0.05); mean {ratios['spread reduction'].mean():.1f}x at "
        f"{ratios['AUC cost'].mean():.3f}: both met on "
        f"{int(((ratios['spread reduction'] >= 5) & (ratios['AUC cost'] <= 0.05)).sum())} of "
        f"{len(ratios)} seeds"
    ]
    dnn = means[means["method"] == DNN].iloc[0]
    piv = _passes(jets)
    per_method = piv.groupby("method", sort=False).agg(
        gain=("1/JSD gain", "mean"), kept=("R50 kept", "mean"), seeds=("passes", "sum")
    )
    n_seeds = len(args.seeds)
    ok = per_method[per_method["seeds"] == n_seeds]
    criteria = [
        *toy_lines,
        f"- Jets ({n_seeds} seeds): unconstrained DNN R50 = {dnn['R50']:.1f}, "
        f"1/JSD = {dnn['1/JSD']:.1f} (means). PivotClassifier settings with 1/JSD ≥ 5x the "
        f"DNN's and R50 ≥ half of it in every seed: "
        + (
            ", ".join(f"**{m}** (1/JSD x{r.gain:.1f}, R50 x{r.kept:.2f})" for m, r in ok.iterrows())
            if len(ok)
            else "**none**"
        )
        + ".",
        "- Every PivotClassifier setting, mean over seeds (seeds passing both targets): "
        + "; ".join(
            f"{m}: 1/JSD x{r.gain:.1f}, R50 x{r.kept:.2f} ({int(r.seeds)}/{n_seeds})"
            for m, r in per_method.iterrows()
        )
        + ".",
        *[f"- {n}" for n in notes],
    ]
    pivots = list(dict.fromkeys(r["method"] for r in jet_rows if r["method"].startswith("Pivot")))
    paired = [(m, name, DNN) for name in pivots for m in ("1/JSD", "R50", "AUC")]
    meta = {"toy seeds": list(args.seeds), "jet seeds": list(args.seeds), "quick": args.quick}
    records = {"toy": toy_rows, "jets": jet_rows}
    write_report(
        TASK,
        [
            ("Acceptance numbers", "\n".join(criteria)),
            ("Toy (arXiv:1611.01046): output vs nuisance Z, per seed", toy),
            ("Toy: the defaults against λ = 0, per seed", ratios.reset_index()),
            (
                "W vs QCD jets: R50 vs 1/JSD (mean ± std over seeds)",
                mean_std_table([{k: v for k, v in r.items() if k != "seed"} for r in jet_rows]),
            ),
            (
                "W vs QCD jets: paired differences per seed, Pivot minus unconstrained DNN",
                [PAIRED_NOTE, paired_table(jet_rows, paired)],
            ),
            (
                "Figures",
                f"![toy]({TASK}_toy.png)\n\n![jets]({TASK}_jets.png)",
            ),
        ],
        out_dir=args.out_dir,
        records=records,
        meta=meta,
        tuning=TUNING,
        headline=headline(records, meta),
    )


def headline(records, meta):
    """The task's line in the README's results table (from the JSON's records)."""
    jets = pd.DataFrame(records["jets"])
    piv = _passes(jets)
    per = piv.groupby("method", sort=False).agg(
        gain=("1/JSD gain", "mean"), kept=("R50 kept", "mean"), seeds=("passes", "sum")
    )
    n = jets["seed"].nunique()
    ok = per[per["seeds"] == n]
    adversary = per[per.index.str.startswith("Pivot adversary")]
    parts = []
    if len(ok):  # of the settings passing in every seed, the one keeping most R50
        best = ok["kept"].idxmax()
        parts.append(
            f"W vs QCD jets ({n} seeds): {best} gives {ok.loc[best, 'gain']:.1f}x the "
            f"unconstrained DNN's 1/JSD at {ok.loc[best, 'kept']:.2f} of its R50 (both targets "
            f"met in every seed; best of a scan on the test jets)"
        )
    else:
        parts.append(
            f"W vs QCD jets ({n} seeds): no Pivot setting meets both targets in every seed"
        )
    if len(adversary):
        parts.append(f"the adversary reaches at most {adversary['gain'].max():.1f}x")
    toy = pd.DataFrame(records["toy"])
    if "λ" in toy:  # results from before the toy ran the defaults per seed lack it
        ratios = _toy_ratios(toy)
        both = (ratios["spread reduction"] >= 5) & (ratios["AUC cost"] <= 0.05)
        parts.append(
            f"on the 2D toy the defaults (λ {toy['λ'].iloc[-1]:g}) shrink the output's spread "
            "across Z "
            + ", ".join(f"{r:.1f}x" for r in ratios["spread reduction"])
            + " for AUC losses of "
            + ", ".join(f"{c:.3f}" for c in ratios["AUC cost"])
            + f" (target 5x at <= 0.05: met on {int(both.sum())} of {len(ratios)} seeds)"
        )
    return {
        "scope": "`decorrelation`",
        "text": "; ".join(parts),
        "numbers": {
            "jets, mean over seeds (1/JSD gain, R50 kept, seeds passing)": per.to_dict("index"),
            "toy": toy.drop(columns="seed").to_dict("records"),
        },
    }
