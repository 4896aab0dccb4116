"""The standard ALICE nσ particle-identification selection, as a classifier.

:class:`NSigmaClassifier` is not learned: it is the nσ selection of ALICE
analyses (TPC below a pT threshold, TPC ⊕ TOF above it, TPC alone where TOF is
missing), written as a classifier with scores so that it can be compared with
the learned models (:mod:`skhep_ml.baselines`) on the same ROC curve.
"""

from __future__ import annotations

import numbers
import string
import warnings
from numbers import Integral, Real
from types import MappingProxyType
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from skhep_ml.datasets import pdg_charge
from skhep_ml.utils import column_index, validate_fit_data, validate_predict_data

__all__ = ["DEFAULT_SPECIES_SUFFIX", "NSigmaClassifier"]

#: Species suffix of the nσ columns, keyed by the absolute PDG code (read-only):
#: the columns ``nsigma_{tpc,tof}_{pi,ka,pr}`` of
#: :func:`skhep_ml.datasets.make_pid_tracks`. Electrons have no suffix there;
#: add one with ``species_suffix={**DEFAULT_SPECIES_SUFFIX, 11: "e"}``.
DEFAULT_SPECIES_SUFFIX = MappingProxyType({211: "pi", 321: "ka", 2212: "pr"})

_TEMPLATE_HELP = (
    "a column-name template with a '{}' where the species suffix goes (e.g. "
    "'nsigma_tpc_{}' gives 'nsigma_tpc_pi' for pions), or a dict {|pdg|: column}"
)


def _as_pdg(label):
    """The integer PDG code a class label stands for, or None."""
    if isinstance(label, bool | np.bool_) or not isinstance(label, numbers.Real):
        return None
    if not float(label).is_integer() or label == 0:
        return None
    return int(label)


def _is_position(value):
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _check_species_suffix(species_suffix):
    """The ``{|pdg|: suffix}`` table to use; ValueError on a malformed one."""
    suffixes = DEFAULT_SPECIES_SUFFIX if species_suffix is None else species_suffix
    for key, value in suffixes.items():
        if not _is_position(key) or key <= 0 or not isinstance(value, str) or not value:
            raise ValueError(
                "species_suffix must map absolute PDG codes (positive int) to non-empty "
                f"str suffixes; got {key!r}: {value!r}."
            )
    shared = sorted({v for v in suffixes.values() if list(suffixes.values()).count(v) > 1})
    if shared:
        raise ValueError(
            f"species_suffix gives several species the suffix(es) {shared}: they would "
            "read the same nσ columns."
        )
    return suffixes


def _template_problem(template):
    """Why ``template`` is not a template with ``{}`` placeholders, or None if it is one."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template)]
    except ValueError as error:
        return f"it cannot be parsed ({error})"
    fields = [field for field in fields if field is not None]
    if not fields:
        return "it has no '{}' placeholder, so every species would read the same column"
    named = [field for field in fields if field not in ("", "0")]
    if named:
        return f"its placeholder(s) {named} are not '{{}}'"
    try:
        template.format("x")
    except (ValueError, IndexError) as error:
        return f"it cannot be formatted ({error})"
    return None


def _check_column_spec(spec, name):
    """ValueError unless ``spec`` is a one-placeholder template or a ``{|pdg|: column}`` dict."""
    if isinstance(spec, str):
        problem = _template_problem(spec)
    elif not spec:
        problem = "it names no column"
    elif not all(_is_position(key) and key > 0 for key in spec):
        problem = f"its keys {list(spec)} are not all absolute PDG codes (positive int)"
    elif not all(isinstance(v, str) or (_is_position(v) and v >= 0) for v in spec.values()):
        problem = f"its columns {list(spec.values())} are not all names (str) or positions (int)"
    elif len(set(spec.values())) < len(spec):
        problem = "it gives several species the same column"
    else:
        problem = None
    if problem is not None:
        raise ValueError(f"{name}={spec!r} must be {_TEMPLATE_HELP}; {problem}.")


def _species_column(spec, abs_pdg, suffixes):
    """The column (name or position) of a species in a checked spec, or None."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        return spec.get(abs_pdg)
    return spec.format(suffixes[abs_pdg]) if abs_pdg in suffixes else None


class _ColumnFinder:
    """Positions in ``X`` of columns given by name or position.

    Names not found are collected (in order, once each) so that one error can
    name them all.
    """

    def __init__(self, names, n_features):
        self.names = names
        self.n_features = n_features
        self.missing = []

    def locate(self, column, what):
        """Position of ``column`` (-1 for None or a name not found)."""
        if column is None:
            return -1
        if _is_position(column) or (self.names is not None and column in self.names):
            return column_index(column, self.n_features, self.names, param=f"{what} column")
        if column not in self.missing:  # ±pdg share their columns
            self.missing.append(column)
        return -1

    def raise_if_missing(self, owner, hints):
        """ValueError naming the columns not found, followed by ``hints``."""
        if not self.missing:
            return
        if self.names is None:
            raise ValueError(
                f"{owner} refers to columns by name ({self.missing}) but X has no column "
                "names: pass a pandas DataFrame with these columns, or give the columns as "
                "integer positions."
            )
        more = " ..." if self.names.size > 30 else ""
        raise ValueError(
            " ".join(
                [
                    f"{owner}: column(s) {self.missing} not found in X. X has columns "
                    f"{self.names.tolist()[:30]}{more}.",
                    *hints,
                ]
            )
        )


def _missing_column_hints(found):
    """What to change when nσ columns are not found, per kind of column."""
    hints = []
    if found.no_tpc:
        hints.append(
            f"X has no TPC nσ column for the species |pdg| {sorted(found.no_tpc)}: leave "
            "them out of species_suffix (or of the nsigma_tpc dict) and their classes are "
            "never predicted, or name their columns with nsigma_tpc={|pdg|: column}."
        )
    if found.no_tof:
        hints.append(
            f"X has no TOF nσ column for the species |pdg| {sorted(found.no_tof)}: set "
            "nsigma_tof=None to use the TPC alone, or name the TOF columns that exist with "
            "nsigma_tof={|pdg|: column}."
        )
    return hints


class NSigmaClassifier(ClassifierMixin, BaseEstimator):
    """The standard nσ particle-identification selection, as a classifier.

    Nothing is learned: ``fit`` only records the classes (PDG codes) and finds
    the columns. For each track and each class ``c`` (a species hypothesis)
    the distance is

    - ``d_c = |nσ_TPC|`` where ``pT < pt_switch`` or the TOF nσ is missing
      (NaN, no TOF hit),
    - ``d_c = sqrt(nσ_TPC² + nσ_TOF²)`` otherwise,
    - ``d_c = inf`` where the track's charge differs from the class's, where
      the TPC nσ is NaN, and for classes without nσ columns.

    Classes are PDG codes (11 e⁻, -11 e⁺, 211 π⁺, -211 π⁻, 321 K⁺, -321 K⁻,
    2212 p, -2212 p̄). A class has nσ columns when its ``|pdg|`` has a species
    suffix (``species_suffix``) or an entry in the ``nsigma_tpc`` dict. A
    label without columns (not a PDG code, or a species not configured) gets
    ``d = inf``: it is never predicted, and a warning says so at fit.

    The defaults match the columns of
    :func:`skhep_ml.datasets.make_pid_tracks` (``pt``, ``sign``,
    ``nsigma_tpc_pi`` ... ``nsigma_tof_pr``), which has no electron columns:
    its electrons are never predicted (fit warns).

    Parameters
    ----------
    nsigma_tpc : str or dict, default="nsigma_tpc_{}"
        TPC nσ columns: a column-name template with one ``{}``, formatted with
        the species suffix (``"nsigma_tpc_{}".format("pi")``), or a dict
        ``{|pdg|: column}``. A string without ``{}`` is refused (every species
        would read the same column).
    nsigma_tof : str, dict or None, default="nsigma_tof_{}"
        TOF nσ columns, as ``nsigma_tpc`` (a class with a TPC but no TOF entry
        in a dict uses TPC alone). ``None``: TPC only, for every class.
    species_suffix : dict or None, default=None
        ``{|pdg|: suffix}`` used with the templates, one distinct suffix per
        species. ``None`` means :data:`DEFAULT_SPECIES_SUFFIX`, ``{211: "pi",
        321: "ka", 2212: "pr"}``.
    pt : str or int, default="pt"
        Transverse-momentum column (used only when a class has TOF columns).
    charge : str, int or None, default="sign"
        Column whose sign is the track charge. ``None``: no charge
        requirement (for labels that are absolute PDG codes, say).
    pt_switch : float, default=0.5
        TOF is combined with TPC for ``pT >= pt_switch`` (a track with NaN pT
        uses TOF when it has it).
    cut : float, default=3.0
        The selection of :meth:`select`: ``d_c < cut``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_charge_ : ndarray of shape (n_classes,)
        Charge sign (±1) of each class; NaN for classes without columns.
    tpc_columns_, tof_columns_ : ndarray of int of shape (n_classes,)
        Position in ``X`` of each class's TPC / TOF nσ column; -1 for none.
    pt_column_, charge_column_ : int
        Position in ``X`` of the pT / charge column; -1 when not used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.

    Notes
    -----
    **Columns.** A ``str`` column parameter is a column name, looked up among
    the DataFrame's column names at fit (a ``ValueError`` names the columns
    that are missing; a numpy array has no names); an ``int`` is a column
    position and works with any array-like, e.g. ``nsigma_tpc={211: 0, 321:
    1}, nsigma_tof=None, charge=2``. Predict needs the same columns in the same
    order.

    **Scores.** :meth:`decision_function` is ``-d`` (``-inf`` for impossible
    hypotheses); :meth:`predict_proba` is ``softmax(-d²/2)``, a
    Gaussian-likelihood-like score with equal priors (uniform where every
    ``d`` is inf); :meth:`predict` is the nearest hypothesis (the first class
    where every ``d`` is inf: use :meth:`select` to reject tracks).
    :meth:`select` is the one-vs-rest cut ``d_c < cut`` used in analyses: a
    track may pass several species or none.

    When no label has columns (e.g. labels 0, 1, 2), the classifier is
    constant (uniform probabilities, ``predict`` gives ``classes_[0]``) and fit
    warns; it declares ``poor_score`` in its tags since it does not learn from
    ``X``. ``sample_weight`` is accepted for API uniformity and unused.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skhep_ml.nsigma import NSigmaClassifier
    >>> tracks = pd.DataFrame({
    ...     "pt": [0.3, 1.2, 1.2],
    ...     "sign": [1, -1, 1],
    ...     "nsigma_tpc_pi": [0.5, 1.0, 6.0], "nsigma_tof_pi": [np.nan, 1.0, 8.0],
    ...     "nsigma_tpc_ka": [7.0, 5.0, 0.8], "nsigma_tof_ka": [np.nan, 6.0, np.nan],
    ... })
    >>> pid = NSigmaClassifier().fit(tracks, [211, -211, 321])
    >>> pid.predict(tracks)
    array([ 211, -211,  321])
    >>> pid.select(tracks)[:, list(pid.classes_).index(-211)]
    array([False,  True, False])
    """

    _parameter_constraints: ClassVar[dict] = {
        "nsigma_tpc": [str, dict],
        "nsigma_tof": [str, dict, None],
        "species_suffix": [dict, None],
        "pt": [str, Interval(Integral, 0, None, closed="left")],
        "charge": [str, Interval(Integral, 0, None, closed="left"), None],
        "pt_switch": [Interval(Real, 0, None, closed="left")],
        "cut": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        nsigma_tpc="nsigma_tpc_{}",
        nsigma_tof="nsigma_tof_{}",
        species_suffix=None,
        pt="pt",
        charge="sign",
        pt_switch=0.5,
        cut=3.0,
    ):
        self.nsigma_tpc = nsigma_tpc
        self.nsigma_tof = nsigma_tof
        self.species_suffix = species_suffix
        self.pt = pt
        self.charge = charge
        self.pt_switch = pt_switch
        self.cut = cut

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Record the classes and locate the nσ, pT and charge columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Tracks; NaN marks a missing signal.
        y : array-like of shape (n_samples,)
            PDG codes.
        sample_weight : array-like of shape (n_samples,), default=None
            Validated, unused (nothing is learned).

        Returns
        -------
        self : NSigmaClassifier
        """
        X, y, _ = validate_fit_data(self, X, y, sample_weight, allow_nan=True, classifier=True)
        return self._fit(X, y)

    def _fit(self, X, y):
        suffixes = _check_species_suffix(self.species_suffix)
        _check_column_spec(self.nsigma_tpc, "nsigma_tpc")
        if self.nsigma_tof is not None:
            _check_column_spec(self.nsigma_tof, "nsigma_tof")
        classes = np.unique(y)
        finder = _ColumnFinder(getattr(self, "feature_names_in_", None), self.n_features_in_)
        found = self._locate_nsigma_columns(classes, suffixes, finder)
        has_columns = ~np.isnan(found.charge)
        charge_column = finder.locate(self.charge, "charge") if has_columns.any() else -1
        pt_column = finder.locate(self.pt, "pt") if found.uses_tof else -1
        finder.raise_if_missing(type(self).__name__, _missing_column_hints(found))
        self.classes_ = classes
        self.class_charge_ = found.charge
        self.tpc_columns_, self.tof_columns_ = found.tpc, found.tof
        self.charge_column_, self.pt_column_ = charge_column, pt_column
        self._warn_classes_without_columns(has_columns)
        return self

    def _locate_nsigma_columns(self, classes, suffixes, finder):
        """Charge and TPC / TOF column positions of every class, and the species not found."""
        found = Bunch(
            charge=np.full(classes.size, np.nan),
            tpc=np.full(classes.size, -1, dtype=np.intp),
            tof=np.full(classes.size, -1, dtype=np.intp),
            uses_tof=False,
            no_tpc=set(),
            no_tof=set(),
        )
        for i, label in enumerate(classes):
            pdg = _as_pdg(label)
            tpc = None if pdg is None else _species_column(self.nsigma_tpc, abs(pdg), suffixes)
            if tpc is None:
                continue
            tof = _species_column(self.nsigma_tof, abs(pdg), suffixes)
            found.charge[i] = pdg_charge(pdg)
            found.tpc[i] = finder.locate(tpc, "nsigma_tpc")
            found.tof[i] = finder.locate(tof, "nsigma_tof")
            found.uses_tof |= tof is not None
            if found.tpc[i] < 0:
                found.no_tpc.add(abs(pdg))
            elif tof is not None and found.tof[i] < 0:
                found.no_tof.add(abs(pdg))
            elif found.tof[i] == found.tpc[i]:
                raise ValueError(
                    f"nsigma_tpc and nsigma_tof give the species {abs(pdg)} the same "
                    f"column ({tpc!r}, {tof!r})."
                )
        return found

    def _warn_classes_without_columns(self, has_columns):
        if has_columns.all():
            return
        without = self.classes_[~has_columns].tolist()
        consequence = (
            "every class has d=inf: probabilities are uniform and predict returns classes_[0]"
            if not has_columns.any()
            else "they are never predicted"
        )
        warnings.warn(
            f"{type(self).__name__}: class(es) {without[:20]} have no nσ columns "
            f"(not a PDG code of a configured species); {consequence}.",
            UserWarning,
            stacklevel=5,  # the caller of fit
        )

    def distance(self, X):
        """The nσ distance ``d`` of every track to every class hypothesis.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        d : ndarray of shape (n_samples, n_classes)
            Non-negative; ``inf`` for impossible hypotheses.
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X, allow_nan=True)
        distance = np.full((X.shape[0], self.classes_.size), np.inf)
        if self.charge_column_ >= 0:
            track_charge = np.sign(X[:, self.charge_column_].astype(np.float64))
        if self.pt_column_ >= 0:
            low_pt = X[:, self.pt_column_] < self.pt_switch
        for i in np.flatnonzero(self.tpc_columns_ >= 0):
            tpc = X[:, self.tpc_columns_[i]].astype(np.float64)
            d = np.abs(tpc)
            if self.tof_columns_[i] >= 0:
                tof = X[:, self.tof_columns_[i]].astype(np.float64)
                use_tof = ~low_pt & np.isfinite(tof)
                d = np.where(use_tof, np.hypot(tpc, np.where(use_tof, tof, 0.0)), d)
            d[np.isnan(d)] = np.inf
            if self.charge_column_ >= 0:
                d[track_charge != self.class_charge_[i]] = np.inf
            distance[:, i] = d
        return distance

    def decision_function(self, X):
        """Score ``-d`` of every class (higher is more compatible).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        score : ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            ``-d``. With two classes, the score of ``classes_[1]`` minus that of
            ``classes_[0]``, ``d_0 - d_1`` (0 where both are inf), as in
            scikit-learn's binary convention.
        """
        distance = self.distance(X)
        if self.classes_.size == 2:
            both_inf = np.isinf(distance).all(axis=1)
            with np.errstate(invalid="ignore"):
                score = distance[:, 0] - distance[:, 1]
            score[both_inf] = 0.0
            return score
        return -distance

    def predict_proba(self, X):
        """Scores ``softmax(-d²/2)`` over the classes, summing to one per track.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Uniform for tracks where every ``d`` is inf.
        """
        return self._proba(self.distance(X))

    @staticmethod
    def _proba(distance):
        log_likelihood = -0.5 * distance**2
        best = log_likelihood.max(axis=1, keepdims=True)
        none = np.isneginf(best[:, 0])
        best[none] = 0.0
        proba = np.exp(log_likelihood - best)
        proba[none] = 1.0
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The nearest hypothesis: the class of smallest ``d``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            ``classes_[0]`` for tracks where every ``d`` is inf.
        """
        nearest = np.argmin(self.distance(X), axis=1)
        return self.classes_[nearest]

    def select(self, X):
        """The per-species selection ``d_c < cut`` (one-vs-rest).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        selected : ndarray of bool of shape (n_samples, n_classes)
            Column ``j`` is the selection of ``classes_[j]``; a track may pass
            several species or none.
        """
        return self.distance(X) < self.cut

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.poor_score = True
        return tags
