"""Weighted figures of merit for particle physics.

Every metric takes ``sample_weight`` (``None`` means unit weights). Weights are used
*as given*, negative ones included (NLO Monte Carlo samples carry negative event
weights): sums, cumulative sums and histograms simply add them up. Where a negative
total makes a quantity meaningless the function says so in its docstring.

Binary metrics on continuous scores expect ``y_true`` in ``{0, 1}`` (or bool), with
``1`` the signal class, and a larger ``score`` meaning more signal-like; a cut keeps
events with ``score >= threshold``.

The module-level scorers (``r50_scorer``, ``max_sic_scorer``, ``best_ams_scorer``) and
the scorer factories work with ``GridSearchCV(scoring=...)`` and ``cross_validate``.
Sample weights reach them through scikit-learn metadata routing: use a copy obtained
from :func:`get_scorer` (the module-level objects are shared) and call
``scorer.set_score_request(sample_weight=True)`` inside
``sklearn.config_context(enable_metadata_routing=True)``.

Outlier detectors follow the opposite convention (scikit-learn's ``score_samples``
and ``decision_function`` are *lower* for more abnormal rows): :func:`anomaly_score`
turns them into a score that grows with the anomaly, and :func:`anomaly_scorer`
(``get_scorer("anomaly_roc_auc")`` and friends) scores a detector on a small
labelled set (``y = 1`` anomaly or signal, ``0`` background) with that sign.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import get_scorer as _sk_get_scorer
from sklearn.metrics import make_scorer, roc_auc_score, roc_curve

# the scorer class behind make_scorer: subclassed so that the anomaly scorers share
# its metadata routing (set_score_request) and the response cache of multi-metric
# scoring; see _AnomalyScorer
from sklearn.metrics._scorer import _Scorer

__all__ = [
    "ams",
    "anomaly_response_method",
    "anomaly_score",
    "anomaly_scorer",
    "background_rejection",
    "background_rejection_scorer",
    "best_ams",
    "best_ams_scorer",
    "binned_purity_efficiency",
    "efficiency_score",
    "efficiency_scorer",
    "f1_optimal_threshold",
    "get_scorer",
    "inverse_jsd",
    "mass_sculpting_jsd",
    "max_sic",
    "max_sic_scorer",
    "multiclass_discriminant",
    "pid_report",
    "purity_efficiency_f1",
    "purity_score",
    "purity_scorer",
    "r50",
    "r50_scorer",
    "sic_curve",
]

_EPS = 1e-12  # floor for probabilities in ``multiclass_discriminant``


# --------------------------------------------------------------------------- #
# input validation
# --------------------------------------------------------------------------- #
def _as_1d(x, name):
    arr = np.asarray(x)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one sample is required.")
    return arr


def _check_same_length(**arrays):
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"Inconsistent numbers of samples: {desc}.")


def _check_numeric(x, name):
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric.") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN.")
    return arr


def _check_weights(sample_weight, n):
    if sample_weight is None:
        return np.ones(n, dtype=float)
    w = _check_numeric(_as_1d(sample_weight, "sample_weight"), "sample_weight")
    if w.shape[0] != n:
        raise ValueError(
            f"Inconsistent numbers of samples: sample_weight has {w.shape[0]}, expected {n}."
        )
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains infinite values.")
    return w


def _check_binary(y_true):
    """Return ``y_true`` as a boolean array; raise unless its values are in {0, 1}."""
    if y_true.dtype == bool:
        return y_true
    try:
        vals = np.unique(y_true)
    except TypeError as exc:  # mixed types
        raise ValueError("y_true must be binary with values in {0, 1}.") from exc
    if vals.dtype.kind not in "biuf" or not np.isin(vals, (0, 1)).all():
        raise ValueError(
            f"y_true must be binary with values in {{0, 1}} (1 = signal), got values {vals[:10]}."
        )
    return y_true == 1


def _check_binary_scores(y_true, score, sample_weight):
    y = _as_1d(y_true, "y_true")
    s = _as_1d(score, "score")
    _check_same_length(y_true=y, score=s)
    s = _check_numeric(s, "score")
    w = _check_weights(sample_weight, y.shape[0])
    return _check_binary(y), s, w


def _check_labels(y_true, y_pred, sample_weight):
    y = _as_1d(y_true, "y_true")
    p = _as_1d(y_pred, "y_pred")
    _check_same_length(y_true=y, y_pred=p)
    w = _check_weights(sample_weight, y.shape[0])
    return y, p, w


def _safe_div(num, den):
    """``num / den`` with 0.0 where ``den == 0`` (elementwise, no warnings)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _f1(purity, efficiency):
    return _safe_div(2.0 * purity * efficiency, purity + efficiency)


def _cumulative_counts(y, s, w):
    """Weighted signal/background sums passing ``score >= t`` for every distinct ``t``.

    Returns ``(thresholds, sig, bkg)`` with thresholds in decreasing order.
    """
    order = np.argsort(s, kind="mergesort")[::-1]
    s_sorted = s[order]
    ws = np.where(y[order], w[order], 0.0)
    wb = np.where(y[order], 0.0, w[order])
    # last index of every group of tied scores
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.shape[0] - 1]
    return s_sorted[last], np.cumsum(ws)[last], np.cumsum(wb)[last]


def _weighted_roc(y, s, w):
    """Weighted ROC (``fpr, tpr, thresholds``) from :func:`sklearn.metrics.roc_curve`."""
    if w[y].sum() <= 0:
        raise ValueError("The total weight of signal (y_true == 1) must be positive.")
    if w[~y].sum() <= 0:
        raise ValueError("The total weight of background (y_true == 0) must be positive.")
    return roc_curve(y, s, sample_weight=w, drop_intermediate=False)


def _first_crossing(tpr, target):
    """Index of the first ROC point (tightest cut) with ``tpr >= target``."""
    idx = np.flatnonzero(tpr >= target)
    # the last point always has tpr == 1 (up to rounding)
    return int(idx[0]) if idx.size else tpr.shape[0] - 1


def _check_fraction(value, name, *, low_open=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------- #
# label-based metrics
# --------------------------------------------------------------------------- #
def _purity_efficiency(y, p, w, label):
    true_pos = y == label
    pred_pos = p == label
    tp = w[true_pos & pred_pos].sum()
    support = w[true_pos].sum()
    n_pred = w[pred_pos].sum()
    return float(_safe_div(tp, n_pred)), float(_safe_div(tp, support)), float(support)


def efficiency_score(y_true, y_pred, *, pos_label=1, sample_weight=None):
    """Weighted efficiency (recall) of the class ``pos_label``.

    ``sum(w[true == pos & pred == pos]) / sum(w[true == pos])``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any type, e.g. PDG codes).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    pos_label : scalar, default=1
        The class whose efficiency is computed.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given (negative weights allowed).

    Returns
    -------
    float
        The efficiency; ``0.0`` when the weighted number of true ``pos_label``
        events is zero.

    Examples
    --------
    >>> from skhep_ml.metrics import efficiency_score
    >>> efficiency_score([1, 1, 1, 0], [1, 0, 1, 1])
    0.6666666666666666
    >>> efficiency_score([1, 1, 1, 0], [1, 0, 1, 1], sample_weight=[1, 2, 1, 1])
    0.5
    """
    y, p, w = _check_labels(y_true, y_pred, sample_weight)
    return _purity_efficiency(y, p, w, pos_label)[1]


def purity_score(y_true, y_pred, *, pos_label=1, sample_weight=None):
    """Weighted purity (precision) of the class ``pos_label``.

    ``sum(w[true == pos & pred == pos]) / sum(w[pred == pos])``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    pos_label : scalar, default=1
        The class whose purity is computed.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given (negative weights allowed).

    Returns
    -------
    float
        The purity; ``0.0`` when the weighted number of events predicted as
        ``pos_label`` is zero.

    Examples
    --------
    >>> from skhep_ml.metrics import purity_score
    >>> purity_score([1, 1, 0, 0], [1, 1, 1, 0])
    0.6666666666666666
    >>> purity_score([211, 211, 321], [211, 211, 211], pos_label=211, sample_weight=[1, 1, 2])
    0.5
    """
    y, p, w = _check_labels(y_true, y_pred, sample_weight)
    return _purity_efficiency(y, p, w, pos_label)[0]


def _binomial(num, den, den_w2):
    """Ratio ``num/den`` and its binomial error with ``n_eff = den**2 / den_w2``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den > 0, num / den, np.nan)
        n_eff = np.where(den_w2 > 0, den**2 / den_w2, np.nan)
        err = np.sqrt(np.clip(ratio * (1.0 - ratio), 0.0, None) / n_eff)
    return ratio, err


def binned_purity_efficiency(
    y_true, y_pred, variable, *, bins=10, range=None, pos_label=1, sample_weight=None
):
    """Purity and efficiency of one class in bins of a variable (e.g. pT), with errors.

    In every bin, :func:`efficiency_score` and :func:`purity_score` of the
    events of that bin. The errors are binomial, ``sqrt(p (1 - p) / n_eff)``
    with the effective number of events ``n_eff = (sum w)**2 / sum w**2`` of
    the denominator.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (any type, e.g. PDG codes).
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    variable : array-like of shape (n_samples,)
        The variable to bin in.
    bins : int or array-like, default=10
        As in :func:`numpy.histogram` (the last bin includes its upper edge);
        events outside the range are ignored.
    range : (float, float), default=None
        ``None``: min and max of ``variable``.
    pos_label : scalar, default=1
        The class.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``low``, ``high``, ``purity``, ``purity_err``,
        ``efficiency``, ``efficiency_err`` and ``support`` (the weighted number
        of true ``pos_label`` events). Purity or efficiency is NaN where its
        denominator is empty.

    Examples
    --------
    >>> from skhep_ml.metrics import binned_purity_efficiency
    >>> t = binned_purity_efficiency(
    ...     [211, 211, 321, 321, 211, 321], [211, 321, 321, 321, 211, 211],
    ...     [0.5, 0.7, 0.6, 1.5, 1.6, 1.7], bins=[0, 1, 2], pos_label=321)
    >>> t[["low", "high", "purity", "efficiency"]].to_numpy().tolist()
    [[0.0, 1.0, 0.5, 1.0], [1.0, 2.0, 1.0, 0.5]]
    """
    y, p, w = _check_labels(y_true, y_pred, sample_weight)
    v = _check_numeric(_as_1d(variable, "variable"), "variable")
    _check_same_length(y_true=y, variable=v)
    true_pos, pred_pos = y == pos_label, p == pos_label
    tp = true_pos & pred_pos
    _, edges = np.histogram(v, bins=bins, range=range)

    def h(mask, weights):
        return np.histogram(v[mask], bins=edges, weights=weights[mask])[0]

    efficiency, efficiency_err = _binomial(h(tp, w), h(true_pos, w), h(true_pos, w**2))
    purity, purity_err = _binomial(h(tp, w), h(pred_pos, w), h(pred_pos, w**2))
    return pd.DataFrame(
        {
            "low": edges[:-1],
            "high": edges[1:],
            "purity": purity,
            "purity_err": purity_err,
            "efficiency": efficiency,
            "efficiency_err": efficiency_err,
            "support": h(true_pos, w),
        }
    )


def pid_report(y_true, y_pred, *, labels=None, sample_weight=None):
    """Per-class weighted purity, efficiency, F1 and support (one-vs-rest).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, e.g. PDG codes.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    labels : array-like, default=None
        Classes to report, in this order. ``None``: the sorted union of the labels
        in ``y_true`` and ``y_pred``.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given (negative weights allowed).

    Returns
    -------
    pandas.DataFrame
        Indexed by class label (index name ``"label"``) with columns ``purity``,
        ``efficiency``, ``f1`` and ``support`` (weighted number of true events of
        the class). Ratios with a zero denominator are reported as ``0.0``.

    Examples
    --------
    >>> from skhep_ml.metrics import pid_report
    >>> rep = pid_report([211, 211, 321, 2212], [211, 321, 321, 2212])
    >>> rep.round(3)  # doctest: +NORMALIZE_WHITESPACE
           purity  efficiency     f1  support
    label
    211       1.0         0.5  0.667      2.0
    321       0.5         1.0  0.667      1.0
    2212      1.0         1.0  1.000      1.0
    """
    y, p, w = _check_labels(y_true, y_pred, sample_weight)
    if labels is None:
        labels = np.unique(np.concatenate([y, p]))
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] == 0:
            raise ValueError("labels must be a non-empty 1-D array-like.")
    rows = [_purity_efficiency(y, p, w, lab) for lab in labels]
    pur = np.array([r[0] for r in rows], dtype=float)
    eff = np.array([r[1] for r in rows], dtype=float)
    sup = np.array([r[2] for r in rows], dtype=float)
    return pd.DataFrame(
        {"purity": pur, "efficiency": eff, "f1": _f1(pur, eff), "support": sup},
        index=pd.Index(labels, name="label"),
    )


# --------------------------------------------------------------------------- #
# threshold scans
# --------------------------------------------------------------------------- #
def _f1_scan(y, s, w):
    thresholds, tp, fp = _cumulative_counts(y, s, w)
    n_pos = w[y].sum()
    # F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (TP + FP + P)
    f1 = _safe_div(2.0 * tp, tp + fp + n_pos)
    return thresholds, f1


def f1_optimal_threshold(y_true, score, *, sample_weight=None):
    """Cut ``score >= threshold`` that maximises the weighted F1 score.

    All distinct score values are scanned at once (one sort, cumulative sums).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given (negative weights allowed).

    Returns
    -------
    threshold : float
        The optimal cut value (a value of ``score``); ties in F1 go to the
        tightest cut.
    f1 : float
        The weighted F1 score at that cut (``0.0`` if there is no signal weight).

    Examples
    --------
    >>> from skhep_ml.metrics import f1_optimal_threshold
    >>> thr, f1 = f1_optimal_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.7, 0.9])
    >>> float(thr), round(f1, 3)
    (0.8, 0.8)
    """
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    thresholds, f1 = _f1_scan(y, s, w)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def purity_efficiency_f1(y_true, score, *, threshold=None, sample_weight=None):
    """Weighted purity, efficiency and F1 of the cut ``score >= threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    threshold : float, default=None
        The cut. ``None``: the F1-optimal cut of :func:`f1_optimal_threshold`.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given (negative weights allowed).

    Returns
    -------
    dict
        Keys ``threshold``, ``purity``, ``efficiency``, ``f1`` (floats).

    Examples
    --------
    >>> from skhep_ml.metrics import purity_efficiency_f1
    >>> res = purity_efficiency_f1([0, 1, 1, 0], [0.2, 0.6, 0.9, 0.7], threshold=0.5)
    >>> {k: round(v, 3) for k, v in res.items()}
    {'threshold': 0.5, 'purity': 0.667, 'efficiency': 1.0, 'f1': 0.8}
    """
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    if threshold is None:
        thresholds, f1 = _f1_scan(y, s, w)
        threshold = thresholds[int(np.argmax(f1))]
    else:
        if not isinstance(threshold, numbers.Real) or np.isnan(threshold):
            raise ValueError(f"threshold must be a real number or None, got {threshold!r}.")
    pred = s >= threshold
    pur, eff, _ = _purity_efficiency(y, pred, w, True)
    return {
        "threshold": float(threshold),
        "purity": pur,
        "efficiency": eff,
        "f1": float(_f1(pur, eff)),
    }


# --------------------------------------------------------------------------- #
# ROC-based metrics
# --------------------------------------------------------------------------- #
def background_rejection(y_true, score, *, signal_efficiency=0.5, sample_weight=None):
    """Background rejection ``1 / eps_B`` at a given signal efficiency ``eps_S``.

    ``eps_B`` is read off the weighted ROC curve
    (:func:`sklearn.metrics.roc_curve` with ``drop_intermediate=False``) by linear
    interpolation between the two consecutive points (scanning from the tightest
    cut) that bracket ``eps_S`` for the first time. This is well defined even when
    negative weights make the curve non-monotonic.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    signal_efficiency : float in [0, 1], default=0.5
        The working point ``eps_S``.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given; the total signal and background weights
        must be positive.

    Returns
    -------
    float
        ``1 / eps_B``; ``np.inf`` when ``eps_B`` is zero (or negative, which only
        negative weights can produce) at ``eps_S``.

    Examples
    --------
    >>> from skhep_ml.metrics import background_rejection
    >>> y = [1, 0, 1, 0, 0, 1, 0, 0]
    >>> s = [0.9, 0.85, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1]
    >>> background_rejection(y, s, signal_efficiency=0.5)
    5.0
    """
    target = _check_fraction(signal_efficiency, "signal_efficiency")
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    fpr, tpr, _ = _weighted_roc(y, s, w)
    i = _first_crossing(tpr, target)
    if i == 0 or tpr[i] == target:
        eps_b = fpr[i]
    else:
        frac = (target - tpr[i - 1]) / (tpr[i] - tpr[i - 1])
        eps_b = fpr[i - 1] + frac * (fpr[i] - fpr[i - 1])
    return float(1.0 / eps_b) if eps_b > 0 else np.inf


def r50(y_true, score, *, sample_weight=None):
    """Background rejection at 50% signal efficiency, ``1 / eps_B(eps_S = 0.5)``.

    See :func:`background_rejection`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given.

    Returns
    -------
    float
        R50 (``np.inf`` if no background passes the cut).

    Examples
    --------
    >>> from skhep_ml.metrics import r50
    >>> r50([1, 0, 1, 0, 0, 1, 0, 0], [0.9, 0.85, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1])
    5.0
    >>> r50([1, 0], [0.9, 0.1])
    inf
    """
    return background_rejection(y_true, score, signal_efficiency=0.5, sample_weight=sample_weight)


def sic_curve(y_true, score, *, sample_weight=None):
    """Significance improvement characteristic ``eps_S / sqrt(eps_B)``.

    Computed on every point of the weighted ROC curve; points with
    ``eps_B <= 0`` (where the SIC is infinite or undefined) are dropped.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given; total signal and background weights must be
        positive.

    Returns
    -------
    eps_s : ndarray
        Signal efficiencies, from the tightest to the loosest cut.
    sic : ndarray
        The SIC at each of them.

    Examples
    --------
    >>> from skhep_ml.metrics import sic_curve
    >>> eps_s, sic = sic_curve([1, 0, 1, 0], [0.9, 0.6, 0.7, 0.2])
    >>> eps_s.round(3).tolist(), sic.round(3).tolist()
    ([1.0, 1.0], [1.414, 1.0])
    """
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    fpr, tpr, _ = _weighted_roc(y, s, w)
    keep = fpr > 0
    return tpr[keep], tpr[keep] / np.sqrt(fpr[keep])


def max_sic(y_true, score, *, sample_weight=None, min_background_efficiency=None):
    """Maximum of the significance improvement characteristic ``eps_S / sqrt(eps_B)``.

    At tight cuts only a handful of background events survive and the SIC is
    dominated by statistical fluctuations; anomaly-detection papers therefore
    restrict the maximum to ``eps_B`` above a floor (e.g. ``1e-4``), or to cuts
    keeping at least ``N`` background events, i.e.
    ``min_background_efficiency = N / n_background`` (weighted: ``N`` in units of
    the background weight).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given.
    min_background_efficiency : float in (0, 1], default=None
        Only ROC points with ``eps_B >= min_background_efficiency`` are considered.
        ``None``: all points with ``eps_B > 0``.

    Returns
    -------
    float
        The maximum SIC.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.metrics import max_sic
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(500), np.zeros(500)]
    >>> s = np.r_[rng.normal(1, 1, 500), rng.normal(0, 1, 500)]
    >>> bool(max_sic(y, s) >= max_sic(y, s, min_background_efficiency=0.1))
    True
    """
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    fpr, tpr, _ = _weighted_roc(y, s, w)
    if min_background_efficiency is None:
        keep = fpr > 0
    else:
        floor = _check_fraction(
            min_background_efficiency, "min_background_efficiency", low_open=True
        )
        keep = fpr >= floor
    if not keep.any():
        raise ValueError("No ROC point satisfies the background-efficiency requirement.")
    return float(np.max(tpr[keep] / np.sqrt(fpr[keep])))


# --------------------------------------------------------------------------- #
# approximate median significance
# --------------------------------------------------------------------------- #
def _ams_unchecked(s, b, b_reg):
    with np.errstate(divide="ignore", invalid="ignore"):
        bb = b + b_reg
        rad = 2.0 * ((s + bb) * np.log1p(s / bb) - s)
        return np.sqrt(np.maximum(rad, 0.0))


def ams(s, b, *, b_reg=10.0):
    """Approximate median significance of the HiggsML challenge.

    ``AMS = sqrt(2 ((s + b + b_reg) ln(1 + s / (b + b_reg)) - s))``, which tends to
    ``s / sqrt(b + b_reg)`` for ``s << b``.

    Parameters
    ----------
    s : float or array-like
        Weighted number of selected signal events.
    b : float or array-like
        Weighted number of selected background events (broadcast against ``s``).
    b_reg : float, default=10.0
        Regularisation term of the challenge.

    Returns
    -------
    float or ndarray
        The AMS, a float for scalar inputs.

    Raises
    ------
    ValueError
        If ``b + b_reg <= 0`` or ``s + b + b_reg <= 0`` anywhere (possible only
        with negative weights), or an input is NaN.

    Examples
    --------
    >>> from skhep_ml.metrics import ams
    >>> round(ams(10.0, 90.0), 4)
    0.984
    >>> ams([0.0, 10.0], [90.0, 90.0]).round(4).tolist()
    [0.0, 0.984]
    """
    s_arr = _check_numeric(s, "s")
    b_arr = _check_numeric(b, "b")
    if not isinstance(b_reg, numbers.Real) or np.isnan(b_reg):
        raise ValueError(f"b_reg must be a real number, got {b_reg!r}.")
    if np.any(b_arr + b_reg <= 0):
        raise ValueError("b + b_reg must be positive.")
    if np.any(s_arr + b_arr + b_reg <= 0):
        raise ValueError("s + b + b_reg must be positive.")
    out = _ams_unchecked(s_arr, b_arr, float(b_reg))
    return float(out) if out.ndim == 0 else out


def best_ams(y_true, score, *, sample_weight=None, b_reg=10.0):
    """Largest AMS over all cuts ``score >= t``.

    Signal and background yields ``s`` and ``b`` are the weighted sums of the
    selected events (weights normalised to the luminosity in the HiggsML
    convention). Every distinct score value is scanned at once (one sort,
    cumulative sums); cuts where negative weights make the AMS undefined are
    skipped.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given (negative weights allowed).
    b_reg : float, default=10.0
        Regularisation term of :func:`ams`.

    Returns
    -------
    ams_max : float
        The maximal AMS.
    threshold : float
        The cut value reaching it (tightest cut on ties).

    Examples
    --------
    >>> from skhep_ml.metrics import best_ams
    >>> a, t = best_ams([1, 1, 0, 1, 0], [0.9, 0.8, 0.7, 0.4, 0.1], b_reg=1.0)
    >>> round(a, 3), float(t)
    (1.778, 0.4)
    """
    if not isinstance(b_reg, numbers.Real) or np.isnan(b_reg):
        raise ValueError(f"b_reg must be a real number, got {b_reg!r}.")
    y, sc, w = _check_binary_scores(y_true, score, sample_weight)
    thresholds, sig, bkg = _cumulative_counts(y, sc, w)
    valid = (bkg + b_reg > 0) & (sig + bkg + b_reg > 0)
    if not valid.any():
        raise ValueError("The AMS is undefined at every cut (b + b_reg <= 0).")
    values = np.where(valid, _ams_unchecked(sig, bkg, float(b_reg)), -np.inf)
    i = int(np.argmax(values))
    return float(values[i]), float(thresholds[i])


# --------------------------------------------------------------------------- #
# mass sculpting
# --------------------------------------------------------------------------- #
def mass_sculpting_jsd(
    y_true,
    score,
    mass,
    *,
    signal_efficiency=0.5,
    bins=30,
    range=None,
    sample_weight=None,
):
    """Jensen-Shannon divergence of the background mass shape before/after a cut.

    The cut is the tightest ``score >= t`` whose weighted signal efficiency is at
    least ``signal_efficiency``. The weighted mass histograms of the background
    events that pass and that fail it are normalised to unit area and compared with
    the Jensen-Shannon divergence in base 2 (0: identical shapes, 1: disjoint
    support). This is the mass-decorrelation metric of arXiv:1703.03507; ``1/JSD``
    is the usual axis of decorrelation plots (see :func:`inverse_jsd`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary truth in ``{0, 1}`` or bool (1 = signal).
    score : array-like of shape (n_samples,)
        Classifier output, larger is more signal-like.
    mass : array-like of shape (n_samples,)
        The variable whose sculpting is measured (usually an invariant mass).
    signal_efficiency : float in [0, 1], default=0.5
        Signal efficiency of the cut.
    bins : int or array-like, default=30
        Number of bins or bin edges, as in :func:`numpy.histogram`.
    range : (float, float), default=None
        Histogram range; ``None``: min and max of the background mass.
    sample_weight : array-like of shape (n_samples,), default=None
        Event weights, used as given to fill the histograms; negative bin contents
        (possible with negative weights) are clipped to zero before normalising.

    Returns
    -------
    float
        The Jensen-Shannon divergence in ``[0, 1]`` (the square of
        :func:`scipy.spatial.distance.jensenshannon` with ``base=2``).

    Raises
    ------
    ValueError
        Besides bad input, when the passing or the failing background histogram is
        empty (e.g. no background passes the cut).

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.metrics import mass_sculpting_jsd
    >>> y = np.array([1, 1, 0, 0, 0, 0])
    >>> score = np.array([0.9, 0.2, 0.95, 0.92, 0.3, 0.1])
    >>> mass = np.array([125.0, 125.0, 80.0, 85.0, 80.0, 85.0])
    >>> mass_sculpting_jsd(y, score, mass, bins=2)
    0.0
    >>> round(mass_sculpting_jsd(y, score, mass, bins=2, signal_efficiency=1.0), 3)
    0.459
    """
    target = _check_fraction(signal_efficiency, "signal_efficiency")
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    m = _as_1d(mass, "mass")
    _check_same_length(y_true=y, mass=m)
    m = _check_numeric(m, "mass")
    _, tpr, thresholds = _weighted_roc(y, s, w)
    cut = thresholds[_first_crossing(tpr, target)]
    bkg = ~y
    passed = bkg & (s >= cut)
    failed = bkg & (s < cut)
    if range is None:
        range = (float(m[bkg].min()), float(m[bkg].max()))
    h_pass, edges = np.histogram(m[passed], bins=bins, range=range, weights=w[passed])
    h_fail, _ = np.histogram(m[failed], bins=edges, weights=w[failed])
    h_pass = np.clip(h_pass, 0.0, None)
    h_fail = np.clip(h_fail, 0.0, None)
    if h_pass.sum() <= 0:
        raise ValueError(
            "No background weight passes the cut (inside the histogram range); "
            "the JSD is undefined."
        )
    if h_fail.sum() <= 0:
        raise ValueError(
            "No background weight fails the cut (inside the histogram range); the JSD is undefined."
        )
    dist = jensenshannon(h_pass / h_pass.sum(), h_fail / h_fail.sum(), base=2)
    return float(min(max(dist, 0.0) ** 2, 1.0))


def inverse_jsd(
    y_true,
    score,
    mass,
    *,
    signal_efficiency=0.5,
    bins=30,
    range=None,
    sample_weight=None,
):
    """Inverse of :func:`mass_sculpting_jsd` (``np.inf`` if the JSD is 0).

    Parameters
    ----------
    y_true, score, mass, signal_efficiency, bins, range, sample_weight
        As in :func:`mass_sculpting_jsd`.

    Returns
    -------
    float
        ``1 / JSD``; larger means less mass sculpting.

    Examples
    --------
    >>> from skhep_ml.metrics import inverse_jsd
    >>> y = [1, 1, 0, 0, 0, 0]
    >>> score = [0.9, 0.2, 0.95, 0.92, 0.3, 0.1]
    >>> inverse_jsd(y, score, [125, 125, 80, 85, 80, 85], bins=2)
    inf
    """
    jsd = mass_sculpting_jsd(
        y_true,
        score,
        mass,
        signal_efficiency=signal_efficiency,
        bins=bins,
        range=range,
        sample_weight=sample_weight,
    )
    return float(1.0 / jsd) if jsd > 0 else np.inf


# --------------------------------------------------------------------------- #
# multi-class discriminant
# --------------------------------------------------------------------------- #
def multiclass_discriminant(proba, *, fractions=None):
    """Log-likelihood-ratio discriminants from multi-class probabilities.

    ``D_i = log10(p_i / sum_{j != i} f_j p_j)`` for every class ``i``, where the
    weights ``f_j`` of the other classes are normalised to sum to one over
    ``j != i``. With ``fractions=None`` every ``f_j = 1`` (no normalisation), so
    for normalised probabilities ``D_i = log10(p_i / (1 - p_i))``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Non-negative class probabilities (``n_classes >= 2``), e.g. from
        ``predict_proba``.
    fractions : array-like of shape (n_classes,), default=None
        Non-negative prior fractions of the classes (e.g. expected yields); only
        their ratios matter.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        The discriminants. Numerator and denominator are floored at ``1e-12``
        before the logarithm, so values lie in about ``[-12, 12]`` and never
        overflow.

    Examples
    --------
    >>> from skhep_ml.metrics import multiclass_discriminant
    >>> multiclass_discriminant([[0.5, 0.25, 0.25]]).round(3).tolist()
    [[0.0, -0.477, -0.477]]
    >>> multiclass_discriminant([[0.5, 0.25, 0.25]], fractions=[1, 3, 1]).round(3).tolist()
    [[0.301, -0.176, -0.097]]
    """
    try:
        p = np.asarray(proba, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError("proba must be numeric.") from exc
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must have shape (n_samples, n_classes >= 2), got {p.shape}.")
    if p.shape[0] == 0:
        raise ValueError("proba is empty; at least one sample is required.")
    if not np.isfinite(p).all():
        raise ValueError("proba contains NaN or infinite values.")
    if (p < 0).any():
        raise ValueError("proba must be non-negative.")
    n_classes = p.shape[1]
    if fractions is None:
        denom = p.sum(axis=1, keepdims=True) - p
    else:
        f = _check_numeric(fractions, "fractions")
        if f.shape != (n_classes,):
            raise ValueError(f"fractions must have shape ({n_classes},), got {f.shape}.")
        if not np.isfinite(f).all() or (f < 0).any():
            raise ValueError("fractions must be finite and non-negative.")
        norm = f.sum() - f  # sum_{j != i} f_j, for each i
        if (norm <= 0).any():
            raise ValueError("For every class, the fractions of the other classes must sum > 0.")
        fp = p * f
        denom = (fp.sum(axis=1, keepdims=True) - fp) / norm
    return np.log10(np.maximum(p, _EPS)) - np.log10(np.maximum(denom, _EPS))


# --------------------------------------------------------------------------- #
# scorers
# --------------------------------------------------------------------------- #
_CONTINUOUS = ("decision_function", "predict_proba")


def _best_ams_value(y_true, score, *, sample_weight=None, b_reg=10.0):
    return best_ams(y_true, score, sample_weight=sample_weight, b_reg=b_reg)[0]


r50_scorer = make_scorer(r50, response_method=_CONTINUOUS)
"""Scorer for :func:`r50` on a binary classifier's continuous output."""

max_sic_scorer = make_scorer(max_sic, response_method=_CONTINUOUS)
"""Scorer for :func:`max_sic` on a binary classifier's continuous output."""

best_ams_scorer = make_scorer(_best_ams_value, response_method=_CONTINUOUS)
"""Scorer for the AMS value of :func:`best_ams` (``b_reg=10``)."""


def background_rejection_scorer(signal_efficiency=0.5):
    """Scorer for :func:`background_rejection` at a given signal efficiency.

    Parameters
    ----------
    signal_efficiency : float in [0, 1], default=0.5
        The working point.

    Returns
    -------
    callable
        A scikit-learn scorer using ``decision_function`` or ``predict_proba``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skhep_ml.metrics import background_rejection_scorer
    >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    >>> clf = LogisticRegression().fit(X, y)
    >>> background_rejection_scorer(0.3)(clf, X, y)
    inf
    """
    _check_fraction(signal_efficiency, "signal_efficiency")
    return make_scorer(
        background_rejection,
        response_method=_CONTINUOUS,
        signal_efficiency=float(signal_efficiency),
    )


def purity_scorer(pos_label=1):
    """Scorer for :func:`purity_score` on ``predict`` output.

    Parameters
    ----------
    pos_label : scalar, default=1
        The class whose purity is scored.

    Returns
    -------
    callable
        A scikit-learn scorer.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from skhep_ml.metrics import purity_scorer
    >>> X, y = [[0], [0], [0], [0]], [211, 211, 211, 321]
    >>> clf = DummyClassifier(strategy="most_frequent").fit(X, y)
    >>> purity_scorer(pos_label=211)(clf, X, y)
    0.75
    """
    return make_scorer(purity_score, response_method="predict", pos_label=pos_label)


def efficiency_scorer(pos_label=1):
    """Scorer for :func:`efficiency_score` on ``predict`` output.

    Parameters
    ----------
    pos_label : scalar, default=1
        The class whose efficiency is scored.

    Returns
    -------
    callable
        A scikit-learn scorer.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from skhep_ml.metrics import efficiency_scorer
    >>> X, y = [[0], [0], [0], [0]], [211, 211, 211, 321]
    >>> clf = DummyClassifier(strategy="most_frequent").fit(X, y)
    >>> efficiency_scorer(pos_label=321)(clf, X, y)
    0.0
    """
    return make_scorer(efficiency_score, response_method="predict", pos_label=pos_label)


# --------------------------------------------------------------------------- #
# anomaly scores and scorers (outlier detectors: lower score_samples = abnormal)
# --------------------------------------------------------------------------- #
_ANOMALY_METHODS = ("score_samples", "decision_function")


def anomaly_response_method(estimator):
    """The method whose opposite is the anomaly score of ``estimator``.

    scikit-learn's outlier detectors (and density estimators such as
    ``KernelDensity`` or ``GaussianMixture``, whose ``score_samples`` is a
    log-density) return *lower* values for more abnormal rows from
    ``score_samples`` and ``decision_function``, which differ by a constant
    (``offset_``). ``score_samples`` is preferred; ``decision_function`` is the
    fall-back. Works on fitted and unfitted estimators, so that a
    meta-estimator can check its members before fitting them.

    Parameters
    ----------
    estimator : estimator instance
        An outlier detector or density estimator (a ``Pipeline`` ending in one
        counts).

    Returns
    -------
    str
        ``"score_samples"`` or ``"decision_function"``.

    Raises
    ------
    TypeError
        For a classifier or regressor (their ``decision_function`` grows with
        the signal: the opposite sign), or an estimator with neither method.

    Examples
    --------
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skhep_ml.metrics import anomaly_response_method
    >>> anomaly_response_method(IsolationForest())
    'score_samples'
    >>> anomaly_response_method(LogisticRegression())
    Traceback (most recent call last):
    ...
    TypeError: LogisticRegression is a classifier: ...
    """
    name = type(estimator).__name__
    for kind, test in (("classifier", is_classifier), ("regressor", is_regressor)):
        if test(estimator):
            raise TypeError(
                f"{name} is a {kind}: its decision_function or score grows with the signal, "
                "the opposite of the outlier-detector convention the anomaly scores assume. "
                "Score a classifier with a plain scorer (e.g. get_scorer('roc_auc'))."
            )
    for method in _ANOMALY_METHODS:
        if hasattr(estimator, method):
            return method
    hint = " (LocalOutlierFactor has them with novelty=True)" if "LocalOutlier" in name else ""
    raise TypeError(
        f"{name} has neither score_samples nor decision_function{hint}: it is not an "
        "outlier detector or density estimator, so it gives no anomaly score."
    )


def _anomaly_score(estimator, X, call):
    """``-call(method)`` for the method of :func:`anomaly_response_method`."""
    method = anomaly_response_method(estimator)
    return -np.asarray(call(method), dtype=float)


def anomaly_score(estimator, X):
    """Anomaly score of a fitted outlier detector: higher = more anomalous.

    ``-estimator.score_samples(X)``, or ``-estimator.decision_function(X)`` when
    there is no ``score_samples`` (the two differ by a constant, so every
    metric on this score is the same). This is the score to give the binary
    metrics of this module (:func:`max_sic`, :func:`background_rejection`,
    ``roc_auc_score``), which expect a larger score for the signal.

    Parameters
    ----------
    estimator : fitted estimator
        An outlier detector or density estimator (see
        :func:`anomaly_response_method`).
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    TypeError
        See :func:`anomaly_response_method`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skhep_ml.metrics import anomaly_score
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> iso = IsolationForest(random_state=0).fit(X)
    >>> s = anomaly_score(iso, [[0.0, 0.0], [6.0, 6.0]])
    >>> bool(s[1] > s[0])
    True
    """
    return _anomaly_score(estimator, X, lambda method: getattr(estimator, method)(X))


def _check_anomaly_labels(y_true):
    """Refuse labels other than 1 (anomaly) / 0 (background), or a single class."""
    y = _as_1d(y_true, "y")
    try:
        values = np.unique(y)
    except TypeError as exc:  # mixed types
        raise ValueError("y must hold 1 (anomaly or signal) and 0 (background).") from exc
    if y.dtype != bool and (values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all()):
        hint = ""
        if values.dtype.kind in "iuf" and np.isin(values, (-1, 1)).all():
            hint = (
                " The -1/+1 of an outlier detector's predict is not accepted: say which "
                "rows are anomalies, e.g. y = (labels == -1).astype(int)."
            )
        raise ValueError(
            f"y must hold 1 (anomaly or signal) and 0 (background), got values {values[:10]}."
            + hint
        )
    if values.size < 2:
        which = "anomalies (y == 1)" if bool(values[0]) else "background (y == 0)"
        raise ValueError(
            f"y holds only {which} in the rows being scored: an anomaly scorer needs both "
            "anomalies and background. In cross-validation split with StratifiedKFold "
            "(e.g. GridSearchCV(..., cv=StratifiedKFold(5))): an outlier detector is not a "
            "classifier, so an integer cv gives unstratified KFold folds."
        )


def _anomaly_roc_auc(y_true, score, *, sample_weight=None):
    y, s, w = _check_binary_scores(y_true, score, sample_weight)
    return float(roc_auc_score(y, s, sample_weight=w))


_ANOMALY_METRICS = {
    "roc_auc": _anomaly_roc_auc,
    "max_sic": max_sic,
    "background_rejection": background_rejection,
}


class _AnomalyScorer(_Scorer):
    """A :func:`make_scorer` scorer whose response is :func:`anomaly_score`.

    Only ``_score`` differs from scikit-learn's ``_Scorer``: the response is the
    opposite of the detector's ``score_samples`` (or ``decision_function``), and
    ``y`` is checked for both classes first. Sample weights, metadata routing and
    the response cache of multi-metric scoring are scikit-learn's.
    """

    def __init__(self, metric, kwargs):
        super().__init__(_ANOMALY_METRICS[metric], 1, kwargs, response_method=_ANOMALY_METHODS)
        self._metric = metric

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        self._warn_overlap(
            message=(
                "There is an overlap between set kwargs of this scorer instance and passed "
                "metadata. Please pass them either to anomaly_scorer or as metadata."
            ),
            kwargs=kwargs,
        )
        _check_anomaly_labels(y_true)
        score = _anomaly_score(
            estimator, X, lambda method: method_caller(estimator, method, X, pos_label=None)
        )
        return self._score_func(y_true, score, **{**self._kwargs, **kwargs})

    def __repr__(self):
        kwargs = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        return f"anomaly_scorer({self._metric!r}{kwargs})"


def anomaly_scorer(metric="roc_auc", *, signal_efficiency=None, min_background_efficiency=None):
    """Scorer of an outlier detector on labelled rows (1 = anomaly, 0 = background).

    The scorer computes :func:`anomaly_score` (``-score_samples``, or
    ``-decision_function`` without ``score_samples``: higher = more anomalous)
    and rates it with ``metric``; greater is better. Use it where a small
    labelled validation set exists, in ``GridSearchCV(scoring=...)``,
    ``cross_val_score`` or ``cross_validate``. The plain ``"roc_auc"`` scorer
    would rate ``decision_function`` the wrong way round (an AUC of ``1 - AUC``).

    Outlier detectors ignore ``y`` in ``fit``, so ``GridSearchCV.fit(X, y)``
    trains on the labelled rows as on data (anomalies included) and scores the
    held-out fold with its labels. Give ``cv=StratifiedKFold(...)``: an integer
    ``cv`` is unstratified for a detector (not a classifier) and a fold without
    anomalies raises a ``ValueError``.

    Sample weights reach the metric as with every scorer of this module: call
    ``scorer(estimator, X, y, sample_weight=w)``, or in a search enable
    metadata routing and request them with
    ``scorer.set_score_request(sample_weight=True)``.

    Parameters
    ----------
    metric : {"roc_auc", "max_sic", "background_rejection"}, default="roc_auc"
        ``"roc_auc"``: weighted area under the ROC curve
        (:func:`sklearn.metrics.roc_auc_score`); ``"max_sic"``:
        :func:`max_sic`; ``"background_rejection"``: ``1 / eps_B`` at
        ``signal_efficiency`` (:func:`background_rejection`).
    signal_efficiency : float in [0, 1], default=None
        The working point of ``metric="background_rejection"`` (``None``: 0.5,
        i.e. R50). Only for that metric.
    min_background_efficiency : float in (0, 1], default=None
        Lower bound on ``eps_B`` of ``metric="max_sic"`` (see :func:`max_sic`).
        Only for that metric.

    Returns
    -------
    callable
        ``scorer(estimator, X, y, sample_weight=None)``; it raises a
        ``ValueError`` when ``y`` is not 0/1 or holds a single class, and a
        ``TypeError`` for an estimator that is no outlier detector (see
        :func:`anomaly_response_method`).

    See Also
    --------
    get_scorer : the same scorers by name (``"anomaly_roc_auc"``,
        ``"anomaly_max_sic"``, ``"anomaly_r50"``, ``"anomaly_rejection_10"``,
        ``"anomaly_rejection_30"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sklearn.metrics import roc_auc_score
    >>> from skhep_ml.metrics import anomaly_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (300, 2)), rng.normal(0, 6, (30, 2))])
    >>> y = np.r_[np.zeros(300), np.ones(30)]
    >>> iso = IsolationForest(random_state=0).fit(X)
    >>> round(anomaly_scorer("roc_auc")(iso, X, y), 2)
    0.99
    >>> round(roc_auc_score(y, iso.decision_function(X)), 2)  # the wrong sign
    0.01
    >>> anomaly_scorer("background_rejection", signal_efficiency=0.3)
    anomaly_scorer('background_rejection', signal_efficiency=0.3)
    """
    if metric not in _ANOMALY_METRICS:
        raise ValueError(f"metric must be one of {sorted(_ANOMALY_METRICS)}, got {metric!r}.")
    kwargs = {}
    if signal_efficiency is not None:
        if metric != "background_rejection":
            raise ValueError(
                f"signal_efficiency is the working point of metric='background_rejection'; "
                f"metric={metric!r} has none."
            )
        kwargs["signal_efficiency"] = _check_fraction(signal_efficiency, "signal_efficiency")
    if min_background_efficiency is not None:
        if metric != "max_sic":
            raise ValueError(
                f"min_background_efficiency bounds metric='max_sic'; metric={metric!r} takes none."
            )
        kwargs["min_background_efficiency"] = _check_fraction(
            min_background_efficiency, "min_background_efficiency", low_open=True
        )
    return _AnomalyScorer(metric, kwargs)


_SCORERS = {
    "r50": r50_scorer,
    "max_sic": max_sic_scorer,
    "best_ams": best_ams_scorer,
    "anomaly_roc_auc": anomaly_scorer("roc_auc"),
    "anomaly_max_sic": anomaly_scorer("max_sic"),
    "anomaly_r50": anomaly_scorer("background_rejection", signal_efficiency=0.5),
    "anomaly_rejection_10": anomaly_scorer("background_rejection", signal_efficiency=0.1),
    "anomaly_rejection_30": anomaly_scorer("background_rejection", signal_efficiency=0.3),
}


def get_scorer(name):
    """Return a scorer by name: ``"r50"``, ``"max_sic"``, ``"best_ams"``, an
    anomaly scorer, or any name (or callable) accepted by
    :func:`sklearn.metrics.get_scorer`.

    The anomaly scorers (:func:`anomaly_scorer`) rate an outlier detector's
    :func:`anomaly_score` on labelled rows: ``"anomaly_roc_auc"``,
    ``"anomaly_max_sic"``, ``"anomaly_r50"``, ``"anomaly_rejection_10"`` and
    ``"anomaly_rejection_30"`` (background rejection at 50%, 10% and 30%
    signal efficiency).

    The skhep_ml scorers are returned as deep copies, so that
    ``set_score_request(sample_weight=True)`` does not alter the module-level
    objects.

    Parameters
    ----------
    name : str or callable
        Scorer name.

    Returns
    -------
    callable
        The scorer.

    Examples
    --------
    >>> from skhep_ml.metrics import get_scorer
    >>> get_scorer("r50")
    make_scorer(r50, response_method=('decision_function', 'predict_proba'))
    >>> get_scorer("roc_auc")
    make_scorer(roc_auc_score, response_method=('decision_function', 'predict_proba'))
    >>> get_scorer("anomaly_rejection_10")
    anomaly_scorer('background_rejection', signal_efficiency=0.1)
    """
    if isinstance(name, str) and name in _SCORERS:
        return copy.deepcopy(_SCORERS[name])
    return _sk_get_scorer(name)
