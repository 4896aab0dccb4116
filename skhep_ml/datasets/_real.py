"""Loaders for real public benchmark datasets, read from a path.

The data files are never shipped with skhep_ml: each loader reads the public
file format from a folder given by the user, by the ``SKHEP_ML_DATA``
environment variable, or found at ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = [
    "HIGGSML_FEATURE_NAMES",
    "default_data_dir",
    "higgsml_full_totals",
    "load_higgsml",
    "load_lhco_rnd",
    "load_magic",
    "rescale_weights",
]

_HIGGSML_DIR = "higgsml_atlas_2014_subset"
_HIGGSML_FILE = "atlas-higgs-challenge-2014-v2_first22889.csv.gz"
#: The 30 features of the HiggsML csv, in the file's order (13 ``DER_*``, 17 ``PRI_*``).
HIGGSML_FEATURE_NAMES = [
    "DER_mass_MMC",
    "DER_mass_transverse_met_lep",
    "DER_mass_vis",
    "DER_pt_h",
    "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet",
    "DER_prodeta_jet_jet",
    "DER_deltar_tau_lep",
    "DER_pt_tot",
    "DER_sum_pt",
    "DER_pt_ratio_lep_tau",
    "DER_met_phi_centrality",
    "DER_lep_eta_centrality",
    "PRI_tau_pt",
    "PRI_tau_eta",
    "PRI_tau_phi",
    "PRI_lep_pt",
    "PRI_lep_eta",
    "PRI_lep_phi",
    "PRI_met",
    "PRI_met_phi",
    "PRI_met_sumet",
    "PRI_jet_num",
    "PRI_jet_leading_pt",
    "PRI_jet_leading_eta",
    "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi",
    "PRI_jet_all_pt",
]
# The only columns where the format uses the -999.0 code (structurally undefined values).
_HIGGSML_MAY_BE_MISSING = [
    "DER_mass_MMC",
    "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet",
    "DER_prodeta_jet_jet",
    "DER_lep_eta_centrality",
    "PRI_jet_leading_pt",
    "PRI_jet_leading_eta",
    "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi",
]
# Columns besides the features: the full CERN Open Data file has all four, Kaggle's
# training.csv has EventId, Weight and Label.
_HIGGSML_OTHER_COLUMNS = ["EventId", "Weight", "Label", "KaggleSet", "KaggleWeight"]
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


def _read_csv(file, what, **kwargs):
    """``pd.read_csv`` of ``file``, gzip-compressed or not (sniffed from its first bytes).

    A file of another kind (binary, not gzip although named ``.gz``, a truncated
    gzip stream, ragged rows the parser cannot tokenize) or an empty one raises
    a ValueError naming the file and the expected format, chained from the
    parser's error (a file with no data rows after the header included).
    """
    with open(file, "rb") as fh:
        magic = fh.read(2)
    if not magic:
        raise ValueError(f"{file} is empty: expected a {what} file.")
    compression = "gzip" if magic == b"\x1f\x8b" else "infer"
    try:
        return pd.read_csv(file, compression=compression, **kwargs)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{file} holds no data: expected a {what} file.") from err
    except (
        UnicodeDecodeError,
        pd.errors.ParserError,
        EOFError,
        gzip.BadGzipFile,
        zlib.error,
    ) as err:
        raise ValueError(f"{file} is not a {what} file: {type(err).__name__}: {err}") from err


def _refuse_rows(file, bad, column, problem, expected):
    """ValueError naming the file, the column and how many rows (and which first) are bad."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        n, first = int(bad.sum()), int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{file}: column {column!r} has {problem} in {n} row{'s' if n > 1 else ''} "
            f"(first: data row {first + 1} of {bad.size}); expected {expected}."
        )


def _refuse_empty_fields(df, file, what):
    """Every field of these formats is filled: an empty or NA field means a damaged file.

    The ValueError names the file, the columns with their counts and the rows affected.
    """
    empty = df.isna()
    rows = empty.any(axis=1).to_numpy()
    if rows.any():
        n, first = int(rows.sum()), int(np.flatnonzero(rows)[0])
        counts = {c: int(k) for c, k in empty.sum().items() if k}
        raise ValueError(
            f"{file}: empty or NA fields in {n} row{'s' if n > 1 else ''} (first: data row "
            f"{first + 1} of {len(df)}), per column {counts}; expected every row of a {what} "
            f"file to have all {df.shape[1]} fields filled (a truncated or damaged file?)."
        )


def _as_finite_floats(df, columns, file):
    """The given columns as a float64 DataFrame; text or +-inf is refused, naming the column.

    Called after :func:`_refuse_empty_fields`, so a NaN here comes from text.
    """
    out = {}
    for column in columns:
        values = pd.to_numeric(df[column], errors="coerce").astype(np.float64)
        _refuse_rows(file, values.isna(), column, "text that is not a number", "numbers")
        _refuse_rows(file, np.isinf(values), column, "infinite values", "finite numbers")
        out[column] = values
    return pd.DataFrame(out, index=df.index)


def load_higgsml(path=None, *, weight="KaggleWeight", return_X_y=False):
    """Load the ATLAS Higgs ML challenge 2014 (HiggsML) sample, H->tau tau vs background.

    Reads ``atlas-higgs-challenge-2014-v2*.csv[.gz]`` (CERN Open Data record
    328, DOI 10.7483/OPENDATA.ATLAS.ZBP2.M5T8; the shared copy is the first
    22,889 events of the Kaggle training set).  The 30 ``DER_*``/``PRI_*``
    features (:data:`HIGGSML_FEATURE_NAMES`) are returned as float64 with the
    -999.0 code replaced by NaN: these values are *structurally* missing (jet
    variables when there are fewer jets, given by ``PRI_jet_num``;
    ``DER_mass_MMC`` when the MMC fails), not missing at random, and must not be
    imputed blindly.

    The file is checked, not repaired: no row is dropped and no value imputed.

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
        ``event_id`` (ndarray, or None when the file has no ``EventId``),
        ``feature_names``, ``target_names`` and ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        Naming the path when the file is not there.
    ValueError
        Naming the file when it is not a HiggsML csv (binary, not gzip although
        named ``.gz``, empty, ragged rows) or its content breaks the format: a
        duplicated, missing or unknown header column; no rows; an empty field
        (a truncated file); text or +-inf in a numeric column; -999.0 outside the
        11 columns where the format uses it; ``PRI_jet_num`` outside 0-3; a
        ``Label`` other than 's'/'b'; a non-positive ``weight``; a repeated
        ``EventId``.  The message names the column and the number of rows.

    Examples
    --------
    A tiny file in the public format (the shared folder holds the real one):

    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from pathlib import Path
    >>> from skhep_ml.datasets import HIGGSML_FEATURE_NAMES, load_higgsml
    >>> df = pd.DataFrame(np.full((3, 30), 1.5), columns=HIGGSML_FEATURE_NAMES)
    >>> df["PRI_jet_num"] = [0, 2, 1]
    >>> df.loc[0, "DER_mass_MMC"] = -999.0  # the MMC failed for the first event
    >>> df.insert(0, "EventId", [100000, 100001, 100002])
    >>> df["Label"], df["KaggleWeight"] = ["s", "b", "b"], [0.002, 2.2, 1.1]
    >>> tmp = tempfile.TemporaryDirectory()
    >>> file = Path(tmp.name) / "atlas-higgs-challenge-2014-v2.csv.gz"
    >>> df.to_csv(file, index=False)
    >>> higgs = load_higgsml(file)
    >>> higgs.data.shape, higgs.target.tolist(), higgs.sample_weight.tolist()
    ((3, 30), [1, 0, 0], [0.002, 2.2, 1.1])
    >>> higgs.data["DER_mass_MMC"].isna().tolist()
    [True, False, False]
    >>> tmp.cleanup()

    With the real data folder (``SKHEP_ML_DATA`` or ``../shared/data``):

    >>> higgs = load_higgsml()  # doctest: +SKIP
    >>> higgs.data.shape  # doctest: +SKIP
    (22889, 30)
    """
    if weight not in ("KaggleWeight", "Weight"):
        raise ValueError(f"weight must be 'KaggleWeight' or 'Weight', got {weight!r}.")
    if path is not None and Path(path).is_dir() and not (Path(path) / _HIGGSML_FILE).exists():
        found = sorted(Path(path).glob("atlas-higgs-challenge-2014*.csv*"))
        if len(found) == 1:
            path = found[0]
    file = _resolve(path, _HIGGSML_DIR, _HIGGSML_FILE, "HiggsML")
    what = "HiggsML csv"
    # The header as written (pandas would rename a repeated name to "name.1").
    header = _read_csv(file, what, header=None, nrows=1, dtype=str).iloc[0].tolist()
    header = [str(c).strip() for c in header]
    repeated = sorted({c for c in header if header.count(c) > 1})
    unknown = [c for c in header if c not in HIGGSML_FEATURE_NAMES + _HIGGSML_OTHER_COLUMNS]
    missing = [c for c in [*HIGGSML_FEATURE_NAMES, "Label", weight] if c not in header]
    if repeated or unknown or missing:
        raise ValueError(
            f"{file}: not the HiggsML csv header: repeated columns {repeated}, unknown columns "
            f"{unknown}, missing columns {missing}; expected the 30 DER_*/PRI_* features, "
            f"Label and {weight} (and optionally {_HIGGSML_OTHER_COLUMNS})."
        )
    df = _read_csv(file, what, header=None, skiprows=1)
    if df.shape[1] != len(header):
        raise ValueError(
            f"{file}: the rows have {df.shape[1]} fields but the header has {len(header)}; "
            f"expected a {what} with one field per header column."
        )
    df.columns = header
    _refuse_empty_fields(df, file, what)
    numeric = [*HIGGSML_FEATURE_NAMES, weight] + (["EventId"] if "EventId" in df else [])
    values = _as_finite_floats(df, numeric, file)
    for column in HIGGSML_FEATURE_NAMES:
        if column not in _HIGGSML_MAY_BE_MISSING:
            _refuse_rows(
                file,
                values[column] == -999.0,
                column,
                "the missing-value code -999.0",
                f"-999.0 only in {_HIGGSML_MAY_BE_MISSING}",
            )
    _refuse_rows(
        file,
        ~values["PRI_jet_num"].isin([0.0, 1.0, 2.0, 3.0]),
        "PRI_jet_num",
        "values other than 0, 1, 2, 3",
        "a jet count 0-3",
    )
    labels = df["Label"].astype(str).str.strip()
    _refuse_rows(file, ~labels.isin(["s", "b"]), "Label", "values other than 's'/'b'", "'s' or 'b'")
    _refuse_rows(file, values[weight] <= 0, weight, "non-positive weights", "positive weights")
    event_id = None
    if "EventId" in df:
        ids = values["EventId"]
        _refuse_rows(file, ids != np.round(ids), "EventId", "non-integers", "integer event ids")
        _refuse_rows(file, ids.duplicated(), "EventId", "repeated ids", "one row per event")
        event_id = ids.to_numpy().astype(np.int64)
    X = values[HIGGSML_FEATURE_NAMES].replace(-999.0, np.nan)
    y = pd.Series((labels == "s").to_numpy().astype(np.int64), name="label")
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        sample_weight=values[weight].to_numpy(dtype=np.float64),
        event_id=event_id,
        feature_names=list(HIGGSML_FEATURE_NAMES),
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

    Each file is a plain float ``.npy`` array of shape (n, 6): the 5 features
    and the label (0 or 1).  It is read with ``allow_pickle=False``: pickled
    content is never loaded.

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
        rows), exact row matching.  How many were dropped is returned as
        ``n_removed_test_overlap`` (20,000 with the public files, leaving
        54,527).  Ignored for the other subsets.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (DataFrame: ``mjj``, ``mj1`` the mass of the lighter jet,
        ``delta_mj`` the heavier minus the lighter jet mass, all in TeV,
        ``tau21_j1``, ``tau21_j2`` the N-subjettiness ratios of the lighter and
        heavier jet), ``target`` (Series ``"label"``, 1 = signal),
        ``n_removed_test_overlap`` (int: the rows dropped by
        ``exclude_test_overlap``, 0 unless ``subset="extrasig"``),
        ``feature_names``, ``target_names`` and ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        Naming the path when a needed file is not there.
    ValueError
        Naming the file when it is not a plain numeric ``.npy`` array (a csv,
        a gzip, a ``.npz``, an array of Python objects that needs pickle, a
        truncated file) or its content breaks the format: not of shape (n, 6)
        with n > 0, NaN or +-inf in a feature, a label other than 0 and 1
        (other than 1 for ``"extrasig"``).  The message names the column and
        the number of rows.

    Examples
    --------
    A tiny folder in the public format (the shared folder holds the real one):

    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from skhep_ml.datasets import load_lhco_rnd
    >>> tmp = tempfile.TemporaryDirectory()
    >>> events = np.array([[3.51, 0.10, 0.38, 0.45, 0.62, 0.0],
    ...                    [3.49, 0.11, 0.39, 0.21, 0.33, 1.0]])
    >>> np.save(Path(tmp.name) / "innerdata_train.npy", events)
    >>> lhco = load_lhco_rnd(tmp.name, subset="data")
    >>> lhco.data.columns.tolist()
    ['mjj', 'mj1', 'delta_mj', 'tau21_j1', 'tau21_j2']
    >>> lhco.target.tolist(), lhco.n_removed_test_overlap
    ([0, 1], 0)
    >>> tmp.cleanup()

    With the real data folder (``SKHEP_ML_DATA`` or ``../shared/data``):

    >>> load_lhco_rnd(subset="test").data.shape  # doctest: +SKIP
    (60000, 5)
    """
    if subset not in _LHCO_FILES:
        raise ValueError(f"subset must be one of {sorted(_LHCO_FILES)}, got {subset!r}.")
    if path is not None and Path(path).is_file():
        raise ValueError(
            f"path must be the folder lhco2020_rnd_signal_region (the subset picks the file), "
            f"got the file {path}."
        )
    file = _resolve(path, _LHCO_DIR, _LHCO_FILES[subset], "LHCO 2020 R&D")
    a = _load_lhco_npy(file)
    n_removed = 0
    if subset == "extrasig":
        _refuse_rows(file, a[:, 5] != 1.0, "label", "values other than 1", "pure signal (1)")
        if exclude_test_overlap:
            test_file = file.parent / _LHCO_FILES["test"]
            if not test_file.is_file():
                raise FileNotFoundError(
                    f"exclude_test_overlap=True needs the labelled test set: file not found: "
                    f"{test_file} (pass exclude_test_overlap=False to skip)."
                )
            keep = ~np.isin(_row_keys(a), _row_keys(_load_lhco_npy(test_file)))
            n_removed = int(len(a) - keep.sum())
            a = a[keep]
    X = pd.DataFrame(a[:, :5], columns=_LHCO_COLUMNS)
    y = pd.Series(a[:, 5].astype(np.int64), name="label")
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        n_removed_test_overlap=n_removed,
        feature_names=list(_LHCO_COLUMNS),
        target_names=["background", "signal"],
        DESCR=_LHCO_DESCR,
    )


def _load_lhco_npy(file):
    """One LHCO file as a checked float64 array of shape (n, 6), never unpickling."""
    kind = "LHCO 2020 R&D .npy file (a plain numeric array, read with allow_pickle=False)"
    try:
        a = np.load(file, allow_pickle=False)
    except (ValueError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as err:
        reason = str(err)
        if "pickle" in reason or "Object arrays" in reason:
            reason = (
                "it is another kind of file, or an array of Python objects that only pickle "
                "could read; skhep_ml never unpickles (allow_pickle=False)"
            )
        raise ValueError(f"{file} is not a {kind}: {reason}") from err
    if isinstance(a, np.lib.npyio.NpzFile):
        a.close()
        raise ValueError(f"{file} is not a {kind}: it is a .npz archive.")
    if a.dtype.kind not in "fiu":
        raise ValueError(f"{file} is not a {kind}: its dtype is {a.dtype}, not a number type.")
    if a.ndim != 2 or a.shape[1] != 6 or a.shape[0] == 0:
        raise ValueError(
            f"{file}: expected an array of shape (n, 6) with n > 0 "
            f"(5 features and the label), got {a.shape}."
        )
    a = np.asarray(a, dtype=np.float64)
    for j, column in enumerate(_LHCO_COLUMNS):
        _refuse_rows(file, np.isnan(a[:, j]), column, "NaN", "finite numbers")
        _refuse_rows(file, np.isinf(a[:, j]), column, "infinite values", "finite numbers")
    _refuse_rows(file, ~np.isin(a[:, 5], [0.0, 1.0]), "label", "values other than 0/1", "0 or 1")
    return a


def load_magic(path=None, *, return_X_y=False):
    """Load the MAGIC gamma telescope dataset (UCI 159), gamma vs hadron showers.

    R. K. Bock (2004), UCI ML Repository, DOI 10.24432/C52C8B, CC BY 4.0.
    19,020 simulated Cherenkov-telescope images, 10 Hillas parameters.
    ``magic04.data`` is a text file without header, one event per line: the
    10 numbers and the class ``g`` or ``h``, comma-separated.

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

    Raises
    ------
    FileNotFoundError
        Naming the path when the file is not there.
    ValueError
        Naming the file when it is not a ``magic04.data`` text file (binary,
        empty, ragged rows) or its content breaks the format: not 11 fields per
        row, an empty field, text (a header line, say), NaN or +-inf in a
        feature, a class other than 'g'/'h'.  The message names the column
        and the number of rows.

    Examples
    --------
    A tiny file in the public format (the shared folder holds the real one):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from skhep_ml.datasets import load_magic
    >>> tmp = tempfile.TemporaryDirectory()
    >>> file = Path(tmp.name) / "magic04.data"
    >>> _ = file.write_text(
    ...     "28.7967,16.0021,2.6449,0.3918,0.1982,27.7004,22.011,-8.2027,40.092,81.8828,g\\n"
    ...     "93.7035,37.9432,3.1454,0.168,0.1011,53.2566,89.0566,-42.2891,3.0,312.31,h\\n"
    ... )
    >>> magic = load_magic(file)
    >>> magic.data.shape, magic.target.tolist(), magic.data["fAlpha"].tolist()
    ((2, 10), [1, 0], [40.092, 3.0])
    >>> tmp.cleanup()

    With the real data folder (``SKHEP_ML_DATA`` or ``../shared/data``):

    >>> load_magic().data.shape  # doctest: +SKIP
    (19020, 10)
    """
    file = _resolve(path, _MAGIC_DIR, _MAGIC_FILE, "MAGIC")
    what = "MAGIC magic04.data"
    df = _read_csv(file, what, header=None)
    n_fields = len(_MAGIC_COLUMNS) + 1
    if df.shape[1] != n_fields:
        raise ValueError(
            f"{file}: the rows have {df.shape[1]} fields; expected a {what} file with "
            f"{n_fields} per row (10 features and the class g/h)."
        )
    df.columns = [*_MAGIC_COLUMNS, "class"]
    _refuse_empty_fields(df, file, what)
    X = _as_finite_floats(df, _MAGIC_COLUMNS, file)
    labels = df["class"].astype(str).str.strip()
    _refuse_rows(file, ~labels.isin(["g", "h"]), "class", "values other than 'g'/'h'", "g or h")
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
