"""Helpers shared by every skhep_ml estimator: input validation, column look-up,
class weights, the validation split.

This module imports nothing from skhep_ml, so that any module may use it.
Every estimator validates through :func:`validate_fit_data` and
:func:`validate_predict_data`, so that bad input gets the same clear
``ValueError`` everywhere (inf, NaN where not allowed, NaN in y, one class,
a class without weight, empty data, no columns, wrong feature count,
non-numeric column).
"""

from __future__ import annotations

import numbers
import signal
import threading

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_array, validate_data

__all__ = [
    "InterruptRecorder",
    "check_class_weight_totals",
    "check_layer_widths",
    "check_numeric_columns",
    "check_random_state_seed",
    "class_weights",
    "column_index",
    "feature_names",
    "predict_blocks",
    "validate_fit_data",
    "validate_predict_data",
    "validation_split",
]


def check_numeric_columns(X):
    """Raise a ``ValueError`` naming the non-numeric columns of a DataFrame.

    NumPy arrays of dtype object are checked by ``validate_data`` itself; the
    ``ValueError`` it raises for an unparsable string is re-raised with the
    column index (see :func:`validate_fit_data`).

    Parameters
    ----------
    X : array-like or pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> check_numeric_columns(pd.DataFrame({"pt": [1.0], "det": ["TPC"]}))
    Traceback (most recent call last):
    ...
    ValueError: X has non-numeric column(s) ['det'] (dtypes: [...]); encode them as numbers first.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    bad = [(c, str(d)) for c, d in dtypes.items() if not (is_numeric_dtype(d) or is_bool_dtype(d))]
    if bad:
        raise ValueError(
            f"X has non-numeric column(s) {[c for c, _ in bad]} "
            f"(dtypes: {[d for _, d in bad]}); encode them as numbers first."
        )


def _name_bad_column(X, error):
    """Re-raise numpy's 'could not convert string to float' with the column."""
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2:
        for j in range(arr.shape[1]):
            try:
                np.asarray(arr[:, j], dtype=np.float64)
            except ValueError:
                raise ValueError(
                    f"X column {j} is not numeric ({error}); encode it as numbers first."
                ) from error
    raise error


def _name_nan_columns(X, error):
    """Re-raise scikit-learn's 'Input X contains NaN' with the columns that have them."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise error
    cols = np.flatnonzero(np.isnan(arr).any(axis=0))
    if cols.size == 0:
        raise error
    names = list(X.columns) if hasattr(X, "columns") else list(range(arr.shape[1]))
    named = [names[j] for j in cols]
    raise ValueError(
        f"Input X contains NaN in column(s) {named[:10]}{' ...' if len(named) > 10 else ''} "
        f"({int(np.isnan(arr).any(axis=1).sum())} row(s)). This estimator does not treat "
        "missing values: impute them first (e.g. sklearn.impute.SimpleImputer in a Pipeline) "
        "or drop those rows."
    ) from error


def _check_has_columns(X):
    # for a DataFrame without columns scikit-learn raises numpy's "at least one
    # array or dtype is required"; give the message it gives for arrays
    if hasattr(X, "columns") and len(X.columns) == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
            "required: X has no columns."
        )


def _check_X(estimator, X, *, allow_nan, reset, y="no_validation", dtype=np.float32, whole=None):
    # ``whole``: the data ``X`` is the first rows of, named in the messages
    whole = X if whole is None else whole
    check_numeric_columns(X)
    _check_has_columns(X)
    kwargs = dict(
        reset=reset,
        dtype=dtype,
        ensure_all_finite="allow-nan" if allow_nan else True,
        ensure_min_samples=1,
        # torch warns on read-only arrays (pandas' copy-on-write gives them)
        force_writeable=True,
    )
    try:
        if isinstance(y, str) and y == "no_validation":
            X = validate_data(estimator, X, **kwargs)
        else:
            X, y = validate_data(estimator, X, y, **kwargs)
    except ValueError as error:
        if "could not convert" in str(error):
            _name_bad_column(whole, error)
        if "Input X contains NaN" in str(error):
            _name_nan_columns(whole, error)
        raise
    return X if isinstance(y, str) and y == "no_validation" else (X, y)


def validate_fit_data(
    estimator,
    X,
    y=None,
    sample_weight=None,
    *,
    allow_nan=False,
    classifier=False,
    requires_y=True,
    reset=True,
    dtype=np.float32,
):
    """Validate training data the same way for every estimator.

    Parameters
    ----------
    estimator : BaseEstimator
        Receives ``n_features_in_`` and ``feature_names_in_``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or None
    sample_weight : array-like of shape (n_samples,) or None
        ``None`` gives weights of one. Negative weights are accepted (NLO
        samples); the total weight must be positive, and for a classifier the
        total weight of every class too (a class of zero weight is a fit
        without that class).
    allow_nan : bool
        Whether NaN in X marks a missing value the estimator handles. Inf is
        always refused.
    classifier : bool
        Check that y holds class labels of at least two classes.
    requires_y : bool
        Whether y must be given.
    reset : bool
        Set ``n_features_in_`` and ``feature_names_in_`` (``False``: check them).
    dtype : dtype or list of dtypes, default=np.float32
        As in :func:`sklearn.utils.validation.check_array`: float32 for the
        torch estimators; ``[np.float64, np.float32]`` keeps the precision
        of the input for estimators that pass it on (meta-estimators).

    Returns
    -------
    X : ndarray of ``dtype``
    y : ndarray or None
    sample_weight : ndarray of the dtype of X

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> X, y = [[0.0], [1.0], [2.0]], [0, 0, 1]
    >>> validate_fit_data(BaseEstimator(), X, y, [1.0, 1.0, 0.0], classifier=True)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight of class 1 sums to 0 (must be positive): ...
    """
    name = type(estimator).__name__
    if requires_y and y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    if y is None:
        X = _check_X(estimator, X, allow_nan=allow_nan, reset=reset, dtype=dtype)
    else:
        X, y = _check_X(estimator, X, allow_nan=allow_nan, reset=reset, y=y, dtype=dtype)
    if classifier and y is not None:
        check_classification_targets(y)
        n_classes = np.unique(y).size
        if n_classes < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in y; got 1 class "
                f"({np.unique(y)[0]!r})."
            )
    sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    if not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight contains NaN or inf.")
    if sample_weight.sum() <= 0:
        raise ValueError(f"The sum of sample_weight must be positive; got {sample_weight.sum():g}.")
    if classifier and y is not None:
        check_class_weight_totals(y, sample_weight)
    return X, y, sample_weight


def check_class_weight_totals(y, sample_weight):
    """Refuse a class whose sample weights do not sum to a positive total.

    Such a class has rows but no say in the fit: a one-class fit in disguise.
    """
    classes, y_enc = np.unique(y, return_inverse=True)
    totals = np.bincount(y_enc.ravel(), weights=sample_weight.astype(np.float64))
    bad = np.flatnonzero(~(totals > 0))
    if bad.size:
        k = bad[0]
        raise ValueError(
            f"sample_weight of class {classes[k].item()!r} sums to {totals[k]:g} (must be "
            "positive): "
            "that class would not take part in the fit. Drop its rows or give them weight."
        )


def validate_predict_data(estimator, X, *, allow_nan=False, dtype=np.float32):
    """Validate data at predict time: fitted, same feature count and names."""
    return _check_X(estimator, X, allow_nan=allow_nan, reset=False, dtype=dtype)


#: Rows validated and converted at a time by :func:`predict_blocks`.
PREDICT_BLOCK = 65_536


def predict_blocks(estimator, X, *, allow_nan=False, block=PREDICT_BLOCK):
    """Validate ``X`` at predict time block of rows by block of rows.

    The memory of a prediction stays that of one block however many rows
    ``X`` has: a float64 array or a DataFrame is converted to float32
    ``block`` rows at a time instead of as a whole. The checks and their
    messages are those of :func:`validate_predict_data` (feature names and
    count on the first block, inf or NaN where not allowed in any block);
    input that is not a 2-D ndarray or DataFrame is validated whole.

    Returns
    -------
    n_rows : int
    blocks : iterator of (slice, ndarray of float32)
        Consecutive row slices of ``X`` and their validated rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> est = BaseEstimator()
    >>> est.n_features_in_ = 2
    >>> n, blocks = predict_blocks(est, np.zeros((5, 2)), block=2)
    >>> n, [(sl.start, b.dtype.name, b.shape) for sl, b in blocks]
    (5, [(0, 'float32', (2, 2)), (2, 'float32', (2, 2)), (4, 'float32', (1, 2))])
    """
    framed = hasattr(X, "iloc") and hasattr(X, "columns")
    numeric = isinstance(X, np.ndarray) and X.dtype.kind in "fiub"
    if not (framed or numeric) or X.ndim != 2 or X.shape[0] <= block:
        X = validate_predict_data(estimator, X, allow_nan=allow_nan)
        return X.shape[0], iter([(slice(0, X.shape[0]), X)])
    head = X.iloc[:block] if framed else X[:block]
    first = _check_X(estimator, head, allow_nan=allow_nan, reset=False, whole=X)
    return X.shape[0], _later_blocks(estimator, X, first, allow_nan, block)


def _later_blocks(estimator, X, first, allow_nan, block):
    yield slice(0, block), first
    del first  # not kept alive beside the later blocks
    rows = X.iloc if hasattr(X, "iloc") else X
    for start in range(block, X.shape[0], block):
        sl = slice(start, start + block)
        try:
            # names and feature count were checked on the first block
            part = check_array(
                rows[sl],
                dtype=np.float32,
                ensure_all_finite="allow-nan" if allow_nan else True,
                force_writeable=True,
                input_name="X",
                estimator=estimator,
            )
        except ValueError as error:
            if "Input X contains NaN" in str(error):
                _name_nan_columns(X, error)  # the columns and rows of the whole X
            raise
        yield sl, part


def validation_split(n_samples, fraction, *, stratify=None, random_state=None):
    """Indices ``(train, valid)`` of a (stratified) hold-out, or None.

    None when ``fraction`` is None or 0, or when the data are too small for
    every group of ``stratify`` to have a row on both sides: estimators then
    train on everything without early stopping instead of failing.
    """
    if not fraction:
        return None
    n_valid = int(np.floor(fraction * n_samples))
    n_groups = 1
    if stratify is not None:
        _, counts = np.unique(stratify, return_counts=True)
        n_groups = counts.size
        if counts.min() < 2:
            return None
    if n_valid < n_groups or n_samples - n_valid < n_groups:
        return None
    from sklearn.model_selection import train_test_split

    return train_test_split(
        np.arange(n_samples), test_size=n_valid, stratify=stratify, random_state=random_state
    )


def check_random_state_seed(random_state):
    """An integer seed for torch from a scikit-learn ``random_state``."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % (2**32)
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(0, 2**31 - 1))


def check_layer_widths(widths, name, *, allow_empty=True):
    """Refuse hidden-layer widths that are not positive integers.

    Parameters
    ----------
    widths : tuple or list of int
    name : str
        The parameter, for the message.
    allow_empty : bool
        Whether no hidden layer at all is allowed.

    Examples
    --------
    >>> check_layer_widths((64, 0), "hidden_layers")
    Traceback (most recent call last):
    ...
    ValueError: hidden_layers must be positive integers; got (64, 0).
    """
    widths = tuple(widths)
    if any(not isinstance(h, numbers.Integral) or isinstance(h, bool) or h < 1 for h in widths):
        raise ValueError(f"{name} must be positive integers; got {widths}.")
    if not widths and not allow_empty:
        raise ValueError(f"{name} needs at least one layer; got ().")
    return widths


def column_index(column, n_features, names=None, *, param="column"):
    """Position of one column of X given by name or by integer position.

    Parameters
    ----------
    column : str or int
        A name of ``names`` or a position (negative counts from the end).
    n_features : int
    names : ndarray of str or None
        The estimator's ``feature_names_in_`` (None: X had no names).
    param : str
        The parameter that named the column, for the message.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> column_index("mjj", 3, np.array(["mjj", "tau21", "mj"]), param="mass")
    0
    >>> column_index(-1, 3, param="mass")
    2
    >>> column_index("m", 3, np.array(["mjj", "tau21", "mj"]), param="mass")
    Traceback (most recent call last):
    ...
    ValueError: mass='m': unknown column 'm', not a column of X (columns: ['mjj', 'tau21', 'mj']).
    """
    if isinstance(column, str):
        if names is None:
            raise ValueError(
                f"{param}={column!r} names a column, but X has no column names; "
                "pass a DataFrame or give the column's integer position."
            )
        hits = np.flatnonzero(np.asarray(names) == column)
        if hits.size != 1:
            shown = [str(n) for n in names[:12]] + (["..."] if len(names) > 12 else [])
            raise ValueError(
                f"{param}={column!r}: unknown column {column!r}, not a column of X "
                f"(columns: {shown})."
            )
        return int(hits[0])
    if not isinstance(column, numbers.Integral) or isinstance(column, bool):
        raise ValueError(f"{param} must be a column name or an integer position; got {column!r}.")
    if not -n_features <= column < n_features:
        raise ValueError(f"{param}={column} is out of range for X with {n_features} columns.")
    return int(column) % n_features


def feature_names(estimator):
    """``feature_names_in_`` of a fitted estimator, or ``x0, x1, ...``.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> est = BaseEstimator()
    >>> est.n_features_in_ = 2
    >>> feature_names(est)
    ['x0', 'x1']
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return [f"x{i}" for i in range(estimator.n_features_in_)]
    return [str(n) for n in names]


def class_weights(class_weight, y_enc, sample_weight, classes):
    """Per-row multipliers for ``class_weight``.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
        A dict maps class labels to weights (absent labels get 1);
        "balanced" divides by each class's total absolute sample weight.
    y_enc : ndarray of int
        Class indices into ``classes``.
    sample_weight : ndarray
    classes : ndarray
        The labels, in the order of the indices.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> class_weights("balanced", np.array([0, 0, 0, 1]), np.ones(4), np.array(["b", "s"]))
    array([0.6666667, 0.6666667, 0.6666667, 2.       ], dtype=float32)
    """
    n_classes = len(classes)
    if class_weight is None:
        return np.ones(len(y_enc), dtype=np.float32)
    if isinstance(class_weight, str) and class_weight == "balanced":
        totals = np.bincount(y_enc, weights=np.abs(sample_weight), minlength=n_classes)
        per_class = totals.sum() / (n_classes * np.maximum(totals, np.finfo(np.float32).tiny))
    else:
        per_class = np.array([class_weight.get(c, 1.0) for c in classes], dtype=np.float64)
    return per_class[y_enc].astype(np.float32)


class InterruptRecorder:
    """Remember a Ctrl-C (SIGINT) during a block, even where a library drops it.

    A ``KeyboardInterrupt`` raised inside a ctypes callback is printed and
    lost (xgboost builds its training matrix through such callbacks), so a
    fit can return normally after Ctrl-C. In the main thread the recorder
    puts a handler in front of Python's SIGINT handler for the block:

    - ``defer=False``: the interrupt is raised as usual *and* recorded, so
      that :meth:`check` raises it again after a library swallowed it;
    - ``defer=True``: Ctrl-C only sets ``interrupted``; the code stops at a
      point of its choosing (e.g. after a boosting round) and :meth:`check`
      raises ``KeyboardInterrupt`` there.

    Outside the main thread (where Python never sees SIGINT) it does nothing.

    Examples
    --------
    >>> with InterruptRecorder() as ctrl_c:
    ...     ctrl_c.check()  # no Ctrl-C: nothing happens
    >>> ctrl_c.interrupted
    False
    """

    def __init__(self, *, defer=False):
        self.defer = defer

    def __enter__(self):
        self.interrupted = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if callable(previous):  # not SIG_IGN, SIG_DFL, or set outside Python
                self._previous = previous
                signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        self.interrupted = True
        if not self.defer:
            self._previous(signum, frame)

    def check(self):
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed in the block."""
        if self.interrupted:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
