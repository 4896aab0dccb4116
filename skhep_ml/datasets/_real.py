"""Loaders for real public benchmark datasets, read from a path.

The data files are never shipped with skhep_ml: each loader reads the public
file format from a folder given by the user, by the ``SKHEP_ML_DATA``
environment variable, or found at ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = [
    "default_data_dir",
    "higgsml_full_totals",
    "load_higgsml",
    "load_lhco_rnd",
    "load_magic",
    "rescale_weights",
]

_HIGGSML_DIR = "higgsml_atlas_2014_subset"
_HIGGSML_FILE = "atlas-higgs-challenge-2014-v2_first22889.csv.gz"
_LHCO_DIR = "lhco2020_rnd_signal_region"
_LHCO_FILES = {
    "data": "innerdata_train.npy",
    "data_test": "innerdata_test.npy",
    "extrasig": "innerdata_extrasig.npy",
    "test": "separated_data/innerdata_test.npy",
}
_LHCO_COLUMNS = ["mjj", "mj1", "delta_mj", "tau21_j1", "tau21_j2"]
_MAGIC_DIR = "magic_gamma_telescope"
_MAGIC_FILE = "magic04.data"
_MAGIC_COLUMNS = [
    "fLength",
    "fWidth",
    "fSize",
    "fConc",
    "fConc1",
    "fAsym",
    "fM3Long",
    "fM3Trans",
    "fAlpha",
    "fDist",
]


def default_data_dir():
    """Folder holding the real datasets, or None when none is found.

    In order: the environment variable ``SKHEP_ML_DATA`` if set (returned
    as given, existing or not); ``../shared/data`` relative to the repository
    root (the folder containing the ``skhep_ml`` package) if it exists;
    ``../shared/data`` relative to the current working directory if it exists;
    otherwise None.

    Returns
    -------
    path : pathlib.Path or None

    Examples
    --------
    >>> path = default_data_dir()
    >>> path is None or isinstance(path, Path)
    True
    """
    env = os.environ.get("SKHEP_ML_DATA")
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parents[2]
    for base in (repo_root, Path.cwd()):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return None


def _resolve(path, folder, filename, what):
    """The file to read: ``path`` may be the file itself or its folder."""
    if path is None:
        base = default_data_dir()
        if base is None:
            raise FileNotFoundError(
                f"No data folder for {what}: pass `path`, or set SKHEP_ML_DATA to the folder "
                f"that holds {folder}/ (none found at ../shared/data either)."
            )
        path = base / folder
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / filename
    if not path.is_file():
        raise FileNotFoundError(f"{what}: file not found: {path}")
    return path


def load_higgsml(path=None, *, weight="KaggleWeight", return_X_y=False):
    """Load the ATLAS Higgs ML challenge 2014 (HiggsML) sample, H->tau tau vs background.

    Reads ``atlas-higgs-challenge-2014-v2*.csv[.gz]`` (CERN Open Data record
    328, DOI 10.7483/OPENDATA.ATLAS.ZBP2.M5T8; the shared copy is the first
    22,889 events of the Kaggle training set).  The 30 ``DER_*``/``PRI_*``
    features are returned as float64 with the -999.0 code replaced by NaN: these
    values are *structurally* missing (jet variables when there are fewer
    jets, given by ``PRI_jet_num``; ``DER_mass_MMC`` when the MMC fails), not
    missing at random, and must not be imputed blindly.

    Parameters
    ----------
    path : str, path-like or None, default=None
        The csv(.gz) file or its folder.  None: ``default_data_dir() /
        "higgsml_atlas_2014_subset"``.
    weight : {"KaggleWeight", "Weight"}, default="KaggleWeight"
        Weight column returned as ``sample_weight``.  ``KaggleWeight`` is the
        weight of the Kaggle leaderboard (see :func:`higgsml_full_totals`);
        ``Weight`` is normalised to the full 818,238-event file.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame, 30 columns), ``target`` (Series ``"label"``, 1 for
        signal 's', 0 for background 'b'), ``sample_weight`` (ndarray),
        ``event_id`` (ndarray), ``feature_names``, ``target_names`` and ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        Naming the path when the file is not there.

    Examples
    --------
    >>> try:
    ...     higgs = load_higgsml()
    ... except FileNotFoundError:
    ...     higgs = None  # data folder not available here
    >>> higgs is None or higgs.data.shape[1] == 30
    True
    """
    if weight not in ("KaggleWeight", "Weight"):
        raise ValueError(f"weight must be 'KaggleWeight' or 'Weight', got {weight!r}.")
    if path is not None and Path(path).is_dir() and not (Path(path) / _HIGGSML_FILE).exists():
        found = sorted(Path(path).glob("atlas-higgs-challenge-2014*.csv*"))
        if len(found) == 1:
            path = found[0]
    file = _resolve(path, _HIGGSML_DIR, _HIGGSML_FILE, "HiggsML")
    df = pd.read_csv(file)
    features = [c for c in df.columns if c.startswith(("DER_", "PRI_"))]
    missing = {"Label", weight}.difference(df.columns)
    if len(features) != 30 or missing:
        raise ValueError(
            f"{file} does not look like the HiggsML csv: {len(features)} DER_/PRI_ columns "
            f"(expected 30), missing columns {sorted(missing)}."
        )
    X = df[features].astype(np.float64).replace(-999.0, np.nan)
    labels = df["Label"].astype(str)
    bad = sorted(set(labels.unique()) - {"s", "b"})
    if bad:
        raise ValueError(f"{file}: unexpected Label values {bad} (expected 's' and 'b').")
    y = pd.Series((labels == "s").to_numpy().astype(np.int64), name="label")
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        sample_weight=df[weight].to_numpy(dtype=np.float64),
        event_id=df["EventId"].to_numpy() if "EventId" in df else None,
        feature_names=features,
        target_names=["b", "s"],
        DESCR=_HIGGSML_DESCR,
    )


def higgsml_full_totals():
    """Weight sums of the full 250,000-event Kaggle training sample (``KaggleWeight``).

    Returns
    -------
    totals : dict
        ``{1: 691.988607712, 0: 410999.847322}``: the summed ``KaggleWeight``
        of signal (1) and background (0).

    Examples
    --------
    >>> higgsml_full_totals()
    {1: 691.988607712, 0: 410999.847322}
    """
    return {1: 691.988607712, 0: 410999.847322}


def rescale_weights(y, w, totals=None):
    """Rescale the weights of each class so that they sum to a given total.

    This is the HiggsML challenge's normalisation of its public and private
    test subsets: to compute an AMS comparable with the leaderboard on a
    held-out part of the sample, rescale the weights of the evaluated events
    so that signal and background sum to the full-sample totals.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    w : array-like of shape (n_samples,)
        Weights.
    totals : mapping {label: float} or None, default=None
        Target sum per class.  None: :func:`higgsml_full_totals`.

    Returns
    -------
    w_scaled : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        If shapes differ, a label of ``y`` has no total, or a class has a
        non-positive weight sum.

    Examples
    --------
    >>> w = rescale_weights([1, 0, 0], [1.0, 2.0, 2.0], {1: 10.0, 0: 100.0})
    >>> w.tolist()
    [10.0, 50.0, 50.0]
    """
    if totals is None:
        totals = higgsml_full_totals()
    if not isinstance(totals, Mapping):
        raise ValueError(f"totals must be a mapping {{label: total}}, got {type(totals).__name__}.")
    y = np.asarray(y)
    w = np.asarray(w, dtype=np.float64)
    if y.ndim != 1 or w.shape != y.shape:
        raise ValueError(f"y and w must be 1-D of the same length, got {y.shape} and {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise ValueError("w must be finite.")
    out = np.empty_like(w)
    for label in np.unique(y):
        key = label.item() if hasattr(label, "item") else label
        if key not in totals:
            raise ValueError(f"totals has no entry for label {key!r} (keys: {list(totals)}).")
        mask = y == label
        s = w[mask].sum()
        if s <= 0:
            raise ValueError(f"the weights of label {key!r} sum to {s}; cannot rescale.")
        out[mask] = w[mask] * (float(totals[key]) / s)
    return out


def _row_keys(a):
    """One opaque bytes-like key per row of a 2-D float array (exact matching)."""
    a = np.ascontiguousarray(a)
    return a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()


def load_lhco_rnd(path=None, *, subset="data", exclude_test_overlap=True, return_X_y=False):
    """Load the LHC Olympics 2020 R&D dataset, signal region, high-level features.

    Pythia8 + Delphes dijet events in 3.3 < mjj < 3.7 TeV, as preprocessed by
    the CATHODE authors (Kasieczka, Nachman, Shih, Zenodo 4536377, CC BY 4.0;
    Hallin et al., arXiv:2109.00546).  Signal: W' (3.5 TeV) -> X (500 GeV)
    Y (100 GeV), background: QCD dijets.

    Parameters
    ----------
    path : str, path-like or None, default=None
        The folder ``lhco2020_rnd_signal_region`` (``subset`` picks the file).
        None: ``default_data_dir() / "lhco2020_rnd_signal_region"``.
    subset : {"data", "data_test", "extrasig", "test"}, default="data"
        ``"data"``: ``innerdata_train.npy``, the SR data, 60,000 events with
        S/B about 0.66 %; ``"data_test"``: ``innerdata_test.npy``, the rest of
        the SR data (62,124); ``"extrasig"``: ``innerdata_extrasig.npy``, pure
        signal (74,527); ``"test"``: ``separated_data/innerdata_test.npy``,
        the labelled test set (40,000 background + 20,000 signal).
    exclude_test_overlap : bool, default=True
        Only for ``subset="extrasig"``: drop the rows that also appear in the
        labelled test set (its 20,000 signal events are copies of extrasig
        rows), exact row matching.  Ignored for the other subsets.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame: ``mjj``, ``mj1`` the mass of the lighter jet,
        ``delta_mj`` the heavier minus the lighter jet mass, all in TeV,
        ``tau21_j1``, ``tau21_j2`` the N-subjettiness ratios of the lighter and
        heavier jet), ``target`` (Series ``"label"``, 1 = signal),
        ``feature_names`` and ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> try:
    ...     lhco = load_lhco_rnd(subset="test")
    ... except FileNotFoundError:
    ...     lhco = None  # data folder not available here
    >>> lhco is None or lhco.data.shape == (60000, 5)
    True
    """
    if subset not in _LHCO_FILES:
        raise ValueError(f"subset must be one of {sorted(_LHCO_FILES)}, got {subset!r}.")
    if path is not None and Path(path).is_file():
        raise ValueError(
            f"path must be the folder lhco2020_rnd_signal_region (the subset picks the file), "
            f"got the file {path}."
        )
    file = _resolve(path, _LHCO_DIR, _LHCO_FILES[subset], "LHCO 2020 R&D")
    a = _load_npy(file)
    if subset == "extrasig" and exclude_test_overlap:
        test_file = file.parent / _LHCO_FILES["test"]
        if not test_file.is_file():
            raise FileNotFoundError(
                f"exclude_test_overlap=True needs the labelled test set: file not found: "
                f"{test_file} (pass exclude_test_overlap=False to skip)."
            )
        a = a[~np.isin(_row_keys(a), _row_keys(_load_npy(test_file)))]
    X = pd.DataFrame(a[:, :5], columns=_LHCO_COLUMNS)
    y = pd.Series(a[:, 5].astype(np.int64), name="label")
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=list(_LHCO_COLUMNS),
        target_names=["background", "signal"],
        DESCR=_LHCO_DESCR,
    )


def _load_npy(file):
    a = np.load(file, allow_pickle=False)
    if a.ndim != 2 or a.shape[1] != 6:
        raise ValueError(f"{file}: expected an array of shape (n, 6), got {a.shape}.")
    return np.asarray(a, dtype=np.float64)


def load_magic(path=None, *, return_X_y=False):
    """Load the MAGIC gamma telescope dataset (UCI 159), gamma vs hadron showers.

    R. K. Bock (2004), UCI ML Repository, DOI 10.24432/C52C8B, CC BY 4.0.
    19,020 simulated Cherenkov-telescope images, 10 Hillas parameters.

    Parameters
    ----------
    path : str, path-like or None, default=None
        ``magic04.data`` or its folder.  None: ``default_data_dir() /
        "magic_gamma_telescope"``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame with the UCI column names), ``target`` (Series
        ``"label"``, 1 for gamma 'g' = signal, 0 for hadron 'h'),
        ``feature_names``, ``target_names`` and ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> try:
    ...     magic = load_magic()
    ... except FileNotFoundError:
    ...     magic = None  # data folder not available here
    >>> magic is None or magic.data.shape == (19020, 10)
    True
    """
    file = _resolve(path, _MAGIC_DIR, _MAGIC_FILE, "MAGIC")
    df = pd.read_csv(file, header=None, names=[*_MAGIC_COLUMNS, "class"])
    labels = df["class"].astype(str).str.strip()
    bad = sorted(set(labels.unique()) - {"g", "h"})
    if bad:
        raise ValueError(f"{file}: unexpected class values {bad} (expected 'g' and 'h').")
    X = df[_MAGIC_COLUMNS].astype(np.float64)
    y = pd.Series((labels == "g").to_numpy().astype(np.int64), name="label")
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=list(_MAGIC_COLUMNS),
        target_names=["h", "g"],
        DESCR=_MAGIC_DESCR,
    )


_HIGGSML_DESCR = """\
ATLAS Higgs Boson Machine Learning Challenge 2014 (HiggsML)
-----------------------------------------------------------
H -> tau tau (signal, 1) vs background (0), ATLAS full simulation.  CERN Open Data record 328,
DOI 10.7483/OPENDATA.ATLAS.ZBP2.M5T8; C. Adam-Bourdarios et al., JMLR W&CP 42 (2015) 19-55.
30 features (13 DER_*, 17 PRI_*); -999.0 is mapped to NaN: structurally missing (jet variables
with fewer jets, DER_mass_MMC when the MMC fails), not missing at random.  Weights: KaggleWeight
(leaderboard weight; full Kaggle training totals 691.99 signal, 410,999.85 background, see
higgsml_full_totals and rescale_weights for the AMS) or Weight.
"""

_LHCO_DESCR = """\
LHC Olympics 2020 R&D dataset, signal region 3.3 < mjj < 3.7 TeV, high-level features
-------------------------------------------------------------------------------------
Kasieczka, Nachman, Shih, Zenodo (CC BY 4.0); Kasieczka et al., Rep. Prog. Phys. 84 (2021) 124201;
preprocessing by CATHODE (Hallin et al., PRD 106 (2022) 055006).  Signal W'(3.5 TeV) -> X(500 GeV)
Y(100 GeV), X, Y -> qq; background QCD dijets.  Features [TeV]: mjj, mj1 (lighter jet mass),
delta_mj (heavier minus lighter), tau21 of the lighter and heavier jet.  The labelled test set's
20,000 signal events also appear in the extrasig file (removed by default).
"""

_MAGIC_DESCR = """\
MAGIC gamma telescope (UCI 159)
-------------------------------
R. K. Bock (2004), DOI 10.24432/C52C8B, CC BY 4.0; Bock et al., NIM A 516 (2004) 511.  19,020
CORSIKA-simulated Cherenkov images, 10 features, gamma (1, signal, 12,332) vs hadron (0, 6,688).
Accuracy is not meaningful; use the gamma efficiency at low hadron acceptance (ROC).
"""
