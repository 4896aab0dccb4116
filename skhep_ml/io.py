"""Read ROOT TTrees into pandas DataFrames: at once, by chunks, or as a dask DataFrame.

A thin layer on uproot (``pip install 'skhep_ml[root]'``; the dask path also
needs ``'skhep_ml[dask]'``). What it adds to ``uproot.concatenate`` and
``uproot.iterate``:

- a sentinel that the files use for a missing value (ALICE's -999, say)
  becomes NaN, which the estimators that accept missing signals
  (:class:`~skhep_ml.FSEAttentionClassifier`) read as "no measurement";
- errors that list what the file does have: its TTrees when the tree is not
  found, its branches when a column is not found;
- a refusal, naming the branch, of branches with more than one value per
  entry (jagged or fixed-size arrays) instead of a silently flattened or
  dropped column;
- the same rows, index and dtypes from :func:`read_root`, :func:`iter_root`
  and ``read_root(..., library="dask")``.

The index of every output is uproot's: the entry number, counted across the
files in their order (with a ``cut``, the surviving entries' numbers).
"""

from __future__ import annotations

import contextlib
import difflib
import glob
import importlib
import os
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd

__all__ = ["iter_root", "read_root"]

# The classes uproot reads as TTrees (with branches).
_TREE_CLASSES = ("TTree", "TNtuple", "TNtupleD")


def _require(module, extra):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"skhep_ml.io needs {module.split('.')[0]}: pip install 'skhep_ml[{extra}]'."
        ) from exc


# Names shown in an error message at most (a NanoAOD tree has about 1500 branches).
_MAX_LISTED = 100


def _listing(names, asked=()):
    """``names`` for an error message, shortened, with the close matches of ``asked`` first."""
    close = [m for a in asked for m in difflib.get_close_matches(a, names, n=3)]
    shown = (
        repr(list(names))
        if len(names) <= _MAX_LISTED
        else (f"{list(names)[:_MAX_LISTED]!r} and {len(names) - _MAX_LISTED} more")
    )
    return (f"close matches: {close}; " if close else "") + shown


def _resolve_files(files):
    """Paths from a path, a glob pattern or a list of them (patterns sorted)."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    paths = []
    for name in files:
        name = os.fspath(name)
        if "://" in name:  # remote (root://, https://): uproot opens it
            paths.append(name)
        elif any(c in name for c in "*?["):
            matched = sorted(glob.glob(name))
            if not matched:
                raise FileNotFoundError(f"No file matches the pattern {name!r}.")
            paths += matched
        elif not os.path.isfile(name):
            raise FileNotFoundError(f"No such file: {name!r}.")
        else:
            paths.append(name)
    if not paths:
        raise ValueError("files is empty: give a path, a glob pattern or a list of them.")
    return paths


@contextlib.contextmanager
def _open_tree(path, tree):
    """The TTree ``tree`` of the file ``path``; a ValueError lists the file's TTrees."""
    uproot = _require("uproot", "root")
    with uproot.open(path) as file:
        try:
            obj = file[tree]
        except KeyError:  # uproot's KeyInFileError
            obj = None
        if not isinstance(obj, uproot.TTree):
            classes = file.classnames(cycle=False)
            trees = [k for k, c in classes.items() if c in _TREE_CLASSES]
            if obj is None:
                problem = f"has no key {tree!r}"
            else:
                problem = f"holds a {getattr(obj, 'classname', type(obj).__name__)} under {tree!r}"
            hint = ""
            if "RNTuple" in str(classes.get(tree, "")):
                hint = (
                    " skhep_ml.io reads TTrees: uproot cannot yet apply a cut to an "
                    "RNTuple (read it with uproot directly; uproot writes a TTree with "
                    "file.mktree(name, types))."
                )
            raise ValueError(
                f"{path} {problem}; its TTrees: {_listing(trees, [tree])} (all keys: "
                f"{_listing(list(classes))}).{hint}"
            )
        yield obj


def _is_flat(branch):
    """One number per entry (not a jagged, fixed-size, string or object branch)."""
    numerical = importlib.import_module("uproot.interpretation.numerical")
    interpretation = branch.interpretation
    return (
        isinstance(interpretation, numerical.Numerical) and interpretation.numpy_dtype.shape == ()
    )


def _tree_columns(ttree, columns, path, tree):
    """The columns to read from ``ttree`` and their dtypes, checked."""
    names = ttree.keys()
    if columns is None:
        wanted = names
        if not wanted:
            raise ValueError(f"TTree {tree!r} in {path} has no branches.")
    else:
        wanted = [columns] if isinstance(columns, str) else list(columns)
        if not wanted:
            raise ValueError("columns is empty: give branch names, or None for all branches.")
        if len(set(wanted)) != len(wanted):
            raise ValueError(f"columns names a branch twice: {wanted}.")
        known = set(names)
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise ValueError(
                f"TTree {tree!r} in {path} has no branch {unknown}; its branches: "
                f"{_listing(names, unknown)}."
            )
    not_flat = [c for c in wanted if not _is_flat(ttree[c])]
    if not_flat:
        found = ", ".join(f"{c} ({ttree[c].typename})" for c in not_flat)
        read_all = " (columns=None reads every branch)" if columns is None else ""
        raise ValueError(
            f"Branch(es) {found} of TTree {tree!r} in {path} hold more than one value per "
            f"entry{read_all}: a DataFrame row is one entry, and skhep_ml.io does not flatten "
            "them. Leave them out of columns, or read them with uproot.concatenate(..., "
            "library='ak') and reduce them to fixed columns first, e.g. ak.num(x), "
            "ak.max(x, axis=1), or the first n values as "
            "ak.fill_none(ak.pad_none(x, n, clip=True), np.nan)."
        )
    return wanted, {c: ttree[c].interpretation.numpy_dtype.newbyteorder("=") for c in wanted}


def _check_missing(missing, dtypes):
    """``missing`` as None, a number (floating columns) or {column: number}."""

    def number(value, what):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or np.isnan(value):
            raise ValueError(
                f"{what} must be a number (the sentinel to turn into NaN); got {value!r}."
            )

    if missing is None:
        return None
    if isinstance(missing, Mapping):
        unknown = [c for c in missing if c not in dtypes]
        if unknown:
            raise ValueError(
                f"missing names column(s) {unknown} not read; columns: {list(dtypes)}."
            )
        for column, value in missing.items():
            number(value, f"missing[{column!r}]")
            if dtypes[column].kind not in "iuf":
                raise ValueError(
                    f"missing[{column!r}]: the column has dtype {dtypes[column]}, which "
                    "cannot hold NaN (only numeric columns can be given a sentinel)."
                )
        return dict(missing)
    number(missing, "missing")
    return missing


def _replace_missing(arrays, missing):
    """Sentinel -> NaN in place; an integer column named in a dict becomes float64."""
    if missing is None:
        return
    for name, array in arrays.items():
        if isinstance(missing, Mapping):
            if name not in missing:
                continue
            value = missing[name]
            if array.dtype.kind in "iu":
                array = arrays[name] = array.astype(np.float64)
        elif array.dtype.kind == "f":
            value = missing
        else:
            continue  # a single sentinel is for floating columns (labels, counts untouched)
        if not array.flags.writeable:
            array = arrays[name] = array.copy()
        # compared in the column's dtype: a float32 column stores -999.9 rounded
        np.putmask(array, array == array.dtype.type(value), np.nan)


def _validate(tree, cut, missing):
    if not isinstance(tree, str):
        raise ValueError(f"tree must be the TTree's name (a str); got {tree!r}.")
    if cut is not None and not isinstance(cut, str):
        raise ValueError(f"cut must be an uproot expression (a str) or None; got {cut!r}.")
    if missing is not None and not isinstance(missing, (Mapping, Real)):
        raise ValueError(f"missing must be None, a number or a dict; got {missing!r}.")


class _Plan:
    """The checked columns, cut and sentinel of one read; reads entry ranges."""

    def __init__(self, tree, columns, cut, missing):
        self.tree = tree
        self.requested = columns
        self.cut = cut
        self.missing = missing
        self.columns = self.dtypes = None

    def check(self, ttree, path):
        """Check a file's TTree against the first one's columns and dtypes."""
        columns, dtypes = _tree_columns(ttree, self.requested, path, self.tree)
        if self.columns is None:
            self.columns, self.dtypes = columns, dtypes
            self.missing = _check_missing(self.missing, dtypes)
            return
        if columns != self.columns:
            raise ValueError(f"{path} has other branches than the first file: {columns}.")
        changed = [c for c in columns if dtypes[c] != self.dtypes[c]]
        if changed:
            raise ValueError(
                f"Branch(es) {changed} of {path} have dtype(s) {[str(dtypes[c]) for c in changed]} "
                f"but {[str(self.dtypes[c]) for c in changed]} in the first file."
            )

    @property
    def _expressions(self):
        return self.columns if self.cut is None else [*self.columns, self.cut]

    @contextlib.contextmanager
    def _cut_branches_named(self, ttree):
        """A branch of the cut that is not in the tree: a ValueError listing its branches."""
        uproot = _require("uproot", "root")
        try:
            yield
        except uproot.KeyInFileError as exc:
            raise ValueError(
                f"cut {self.cut!r} names {exc.key!r}, no branch of TTree {self.tree!r} in "
                f"{ttree.file.file_path}; its branches: {_listing(ttree.keys(), [exc.key])}."
            ) from exc

    def arrays(self, arrays, start, offset):
        """uproot's arrays of entries from ``start`` on -> (columns, index), cut and NaN-ed."""
        n = len(arrays[self._expressions[0]])
        if self.cut is None:
            index = pd.RangeIndex(offset + start, offset + start + n)
        else:
            # uproot's cut, keeping the entry numbers of the rows that pass
            mask = np.asarray(arrays[self.cut])
            if mask.dtype != bool:
                raise ValueError(
                    f"cut {self.cut!r} gives {mask.dtype} values; it must give booleans "
                    "(a comparison such as 'p > 0.5', combined with & and |)."
                )
            arrays = {c: arrays[c][mask] for c in self.columns}
            index = pd.Index(offset + start + np.flatnonzero(mask), dtype=np.int64)
        arrays = {c: arrays[c] for c in self.columns}
        _replace_missing(arrays, self.missing)
        return arrays, index

    def read(self, ttree, start, stop, offset):
        """Entries ``[start, stop)`` of ``ttree`` -> (columns, index), indexed from ``offset``."""
        with self._cut_branches_named(ttree):
            # no array cache: the arrays are ours, the sentinel is replaced in place
            arrays = ttree.arrays(
                self._expressions,
                entry_start=start,
                entry_stop=stop,
                library="np",
                array_cache=None,
            )
        return self.arrays(arrays, start, offset)

    def iterate(self, ttree, step_size, offset):
        """Chunks (columns, index) of ``ttree`` by ``uproot``'s ``iterate``."""
        with self._cut_branches_named(ttree):
            for arrays, report in ttree.iterate(
                self._expressions, step_size=step_size, library="np", report=True
            ):
                yield self.arrays(arrays, report.tree_entry_start, offset)

    def ranges(self, ttree, step_size):
        """``(start, stop)`` entry ranges of ``step_size`` rows or bytes; the whole tree for None."""
        n = ttree.num_entries
        if step_size is None:
            return [(0, n)] if n else []
        if isinstance(step_size, str):
            step = ttree.num_entries_for(step_size, self.columns, self.cut)
        else:
            step = int(step_size)
        step = max(step, 1)
        return [(start, min(start + step, n)) for start in range(0, n, step)]

    def __call__(self, part):
        """Read one dask partition ``(path, start, stop, offset)`` (runs on a worker)."""
        path, start, stop, offset = part
        with _open_tree(path, self.tree) as ttree:
            return _frame(*self.read(ttree, start, stop, offset))


def _frame(arrays, index):
    return pd.DataFrame(arrays, index=index, copy=False)


def _check_step_size(step_size, allow_none):
    if step_size is None and allow_none:
        return
    if isinstance(step_size, str):
        return  # uproot parses it ("100 MB") and says what is wrong
    if (
        isinstance(step_size, (bool, np.bool_))
        or not isinstance(step_size, Integral)
        or step_size < 1
    ):
        raise ValueError(
            f"step_size must be a number of rows >= 1 or a memory size such as '100 MB'; "
            f"got {step_size!r}."
        )


def read_root(files, tree, columns=None, *, cut=None, missing=None, step_size=None, library="pd"):
    """Read a TTree from one or several ROOT files into a DataFrame.

    Parameters
    ----------
    files : str, path-like or list of them
        ROOT file paths, glob patterns (``"data/run*.root"``, files in sorted
        order) or remote URLs (``root://...``, opened by uproot). The files'
        trees are concatenated in that order.
    tree : str
        Name of the TTree in every file (``"dir/tree"`` inside a directory).
    columns : str or list of str, default=None
        Branch names to read, in that order; None reads every branch.
        Branches must hold one number per entry: jagged (``float[]``,
        ``std::vector``) and fixed-size array branches are refused with a
        ``ValueError`` naming them (flatten them with uproot and awkward
        first, see the message).
    cut : str, default=None
        uproot's selection expression on the branches (which need not be
        among ``columns``), e.g. ``"(p > 0.5) & (tpc_nsigma_pi < 3)"``. It
        sees the values as stored, before ``missing`` turns sentinels into
        NaN: ``"tof_beta > 0"`` removes the -999 rows.
    missing : float or dict {column: float}, default=None
        The value the files use for a missing measurement, replaced by NaN.
        A number applies to every floating-point column (integer and boolean
        columns, such as labels and counters, are left as they are); a dict
        names the columns and may give each its own sentinel; an integer
        column named in it becomes float64, to hold NaN. The comparison is
        exact, in the column's dtype.
    step_size : int or str, default=None
        Only with ``library="dask"``: entries (int) or memory (``"100 MB"``)
        per partition; None: one partition per file.
    library : {"pd", "dask"}, default="pd"
        ``"pd"``: a pandas DataFrame, read now. ``"dask"``: a dask DataFrame
        whose partitions are read (and their sentinels replaced) when
        computed, on the dask workers; the files are opened now to count
        their entries and check the tree and the branches.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        One row per entry (that passes ``cut``), one column per branch, with
        the branches' dtypes. The index is the entry number counted across
        the files in order, as in ``uproot.concatenate``; the dask
        DataFrame's divisions are known.

    Raises
    ------
    FileNotFoundError
        A path does not exist or a pattern matches no file.
    ValueError
        The tree is not in a file (the message lists the file's TTrees), a
        column or a branch of ``cut`` is not in the tree (the message lists
        its branches), a branch holds more than one value per entry, or the
        files disagree on the branches or their dtypes.

    See Also
    --------
    iter_root : The same rows, chunk by chunk, for files larger than memory.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import uproot
    >>> from skhep_ml.io import read_root
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "tracks.root")
    >>> with uproot.recreate(path) as file:
    ...     tracks = file.mktree("tracks", {"p": "f8", "tof_beta": "f4", "pdg": "i4"})
    ...     tracks.extend({"p": np.array([0.4, 1.2, 2.5]),
    ...                    "tof_beta": np.array([-999, 0.9, 0.95], dtype="f4"),
    ...                    "pdg": np.array([211, 321, 2212], dtype="i4")})
    >>> read_root(path, "tracks", missing=-999)
         p  tof_beta   pdg
    0  0.4       NaN   211
    1  1.2      0.90   321
    2  2.5      0.95  2212
    >>> read_root(path, "tracks", columns=["p"], cut="pdg != 321")
         p
    0  0.4
    2  2.5
    >>> tmp.cleanup()
    """
    if library not in ("pd", "dask"):
        raise ValueError(f"library must be 'pd' or 'dask'; got {library!r}.")
    _validate(tree, cut, missing)
    if library == "pd" and step_size is not None:
        raise ValueError(
            "step_size sets the partitions of library='dask'; to read by chunks into pandas, "
            "use iter_root(files, tree, step_size=...)."
        )
    _check_step_size(step_size, allow_none=True)
    paths = _resolve_files(files)
    plan = _Plan(tree, columns, cut, missing)
    if library == "dask":
        return _read_dask(paths, plan, step_size)
    parts, offset = [], 0
    for path in paths:
        with _open_tree(path, tree) as ttree:
            plan.check(ttree, path)
            parts.append(plan.read(ttree, 0, ttree.num_entries, offset))
            offset += ttree.num_entries
    if len(parts) == 1:
        return _frame(*parts[0])
    # one copy, into one array per column (pd.concat of the frames is slower)
    arrays = {c: np.concatenate([a[c] for a, _ in parts]) for c in plan.columns}
    return _frame(arrays, parts[0][1].append([index for _, index in parts[1:]]))


def iter_root(files, tree, step_size="100 MB", columns=None, *, cut=None, missing=None):
    """Read a TTree chunk by chunk, for files larger than memory.

    The parameters are those of :func:`read_root`; the files, the tree, the
    columns and ``missing`` are checked against the first file when the
    function is called, each later file when the iteration reaches it.

    Parameters
    ----------
    files : str, path-like or list of them
    tree : str
    step_size : int or str, default="100 MB"
        Entries per chunk (int), or the memory the chunk's columns take
        before the cut (``"100 MB"``, as ``uproot.iterate``). A chunk never
        spans two files; with a ``cut`` chunks are smaller than the step.
    columns : str or list of str, default=None
    cut : str, default=None
    missing : float or dict {column: float}, default=None

    Yields
    ------
    pandas.DataFrame
        Chunks whose concatenation (``pd.concat``) equals ``read_root`` of
        the same arguments, index included.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import uproot
    >>> from skhep_ml.io import iter_root
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "events.root")
    >>> with uproot.recreate(path) as file:
    ...     events = file.mktree("events", {"x": "f8"})
    ...     events.extend({"x": np.arange(10.0)})
    >>> [len(chunk) for chunk in iter_root(path, "events", step_size=4)]
    [4, 4, 2]
    >>> tmp.cleanup()
    """
    _validate(tree, cut, missing)
    _check_step_size(step_size, allow_none=False)
    paths = _resolve_files(files)
    plan = _Plan(tree, columns, cut, missing)
    with _open_tree(paths[0], tree) as ttree:  # errors now, not at the first next()
        plan.check(ttree, paths[0])
    return _iterate(paths, plan, step_size)


def _iterate(paths, plan, step_size):
    offset = 0
    for path in paths:
        with _open_tree(path, plan.tree) as ttree:
            plan.check(ttree, path)
            for arrays, index in plan.iterate(ttree, step_size, offset):
                yield _frame(arrays, index)
            offset += ttree.num_entries


def _read_dask(paths, plan, step_size):
    dd = _require("dask.dataframe", "dask")
    parts, offset, meta = [], 0, None
    for path in paths:
        with _open_tree(path, plan.tree) as ttree:
            plan.check(ttree, path)
            if meta is None:
                meta = _frame(*plan.read(ttree, 0, 0, 0))
            parts += [(path, a, b, offset) for a, b in plan.ranges(ttree, step_size)]
            offset += ttree.num_entries
    if not parts:  # no entries in any file
        return dd.from_pandas(meta, npartitions=1)
    divisions = [first + start for _, start, _, first in parts] + [offset - 1]
    # uproot.dask has no pandas output nor cut: one uproot read per partition instead
    return dd.from_map(plan, parts, meta=meta, divisions=divisions, label="read-root")
