"""Benchmark `cwola`: CWoLa hunting on `make_dijet_resonance` and on the LHC Olympics R&D set.

Simulated part (per seed): a QCD dijet spectrum with a W' (3.5 TeV) -> X Y
resonance injected at S/B = 0, 0.5 %, 1 % and 2 % in the signal region
3.3-3.7 TeV. For each S/B:

- CWoLa (``CWoLaClassifier.fit(X)``: signal region against the 0.2 TeV
  sidebands, nested 5-fold) and the bump-hunt local significance of the
  injected window with and without the CWoLa cut;
- CATHODE (``CWoLaClassifier(background="interpolated")``: a conditional flow
  fitted to every event outside the signal region, sampled at the
  signal-region masses, as the background template), with the same bump hunt;
- the idealised anomaly detector: the same classifier trained on the
  signal-region data against a pure background sample of the signal region
  (``fit(X, y)``), what CWoLa would reach with perfect sidebands;
- a fully supervised classifier (signal against background labels), the
  upper bound, trained once per seed.

The SIC curves are measured on an independent labelled test sample of the
signal region. On background only (S/B = 0), the full scan of windows is
repeated over several seeds (CATHODE: on three non-overlapping windows):
the distribution of local significances after each cut is the false bump
rate. The inner classifier is CWoLaClassifier's default (boosted trees chosen
by `cwola_defaults`).

LHC Olympics 2020 R&D events (Pythia + Delphes simulation, signal region only): CWoLa between the
data sample (subset "data", S/B about 0.66 %) and a background-only sample made
from the background rows of subset "data_test", scored on the labelled subset
"test". Removing the 377 signal rows of "data_test" uses the truth label, so
the reference is a perfect background template: this is the idealised
anomaly detector of the CATHODE paper, not a data-driven background estimate
(the sidebands that a real CWoLa hunt would use are not in the stored subset).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.stats import norm, poisson

from benchmarks._runner import (
    PAIRED_NOTE,
    fit_timed,
    mean_std_table,
    paired_table,
    require_data,
    save_figure,
    write_report,
)
from skhep_ml import CWoLaClassifier, FlowAnomalyDetector
from skhep_ml.cwola import default_estimator
from skhep_ml.datasets import load_lhco_rnd, make_dijet_resonance
from skhep_ml.metrics import max_sic, sic_curve
from skhep_ml.plotting import BumpHuntDisplay, ScoreDistributionDisplay, SICCurveDisplay

TASK = "cwola"
SR = (3.3, 3.7)
SIDEBAND = 0.2
MJJ_RANGE = (2.8, 4.6)
EDGES = np.round(np.arange(2.8, 4.6001, 0.1), 3)
SB_LEVELS = (0.0, 0.005, 0.01, 0.02)
EFFICIENCIES = (1.0, 0.1, 0.01, 0.002)
FEATURES = ["mj1", "delta_mj", "tau21_j1", "tau21_j2"]
MIN_BKG_EVENTS = 25  # SIC only where >= 25 test background events pass (20 % stat. error)
TUNING = (
    "no tuning in this task: every classifier (CWoLa's and CATHODE's inner one, the idealised "
    "anomaly detector, the supervised bound) is CWoLaClassifier's default inner classifier, "
    "chosen beforehand by the `cwola_defaults` protocol on development events (dijet seeds "
    "100+, LHCO scored without the test subset); CATHODE's density is FlowAnomalyDetector() "
    "with the defaults of the `anomaly_defaults` protocol; the signal region, sidebands, bins "
    "and efficiencies are fixed by the injected signal, not scanned. Same budget for every row."
)


#: Non-overlapping windows of the background-only scan with the interpolated template.
NULL_WINDOWS_INTERPOLATED = [(3.0, 3.4), (3.4, 3.8), (3.8, 4.2)]
#: Background-only seeds scanned with the interpolated template (a flow per window and seed).
N_NULL_SEEDS_INTERPOLATED = 2


def sizes(quick):
    """(background events over the full mjj range, test events per class, null seeds, folds)."""
    # full size: CWoLaClassifier's default number of folds (chosen by `cwola_folds`)
    return (60_000, 20_000, 2, 3) if quick else (100_000, 50_000, 2, CWoLaClassifier().n_folds)


def _supervised(seed=0):
    # the same classifier as CWoLa's default inner one, on truth labels
    return default_estimator(random_state=seed)


def _cwola(n_folds, seed, **kw):
    return CWoLaClassifier(
        signal_region=SR,
        sideband_width=SIDEBAND,
        n_folds=n_folds,
        random_state=seed,
        **kw,
    )


def _cathode(n_folds, seed, quick=False):
    # CATHODE: the sidebands are every event outside the signal region (sideband_width=None)
    density = FlowAnomalyDetector(max_epochs=10, verbose=0) if quick else None
    return CWoLaClassifier(
        signal_region=SR,
        background="interpolated",
        density_estimator=density,
        n_folds=n_folds,
        random_state=seed,
    )


def _in_sr(X):
    return ((X.mjj >= SR[0]) & (X.mjj < SR[1])).to_numpy()


def inject_signal(background, s_over_b, seed):
    """Background plus signal at S/B (counted in the signal region)."""
    n_sr = int(_in_sr(background).sum())
    # the fraction of signal inside the window (Gaussian peak, 3 % resolution)
    frac = norm.cdf(0.2 / (0.03 * 3.5)) - norm.cdf(-0.2 / (0.03 * 3.5))
    n_sig = round(s_over_b * n_sr / frac)
    if n_sig == 0:
        return background, np.zeros(len(background), dtype=int)
    Xs, _ = make_dijet_resonance(0, n_sig, mjj_range=MJJ_RANGE, random_state=seed + 7919)
    X = pd.concat([background, Xs], ignore_index=True)
    return X, np.r_[np.zeros(len(background), dtype=int), np.ones(n_sig, dtype=int)]


def _sic(y, score, n_bkg):
    """Max SIC where >= 25 test background events pass, at eps_B >= 1e-3 and >= 1e-4."""
    return dict(
        max_sic=max_sic(y, score, min_background_efficiency=MIN_BKG_EVENTS / n_bkg),
        max_sic_eB_1e3=max_sic(y, score, min_background_efficiency=1e-3),
        max_sic_eB_1e4=max_sic(y, score, min_background_efficiency=1e-4),
    )


def _hunt_row(method, est_factory, X, y, Xt, yt, sb, seed, n_test):
    """Fit by a bump hunt of the injected window; SIC on the test sample and Z per cut."""
    start = time.perf_counter()
    res = est_factory().bump_hunt(X, efficiencies=EFFICIENCIES, bins=EDGES, windows=[SR])
    seconds = time.perf_counter() - start
    est = res.estimators[0]
    score = est.predict_proba(Xt)[:, 1]
    row = dict(method=method, s_over_b=sb, seed=seed, **_sic(yt, score, n_test))
    row["n_signal_sr"] = int(y[_in_sr(X)].sum())
    row["n_background_sr"] = int((1 - y[_in_sr(X)]).sum())
    for _, r in res.table.iterrows():
        row[f"Z_eps{r.efficiency:g}"] = r.significance
        row[f"fit_pvalue_eps{r.efficiency:g}"] = getattr(
            res.fits[0, r.efficiency], "pvalue", np.nan
        )
    row["fit_seconds"] = seconds
    return row, score, res


def _supervised_row(method, background, signal, X_test, y_test, n_bkg_test, seed):
    """The supervised bound: background rows against pure signal, scored on the test set."""
    X = pd.concat([background[FEATURES], signal[FEATURES]], ignore_index=True)
    y = np.r_[np.zeros(len(background)), np.ones(len(signal))]
    sup = _supervised(seed)
    fit_s = fit_timed(sup, X, y)
    score = sup.predict_proba(X_test[FEATURES])[:, 1]
    row = dict(method=method, s_over_b=np.nan, seed=seed, **_sic(y_test, score, n_bkg_test))
    return {**row, "fit_seconds": fit_s}, score


def _simulated(args, n_bkg, n_test, n_folds, records, curves, hunts):
    for seed in args.seeds:
        background, _ = make_dijet_resonance(n_bkg, 0, mjj_range=MJJ_RANGE, random_state=seed)
        Xt, yt = make_dijet_resonance(n_test, n_test, mjj_range=SR, random_state=seed + 100)
        reference, _ = make_dijet_resonance(n_bkg, 0, mjj_range=MJJ_RANGE, random_state=seed + 200)
        reference = reference[_in_sr(reference)]
        # supervised upper bound: signal-region background against pure signal
        Xs, _ = make_dijet_resonance(0, 20_000, mjj_range=SR, random_state=seed + 300)
        row, score = _supervised_row("supervised", reference, Xs, Xt, yt, n_test, seed)
        records.append(row)
        curves.setdefault(("supervised", np.nan), sic_curve(yt, score))
        for sb in SB_LEVELS:
            X, y = inject_signal(background, sb, seed)
            for method, factory in (
                ("CWoLa", lambda seed=seed: _cwola(n_folds, seed)),
                ("CATHODE", lambda seed=seed: _cathode(n_folds, seed, args.quick)),
            ):
                row, score, res = _hunt_row(method, factory, X, y, Xt, yt, sb, seed, n_test)
                records.append(row)
                curves.setdefault((method, sb), sic_curve(yt, score))
                hunts.setdefault((method, sb), res)
                print(f"seed {seed} S/B {sb} {method}: {row}", flush=True)
            # idealised anomaly detector: signal-region data against pure background
            data_sr = X[_in_sr(X)]
            ref = reference.iloc[: len(data_sr)]
            ideal = CWoLaClassifier(n_folds=n_folds, random_state=seed)
            fit_s = fit_timed(
                ideal,
                pd.concat([data_sr, ref], ignore_index=True),
                np.r_[np.ones(len(data_sr)), np.zeros(len(ref))],
            )
            score = ideal.predict_proba(Xt)[:, 1]
            records.append(
                dict(
                    method="idealised AD",
                    s_over_b=sb,
                    seed=seed,
                    **_sic(yt, score, n_test),
                    fit_seconds=fit_s,
                )
            )
            curves.setdefault(("idealised AD", sb), sic_curve(yt, score))


def _null_scan(args, n_bkg, n_null, n_folds):
    """Background only: CWoLa's full window scan over several seeds, and the interpolated
    template on non-overlapping windows (a density fit per window costs minutes)."""
    rows = []
    for i in range(n_null):
        seed = 1000 + i
        X, _ = make_dijet_resonance(n_bkg, 0, mjj_range=MJJ_RANGE, random_state=seed)
        res = _cwola(n_folds, seed).bump_hunt(
            X, efficiencies=EFFICIENCIES, bins=EDGES, window_bins=4
        )
        rows.append(res.table.assign(seed=seed, method="CWoLa"))
        if i < N_NULL_SEEDS_INTERPOLATED:
            for lo, hi in NULL_WINDOWS_INTERPOLATED:
                est = _cathode(n_folds, seed, args.quick).set_params(signal_region=(lo, hi))
                res = est.bump_hunt(X, efficiencies=EFFICIENCIES, bins=EDGES, windows=[(lo, hi)])
                rows.append(res.table.assign(seed=seed, method="CATHODE"))
        t = pd.concat(rows[-4:])
        print(
            f"null seed {seed}: max Z per method and efficiency",
            t.groupby(["method", "efficiency"]).significance.max().round(2).to_dict(),
            flush=True,
        )
    return pd.concat(rows, ignore_index=True)


def _false_bump_table(null):
    out = []
    for (method, eff), g in null.groupby(["method", "efficiency"], sort=False):
        z = g.significance.to_numpy()
        n_over = int((z > 3).sum())
        expected = len(z) * norm.sf(3)
        out.append(
            dict(
                method=method,
                efficiency=eff,
                windows_x_seeds=len(z),
                mean_Z=z.mean(),
                std_Z=z.std(ddof=1),
                max_Z=z.max(),
                frac_Z_gt_2=(z > 2).mean(),
                expected_frac_gt_2=norm.sf(2),
                n_Z_gt_3=n_over,
                expected_n_gt_3=expected,
                p_value_n_gt_3=poisson.sf(n_over - 1, expected) if n_over else 1.0,
            )
        )
    return pd.DataFrame(out)


def _lhco(args, n_folds, records, curves):
    path = require_data(args, "lhco2020_rnd_signal_region")
    if path is None:
        return None
    data, _ = load_lhco_rnd(path, subset="data", return_X_y=True)
    other, y_other = load_lhco_rnd(path, subset="data_test", return_X_y=True)
    test, y_test = load_lhco_rnd(path, subset="test", return_X_y=True)
    signal, _ = load_lhco_rnd(path, subset="extrasig", return_X_y=True)  # test overlap removed
    reference = other[y_other.to_numpy() == 0]
    if args.quick:
        data, reference = data.iloc[:20_000], reference.iloc[:20_000]
    n_bkg_test = int((y_test == 0).sum())
    X = pd.concat([data, reference], ignore_index=True)
    y = np.r_[np.ones(len(data)), np.zeros(len(reference))]
    n_sig = min(len(signal), len(reference))
    for seed in args.seeds:
        # CWoLa with its defaults: data against the background-only sample (idealised)
        cw = CWoLaClassifier(mass="mjj", n_folds=n_folds, random_state=seed).fit(X, y)
        score = cw.predict_proba(test)[:, 1]
        records.append(
            dict(
                method="CWoLa data vs bkg (LHCO)",
                s_over_b=0.0066,
                seed=seed,
                **_sic(y_test, score, n_bkg_test),
                fit_seconds=cw.fit_time_,
            )
        )
        curves.setdefault(("LHCO CWoLa data vs bkg", 0.0066), sic_curve(y_test, score))
        # supervised: extra signal against the same background rows
        row, score = _supervised_row(
            "supervised (LHCO)", reference, signal.iloc[:n_sig], test, y_test, n_bkg_test, seed
        )
        records.append(row)
        curves.setdefault(("LHCO supervised", np.nan), sic_curve(y_test, score))
        print(f"LHCO seed {seed}: {records[-2]}", flush=True)
    return dict(
        n_data=len(data), n_reference=len(reference), n_signal_train=n_sig, n_test_bkg=n_bkg_test
    )


def _plots(args, curves, hunts, null, scan):
    import matplotlib.pyplot as plt

    style = {"CWoLa": "-", "CATHODE": "-.", "idealised AD": "--", "supervised": ":"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, sb in zip(axes, (0.005, 0.01)):
        for (method, level), (eps_s, sic) in curves.items():
            if method.startswith("LHCO") or (method != "supervised" and level != sb):
                continue
            SICCurveDisplay(signal_efficiency=eps_s, sic=sic, name=method).plot(
                ax=ax, ls=style[method]
            )
        ax.set_title(f"make_dijet_resonance, S/B = {sb:.1%} (first seed)")
    save_figure(fig, TASK, "sic", out_dir=args.out_dir)

    lhco = {k: v for k, v in curves.items() if k[0].startswith("LHCO")}
    if lhco:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        for (method, _), (eps_s, sic) in lhco.items():
            SICCurveDisplay(signal_efficiency=eps_s, sic=sic, name=method[5:]).plot(ax=ax)
        ax.set_title("LHC Olympics R&D, signal region, labelled test set (first seed)")
        save_figure(fig, TASK, "lhco_sic", out_dir=args.out_dir)

    if ("CWoLa", 0.01) in hunts:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
        for ax, method in zip(axes, ("CWoLa", "CATHODE")):
            BumpHuntDisplay.from_result(hunts[method, 0.01], window=0, ax=ax, xlabel="m_jj [TeV]")
            ax.set_title(f"S/B = 1 % in 3.3-3.7 TeV: spectra after the {method} cuts")
        save_figure(fig, TASK, "spectra_sb1pct", out_dir=args.out_dir)

    # left: the scan with the 1 % signal (spectra, pulls, significance per window);
    # right: the local significances of the background-only scans against N(0, 1)
    fig = plt.figure(figsize=(13, 7.2))
    grid = fig.add_gridspec(3, 2, height_ratios=[3, 1, 1.5], hspace=0.05, wspace=0.25)
    left = [fig.add_subplot(grid[0, 0])]
    left += [fig.add_subplot(grid[i, 0], sharex=left[0]) for i in (1, 2)]
    scan_disp = BumpHuntDisplay.from_result(scan, ax=left, xlabel="m_jj [TeV]")
    scan_disp.ax_[2].axhline(3, color="grey", ls=":")
    for ax in scan_disp.ax_:
        ax.axvline(3.5, color="grey", ls="--")
    scan_disp.ax_[0].set_title("CWoLa scan, S/B = 1 % injected at 3.5 TeV (dashed)")
    cut = null[null.efficiency < 1]
    null_disp = ScoreDistributionDisplay.from_predictions(
        cut.significance,
        cut.method + ", ε = " + cut.efficiency.map("{:g}".format),
        bins=np.linspace(-4, 4, 17),
        xlabel="local significance [σ]",
        name="background only, after the cuts",
        ax=fig.add_subplot(grid[:, 1]),
    )
    for line, label in zip(null_disp.lines_, null_disp.labels):
        line.set_linestyle("-" if label.startswith("CWoLa") else "--")
    z = np.linspace(-4, 4, 200)
    null_disp.ax_.plot(z, norm.pdf(z), "k--", label="N(0, 1)")
    null_disp.ax_.legend(fontsize="x-small")
    save_figure(fig, TASK, "scan_and_null", out_dir=args.out_dir)


def run(args):
    n_bkg, n_test, n_null, n_folds = sizes(args.quick)
    records, curves, hunts = [], {}, {}
    # LHCO first: its fit time is a target, measured before anything else loads the machine
    lhco_meta = _lhco(args, n_folds, records, curves)
    _simulated(args, n_bkg, n_test, n_folds, records, curves, hunts)

    # a full scan with the 1 % signal (first seed) and the background-only scans
    X, _ = inject_signal(
        make_dijet_resonance(n_bkg, 0, mjj_range=MJJ_RANGE, random_state=args.seeds[0])[0],
        0.01,
        args.seeds[0],
    )
    scan = _cwola(n_folds, args.seeds[0]).bump_hunt(
        X, efficiencies=EFFICIENCIES, bins=EDGES, window_bins=4
    )
    null = _null_scan(args, n_bkg, n_null, n_folds)
    _plots(args, curves, hunts, null, scan)

    df = pd.DataFrame(records)
    sim = df[~df.method.str.contains("LHCO")]
    sic_cols = ["max_sic", "max_sic_eB_1e3", "max_sic_eB_1e4", "fit_seconds"]
    sic_table = mean_std_table(
        sim[["method", "s_over_b", *sic_cols]].assign(
            s_over_b=sim.s_over_b.map(lambda v: "–" if np.isnan(v) else f"{v:.1%}")
        ),
        by=["method", "s_over_b"],
    )
    zcols = [f"Z_eps{e:g}" for e in EFFICIENCIES]
    hunted = sim[sim.method.isin(["CWoLa", "CATHODE"])].copy()
    z_table = mean_std_table(
        hunted[
            ["method", "s_over_b", "n_signal_sr", "n_background_sr", *zcols, "fit_seconds"]
        ].assign(s_over_b=hunted.s_over_b.map(lambda v: f"{v:.1%}")),
        by=["method", "s_over_b"],
    )
    pcols = [c for c in hunted.columns if c.startswith("fit_pvalue_eps")]
    fit_quality = None
    if pcols and hunted[pcols].notna().any().any():
        fit_quality = mean_std_table(
            hunted[["method", "s_over_b", *pcols]].assign(
                s_over_b=hunted.s_over_b.map(lambda v: f"{v:.1%}")
            ),
            by=["method", "s_over_b"],
        )
    false_bumps = _false_bump_table(null)
    sections = [
        ("Targets of issue 13", _targets(df, false_bumps)),
        (
            "Maximum SIC on the signal-region test sample (mean ± std over seeds; max_sic: "
            "where at least 25 test background events pass; max_sic_eB_1e3 / _1e4: where "
            "eps_B >= 1e-3 / 1e-4)",
            sic_table,
        ),
        (
            "Local significance of the injected window 3.3-3.7 TeV, without (ε = 1) and "
            "with the cut on the classifier",
            z_table,
        ),
    ]
    if fit_quality is not None:
        sections.append(
            (
                "Quality of the sideband fit of the injected window (goodness-of-fit p-value "
                "of the dijet function, per cut)",
                fit_quality,
            )
        )
    sections += [
        ("False bumps: background only, every window and seed", false_bumps),
        ("CWoLa scan with S/B = 1 % (first seed)", scan.table.round(3)),
    ]
    if lhco_meta is not None:
        lhco = mean_std_table(
            df[df.method.str.contains("LHCO")][["method", *sic_cols]], by="method"
        )
        sections.append(
            ("LHC Olympics R&D (signal region), labelled test set (mean ± std over seeds)", lhco)
        )
    sections.append(("Verdict", _verdict(hunted, false_bumps, df)))
    labelled, paired = _paired_records(records)
    sections.append(
        (
            "Paired differences per seed (simulation), max_sic",
            [PAIRED_NOTE, paired_table(labelled, paired)],
        )
    )
    sections.append(("Notes", NOTES))
    all_records = {
        "records": records,
        "null_scan": null.to_dict("records"),
        "scan_sb1pct": scan.table.to_dict("records"),
    }
    meta = dict(
        quick=args.quick,
        seeds=args.seeds,
        background_events=n_bkg,
        test_events_per_class=n_test,
        null_seeds=n_null,
        n_folds=n_folds,
        inner_estimator=f"CWoLaClassifier's default: {default_estimator()!r}",
        density_estimator="FlowAnomalyDetector() defaults (MAF 8 x (128, 128))",
        signal_region=SR,
        sideband_width=SIDEBAND,
        cathode_sidebands="every event outside the signal region (2.8-3.3 and 3.7-4.6 TeV)",
        bins=f"{EDGES[0]}-{EDGES[-1]} TeV, 0.1 TeV",
        sic_min_background_events=MIN_BKG_EVENTS,
        lhco=lhco_meta,
    )
    write_report(
        TASK,
        sections,
        out_dir=args.out_dir,
        records=all_records,
        meta=meta,
        tuning=TUNING,
        headline=headline(all_records, meta),
    )


def _label(method, s_over_b):
    return method if np.isnan(s_over_b) else f"{method}, S/B {s_over_b:.1%}"


def _paired_records(records):
    """Simulation records labelled by method and S/B, and the comparisons of the report:
    CWoLa and CATHODE at every S/B against the idealised detector, CWoLa against CATHODE."""
    labelled = [
        {**r, "method": _label(r["method"], float(r["s_over_b"]))}
        for r in records
        if "LHCO" not in r["method"]
    ]
    paired = []
    for sb in SB_LEVELS[1:]:
        for method in ("CWoLa", "CATHODE"):
            paired.append(("max_sic", _label(method, sb), _label("idealised AD", sb)))
        paired.append(("max_sic", _label("CATHODE", sb), _label("CWoLa", sb)))
    return labelled, paired


def _ratios(df, method, levels=(0.005, 0.01)):
    """Per seed: max SIC of ``method`` over the idealised detector's, at each S/B."""
    sim = df[~df.method.str.contains("LHCO")]
    out = {}
    for sb in levels:
        at = sim[np.isclose(sim.s_over_b.astype(float), sb)]
        a = at[at.method == method].set_index("seed").max_sic
        b = at[at.method == "idealised AD"].set_index("seed").max_sic
        out[sb] = (a / b).dropna()
    return out


def _targets(df, false_bumps):
    lines = []
    lhco = df[df.method == "CWoLa data vs bkg (LHCO)"]
    if len(lhco):
        sic, t = lhco.max_sic_eB_1e3, lhco.fit_seconds
        ok = sic.mean() >= 10 and t.max() <= 600
        lines.append(
            f"- LHCO signal region, CWoLa defaults, {int(lhco.seed.nunique())} seeds: max SIC "
            f"(eps_B >= 1e-3) {sic.mean():.1f} ± {sic.std():.1f} (min {sic.min():.1f}; target "
            f">= 10), fit {t.mean():.0f} s (max {t.max():.0f} s; target <= 600 s, goal 120 s): "
            f"**{'met' if ok else 'MISSED'}**."
        )
    for sb, r in _ratios(df, "CATHODE").items():
        lines.append(
            f"- make_dijet_resonance, S/B {sb:.1%}: CATHODE max SIC / idealised max SIC per "
            f"seed {np.round(r.to_numpy(), 2).tolist()}, mean {r.mean():.2f} (target >= 0.8): "
            f"**{'met' if r.mean() >= 0.8 else 'MISSED'}**."
        )
    cut = false_bumps[(false_bumps.efficiency < 1) & (false_bumps.method == "CATHODE")]
    if len(cut):
        n, exp = int(cut.n_Z_gt_3.sum()), float(cut.expected_n_gt_3.sum())
        p = poisson.sf(n - 1, exp) if n else 1.0
        lines.append(
            f"- Background only, CATHODE, after the cuts: {n} window(s) above 3σ out of "
            f"{int(cut.windows_x_seeds.sum())} ({exp:.2f} expected by chance, Poisson p = "
            f"{p:.2f}): **{'met' if p > 0.05 else 'MISSED'}** (no more than chance)."
        )
    lines.append(
        "- `GridSearchCV(CWoLaClassifier(...)).fit(X)` gives finite scores: shown in the "
        "docstring of `CWoLaClassifier` (a doctest) and in "
        "`tests/test_cwola.py::test_score_is_the_mixed_sample_auc_and_grid_search_runs_on_fit_X`."
    )
    return "\n".join(lines)


def headline(records, meta):
    """The task's line in the README's results table (from the JSON's records)."""
    df = pd.DataFrame(records["records"])
    sim = df[~df.method.str.contains("LHCO")]
    one = sim[(sim.method == "CWoLa") & np.isclose(sim.s_over_b.astype(float), 0.01)]
    cat = sim[(sim.method == "CATHODE") & np.isclose(sim.s_over_b.astype(float), 0.01)]
    zcols = [c for c in one.columns if c.startswith("Z_eps") and c != "Z_eps1"]
    null = pd.DataFrame(records["null_scan"])
    cut = null[null.efficiency < 1]
    n_over = int((cut.significance > 3).sum())
    ratio = _ratios(df, "CATHODE", (0.01,))[0.01]
    parts = [
        f"S/B = 1%: local significance {one.Z_eps1.mean():.1f}σ → "
        f"{one[zcols].max(axis=1).mean():.1f}σ (CWoLa) / {cat[zcols].max(axis=1).mean():.1f}σ "
        f"(CATHODE) after the best cut ({len(one)} seeds); CATHODE reaches "
        f"{ratio.mean():.0%} of the idealised max SIC; background only: {n_over} of "
        f"{len(cut)} windows above 3σ"
    ]
    lhco = df[df.method == "CWoLa data vs bkg (LHCO)"]
    if len(lhco):
        parts.append(
            f"LHCO max SIC (eps_B >= 1e-3) {lhco.max_sic_eB_1e3.mean():.1f} in "
            f"{lhco.fit_seconds.mean():.0f} s (supervised "
            f"{df[df.method == 'supervised (LHCO)'].max_sic_eB_1e3.mean():.1f}; idealised "
            "background template)"
        )
    return {
        "scope": "`cwola`",
        "text": "; ".join(parts),
        "numbers": {
            "Z without cut, S/B 1%": float(one.Z_eps1.mean()),
            "Z best CWoLa cut, S/B 1%": float(one[zcols].max(axis=1).mean()),
            "Z best CATHODE cut, S/B 1%": float(cat[zcols].max(axis=1).mean()),
            "CATHODE / idealised max_sic at S/B 1%": float(ratio.mean()),
            "null windows above 3 sigma": n_over,
            "null windows": len(cut),
            "LHCO max_sic_eB_1e3": float(lhco.max_sic_eB_1e3.mean()) if len(lhco) else None,
        },
    }


NOTES = """\
- Inner classifier everywhere (CWoLa, CATHODE, the idealised detector and the supervised
  bound): `CWoLaClassifier`'s default (see the stamp), chosen by the protocol of
  `cwola_defaults` on development events, with its default number of folds (`cwola_folds`);
  nested k-fold: each model trains on k - 2 folds, early-stops on 1, and scores the last.
- CATHODE is `CWoLaClassifier(background="interpolated")`: a conditional flow
  (`FlowAnomalyDetector` defaults, the mass as context) fitted to every event outside the
  signal region, sampled 4 times per signal-region event at the signal-region masses; the
  classifier learns data against this template. CWoLa hunting uses the 0.2 TeV sidebands.
- On this simulation the sidebands are an almost perfect background template (the
  generator's jet masses and tau21 barely depend on mjj), so CWoLa hunting can only lose to
  the idealised anomaly detector by statistics, and CATHODE by the quality of the density.
  Where the features follow the mass, the sidebands stop being a template and the
  interpolation is what works: `tests/test_cwola.py::test_claim_the_interpolated_template_`
  `does_not_learn_the_mass_where_sidebands_do`.
- Background-only scans: CWoLa on every window of 0.4 TeV (sliding by 0.1) for 2 seeds;
  CATHODE on 3 non-overlapping windows for 2 seeds (a flow per window and seed).
- LHC Olympics: the background-only reference is the background rows of "data_test", selected
  with the truth label (377 signal rows removed). That is a perfect background template (the
  idealised anomaly detector of the CATHODE paper), not a data-driven estimate: the shared
  subset has only the signal region, and the sideband files (Zenodo 4536377) cannot be
  downloaded from this machine (no route to zenodo.org), so CWoLa hunting and CATHODE on
  the LHCO sidebands could not be run. The data sample itself is used as it is (S/B about
  0.66 %, labels not used). The supervised classifier trains on "extrasig" (rows shared with
  the test set removed by the loader) against the same background rows.
- The maximum SIC depends on how far into the background tail it may go: `max_sic` needs at
  least 25 test background events to pass (20 % statistical error), `max_sic_eB_1e3` and
  `max_sic_eB_1e4` allow eps_B down to 1e-3 and 1e-4 (4 of the 40,000 LHCO test background
  events). The published values quoted in issue 13 (about 14 for CATHODE and the idealised
  detector, 10.5-11 for CWoLa hunting, 17 supervised) are for neural classifiers with the
  LHCO sidebands and should be read against these columns.
"""


def _verdict(hunted, false_bumps, df):
    lines = []
    for method in ("CWoLa", "CATHODE"):
        one = hunted[(hunted.method == method) & np.isclose(hunted.s_over_b, 0.01)]
        if not len(one):
            continue
        best = one[[c for c in one.columns if c.startswith("Z_eps") and c != "Z_eps1"]].max(axis=1)
        gain = best / one.Z_eps1
        lines.append(
            f"- {method}, S/B = 1 %: local significance without cut {one.Z_eps1.mean():.2f}σ, "
            f"after the best cut {best.mean():.2f}σ; gain {gain.min():.1f}x to "
            f"{gain.max():.1f}x over seeds."
        )
    for method, g in false_bumps[false_bumps.efficiency < 1].groupby("method", sort=False):
        n, exp = int(g.n_Z_gt_3.sum()), float(g.expected_n_gt_3.sum())
        lines.append(
            f"- Background only, {method}, after the cuts: {n} window(s) above 3σ out of "
            f"{int(g.windows_x_seeds.sum())}; {exp:.2f} expected by chance for independent "
            f"N(0, 1) significances (Poisson p = {poisson.sf(n - 1, exp) if n else 1.0:.2f})."
        )
    sic = df.groupby(["method", "s_over_b"], dropna=False, sort=False).max_sic.mean()
    parts = [m if np.isnan(s) else f"{m} at S/B {s:.2%}" for m, s in sic.index]
    lines.append(
        "- Maximum SIC (means): " + ", ".join(f"{p}: {v:.1f}" for p, v in zip(parts, sic)) + "."
    )
    return "\n".join(lines)
