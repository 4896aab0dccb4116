"""Classification without labels (CWoLa) and the CWoLa bump hunt.

A classifier trained to tell two mixed samples apart, each a mixture of the
same signal and background with different signal fractions, is a monotonic
function of the signal/background likelihood ratio: optimal for signal versus
background without a signal model (Metodiev, Nachman, Thaler,
arXiv:1708.02949). CWoLa hunting (Collins, Howe, Nachman, arXiv:1805.02664)
takes the mixed samples from data: events in a signal-region window of the
resonance mass against events in the adjacent sidebands. The features must be
nearly independent of the mass in the background, or the classifier learns the
mass and sculpts a fake bump; :class:`CWoLaClassifier` warns when they are not.

Every event is scored by models that never saw it (nested k-fold): after
``fit``, ``oof_scores_`` hold these out-of-fold scores of the training rows,
and ``select()`` / ``fit_select`` cut on them, so that the cut can be applied
to the very events the classifier was trained on. The background under a bump
is then estimated by a fit of the dijet function to the mass spectrum outside
the window (:meth:`CWoLaClassifier.bump_hunt`, built on
:func:`skhep_ml.bump_hunt.bump_hunt` and :mod:`skhep_ml.stats`).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from skhep_ml.bump_hunt import BumpHuntResult, bump_hunt
from skhep_ml.stats import DijetFit, fit_dijet_background, local_significance
from skhep_ml.utils import (
    InterruptRecorder,
    check_class_weight_totals,
    column_index,
    validate_fit_data,
    validate_predict_data,
)

# BumpHuntResult, DijetFit, fit_dijet_background and local_significance moved to
# skhep_ml.bump_hunt and skhep_ml.stats; they stay importable from here as before
__all__ = [
    "BumpHuntResult",
    "CWoLaClassifier",
    "DijetFit",
    "MassCorrelationWarning",
    "fit_dijet_background",
    "local_significance",
]


class MassCorrelationWarning(UserWarning):
    """A classifier input is strongly correlated with the mass in the sidebands."""


class CWoLaClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Classification without labels with nested k-fold, as in CWoLa hunting.

    Two ways to fit:

    - ``fit(X)``: the mixed samples are built from the mass column: events in
      ``signal_region = (lo, hi)`` get label 1, events in the sidebands
      ``[lo - w, lo)`` and ``[hi, hi + w)`` (``w = sideband_width``) label 0,
      other events are scored but not trained on. With ``balance=True`` each
      sideband is weighted to half the signal-region weight, so that the two
      sidebands together balance the signal region.
    - ``fit(X, y)``: ``y`` holds two user-made mixed-sample labels (plain
      CWoLa; e.g. data against a background-only reference sample); with
      ``balance=True`` class 0 is weighted to the total weight of class 1.

    The mass column (``mass``, a column name or index) is never a classifier
    input. Events are split into ``n_folds`` folds (stratified by the label).
    For each test fold ``k`` an ensemble of ``n_folds - 1`` clones of
    ``estimator`` is trained, each on the folds other than ``k`` and a
    validation fold ``j`` that rotates over them; ``oof_scores_`` of the
    events of fold ``k`` are the mean probability of label 1 over that
    ensemble only, so no event is ever scored by a model that trained on it.
    The validation fold gives each model's ``validation_loss_`` (weighted log
    loss on the mixed labels) and, with ``n_inits > 1``, picks the best of
    several seeds, as in the CWoLa-hunting paper. ``predict_proba`` on new data
    averages all ``n_folds * (n_folds - 1)`` models.

    Parameters
    ----------
    mass : str, int or None, default="mjj"
        The mass column (name for a DataFrame, index for an array). ``None``:
        no mass column (only ``fit(X, y)``; every column is an input).
    signal_region : (float, float) or None, default=None
        The window ``[lo, hi)`` of the signal-region hypothesis; needed by
        ``fit(X)``.
    sideband_width : float or None, default=None
        Width of each sideband; ``None``: the width of the signal region.
    estimator : classifier or None, default=None
        Any scikit-learn classifier with ``predict_proba`` whose ``fit``
        takes ``sample_weight``; cloned for every model. ``None``:
        ``DNNClassifier()``. ``random_state`` of the clones is set from this
        estimator's ``random_state`` when they have one.
    n_folds : int, default=5
        Number of folds (at least 3: one test and one validation fold per model).
    n_inits : int, default=1
        Seeds trained per model; the one with the lowest validation loss is kept.
    balance : bool, default=True
        Balance the total weights of the two mixed samples (see above).
    max_mass_correlation : float, default=0.2
        In ``fit(X)``, warn (:class:`MassCorrelationWarning`) when the Spearman
        correlation of an input with the mass in the sidebands exceeds this in
        absolute value (and by more than 3 standard errors, so that small
        sidebands do not warn on noise): a mass-correlated input would sculpt
        a fake bump.
    random_state : int, RandomState instance or None, default=None
        Fold assignment and seeds of the models.
    verbose : int, default=0
        Print one line per trained model when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]`` for ``fit(X)`` (sidebands, signal region), else the labels of y.
    n_features_in_ : int
        Columns of X, the mass included.
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    input_features_ : ndarray
        The columns (names, or indices for arrays) the classifier sees.
    mass_index_ : int or None
    mixed_labels_ : ndarray of shape (n_samples,)
        Encoded training label (0 or 1) of each fitted event, -1 for events
        outside the signal region and the sidebands (not trained on).
    mixed_weights_ : ndarray of shape (n_samples,)
        Training weight of each event (0 for events not trained on).
    folds_ : ndarray of shape (n_samples,)
        Fold of each event.
    estimators_ : list of list
        ``estimators_[k]``: the ensemble scoring fold ``k``.
    validation_loss_ : ndarray of shape (n_folds, n_folds)
        ``[k, j]``: validation loss of the model of test fold ``k`` validated
        on fold ``j`` (NaN on the diagonal).
    oof_scores_ : ndarray of shape (n_samples,)
        Out-of-fold probability of label 1 of every event passed to ``fit``.
    mass_correlation_ : pandas.Series or None
        Spearman correlation of each input with the mass in the sidebands
        (``fit(X)`` only).

    Examples
    --------
    >>> from skhep_ml import CWoLaClassifier, XGBoostBaseline
    >>> from skhep_ml.datasets import make_dijet_resonance
    >>> X, y = make_dijet_resonance(6000, 600, mjj_range=(2.8, 4.4), random_state=0)
    >>> clf = CWoLaClassifier(
    ...     signal_region=(3.3, 3.7),
    ...     estimator=XGBoostBaseline(n_estimators=30, n_jobs=1),
    ...     n_folds=3,
    ...     random_state=0,
    ... ).fit(X)
    >>> clf.oof_scores_.shape
    (6600,)
    >>> passed = clf.select(efficiency=0.1)  # top 10 % out of fold, per fold
    >>> bool(y[passed].mean() > 5 * y.mean())
    True
    """

    _parameter_constraints: dict = {
        "mass": [str, Interval(Integral, 0, None, closed="left"), None],
        "signal_region": [tuple, list, None],
        "sideband_width": [Interval(Real, 0, None, closed="neither"), None],
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_folds": [Interval(Integral, 3, None, closed="left")],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
        "balance": ["boolean"],
        "max_mass_correlation": [Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        mass="mjj",
        signal_region=None,
        sideband_width=None,
        estimator=None,
        n_folds=5,
        *,
        n_inits=1,
        balance=True,
        max_mass_correlation=0.2,
        random_state=None,
        verbose=0,
    ):
        self.mass = mass
        self.signal_region = signal_region
        self.sideband_width = sideband_width
        self.estimator = estimator
        self.n_folds = n_folds
        self.n_inits = n_inits
        self.balance = balance
        self.max_mass_correlation = max_mass_correlation
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers ---------------------------------------------------------- #
    def _base_estimator(self):
        if self.estimator is None:
            from skhep_ml.dnn import DNNClassifier

            return DNNClassifier()
        return self.estimator

    def _resolve_mass(self):
        if self.mass is None:
            return None
        names = getattr(self, "feature_names_in_", None)
        return column_index(self.mass, self.n_features_in_, names, param="mass")

    def _window(self):
        sr = self.signal_region
        if sr is None or len(sr) != 2:
            raise ValueError(
                "fit(X) without y needs signal_region=(lo, hi) and a mass column; "
                f"got signal_region={sr!r}."
            )
        lo, hi = (float(v) for v in sr)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"signal_region must be (lo, hi) with lo < hi; got {sr!r}.")
        width = hi - lo if self.sideband_width is None else float(self.sideband_width)
        return lo, hi, width

    def _inputs(self, X):
        if self.mass_index_ is None:
            return X
        return np.delete(X, self.mass_index_, axis=1)

    def _region(self, X):
        """Events in the signal region or the sidebands (all events for fit(X, y))."""
        if self._sr_window is None:
            return np.ones(X.shape[0], dtype=bool)
        lo, hi, width = self._sr_window
        m = X[:, self.mass_index_]
        return (m >= lo - width) & (m < hi + width)

    # -- fit -------------------------------------------------------------- #
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Train the nested k-fold ensembles.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The classifier inputs and (unless ``mass=None``) the mass column.
        y : array-like of shape (n_samples,), optional
            Two mixed-sample labels. ``None``: labels from the mass and
            ``signal_region``.
        sample_weight : array-like of shape (n_samples,), optional
            Event weights, multiplied into the balancing weights and passed to
            the inner estimator's ``fit``. Negative weights are passed on as
            they are (what they do is up to the inner estimator;
            ``DNNClassifier`` subtracts their loss); each mixed sample must
            have a positive total.

        Returns
        -------
        self

        Notes
        -----
        Ctrl-C (KeyboardInterrupt) stops every fold, leaves the estimator
        unfitted and is re-raised, also when an inner estimator swallows it.
        """
        try:
            with InterruptRecorder() as guard:
                self._fit_mixed_samples(X, y, sample_weight, guard)
        except BaseException:
            # nothing half-built may look fitted (a failed or interrupted fit)
            for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
                delattr(self, name)
            raise
        return self

    def _fit_mixed_samples(self, X, y, sample_weight, guard):
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, classifier=y is not None, requires_y=False
        )
        self.mass_index_ = self._resolve_mass()
        if y is None and self.mass_index_ is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None "
                "(fit(X) without y needs a mass column and a signal_region)."
            )
        n_inputs = self.n_features_in_ - (self.mass_index_ is not None)
        if n_inputs < 1:
            raise ValueError("X has no classifier input besides the mass column.")
        names = getattr(self, "feature_names_in_", np.arange(self.n_features_in_))
        self.input_features_ = (
            np.delete(np.asarray(names), self.mass_index_)
            if (self.mass_index_ is not None)
            else np.asarray(names)
        )

        if y is None:
            labels, weights = self._labels_from_mass(X, sample_weight)
        else:
            self._sr_window = None
            self.mass_correlation_ = None
            y_type = type_of_target(y, input_name="y", raise_unknown=True)
            if y_type != "binary":
                raise ValueError(
                    "Only binary classification is supported: CWoLa needs exactly two "
                    f"mixed-sample labels in y. The type of the target is {y_type}."
                )
            self.classes_, labels = np.unique(y, return_inverse=True)
            check_class_weight_totals(y, sample_weight)
            weights = sample_weight.astype(np.float64)
            if self.balance:
                weights[labels == 0] *= weights[labels == 1].sum() / weights[labels == 0].sum()
        self.mixed_labels_ = labels
        self.mixed_weights_ = np.where(labels >= 0, weights, 0.0)
        self._fit(self._inputs(X), labels, self.mixed_weights_, guard)

    def _labels_from_mass(self, X, sample_weight):
        lo, hi, width = self._sr_window = self._window()
        m = X[:, self.mass_index_]
        in_sr = (m >= lo) & (m < hi)
        in_low = (m >= lo - width) & (m < lo)
        in_high = (m >= hi) & (m < hi + width)
        weights = sample_weight.astype(np.float64)
        for name, mask in (
            (f"signal region [{lo:g}, {hi:g})", in_sr),
            (f"low sideband [{lo - width:g}, {lo:g})", in_low),
            (f"high sideband [{hi:g}, {hi + width:g})", in_high),
        ):
            if weights[mask].sum() <= 0:
                raise ValueError(f"The {name} holds no events (or no positive total weight).")
        if self.balance:
            half = 0.5 * weights[in_sr].sum()
            weights[in_low] *= half / weights[in_low].sum()
            weights[in_high] *= half / weights[in_high].sum()
        labels = np.full(X.shape[0], -1, dtype=np.int64)
        labels[in_sr] = 1
        labels[in_low | in_high] = 0
        self.classes_ = np.array([0, 1])
        sb = in_low | in_high
        Xin = self._inputs(X)
        rho = np.array(
            [
                spearmanr(Xin[sb, j], m[sb]).statistic if np.ptp(Xin[sb, j]) > 0 else 0.0
                for j in range(Xin.shape[1])
            ]
        )
        self.mass_correlation_ = pd.Series(rho, index=self.input_features_, name="spearman")
        # strong (above the threshold) and not a fluctuation (3 standard errors)
        bad = (np.abs(rho) > self.max_mass_correlation) & (np.abs(rho) * np.sqrt(sb.sum() - 1) > 3)
        if bad.any():
            warnings.warn(
                f"Classifier input(s) {list(self.input_features_[bad])} are correlated with the "
                f"mass in the sidebands (Spearman {np.round(rho[bad], 3).tolist()}, above "
                f"{self.max_mass_correlation}): the classifier can learn the mass and sculpt a "
                "fake bump. Decorrelate them (e.g. divide jet masses by mjj) or drop them.",
                MassCorrelationWarning,
                stacklevel=3,
            )
        return labels, weights

    def _fit(self, X, labels, weights, guard):
        base = self._base_estimator()
        if not has_fit_parameter(base, "sample_weight"):
            raise ValueError(
                f"The inner estimator {type(base).__name__} must accept sample_weight in fit."
            )
        rng = check_random_state(self.random_state)
        train = np.flatnonzero(labels >= 0)
        counts = np.bincount(labels[train], minlength=2)
        if counts.min() < self.n_folds:
            raise ValueError(
                f"Each mixed sample needs at least n_folds={self.n_folds} events; got "
                f"{counts.tolist()}."
            )
        K = self.n_folds
        folds = np.empty(X.shape[0], dtype=np.int64)
        splitter = StratifiedKFold(K, shuffle=True, random_state=rng.randint(2**31 - 1))
        for k, (_, test) in enumerate(splitter.split(train, labels[train])):
            folds[train[test]] = k
        rest = np.flatnonzero(labels < 0)
        folds[rest] = rng.permutation(rest.size) % K

        estimators = [[] for _ in range(K)]
        validation_loss = np.full((K, K), np.nan)
        oof = np.empty(X.shape[0])
        for k in range(K):
            for j in range(K):
                if j == k:
                    continue
                fit_idx = train[(folds[train] != k) & (folds[train] != j)]
                val_idx = train[folds[train] == j]
                best, validation_loss[k, j] = self._fit_best_of_inits(
                    base, X, labels, weights, fit_idx, val_idx, rng, guard
                )
                estimators[k].append(best)
                if self.verbose:
                    print(
                        f"[CWoLa] test fold {k}, validation fold {j}: "
                        f"val loss {validation_loss[k, j]:.5f}"
                    )
            in_k = folds == k
            oof[in_k] = np.mean([e.predict_proba(X[in_k])[:, 1] for e in estimators[k]], 0)
            guard.check()
        self.folds_ = folds
        self.estimators_ = estimators
        self.validation_loss_ = validation_loss
        self.oof_scores_ = oof

    def _fit_best_of_inits(self, base, X, labels, weights, fit_idx, val_idx, rng, guard):
        """The model of lowest validation loss over ``n_inits`` seeds, and its loss."""
        has_seed = "random_state" in base.get_params()
        best, best_loss = None, np.inf
        for _ in range(self.n_inits):
            model = clone(base)
            if has_seed:
                model.set_params(random_state=rng.randint(2**31 - 1))
            model.fit(X[fit_idx], labels[fit_idx], sample_weight=weights[fit_idx])
            guard.check()  # an inner estimator may have swallowed Ctrl-C
            p = model.predict_proba(X[val_idx])
            loss = log_loss(labels[val_idx], p, sample_weight=weights[val_idx], labels=[0, 1])
            if best is None or loss < best_loss:
                best, best_loss = model, loss
        if list(best.classes_) != [0, 1]:
            raise ValueError(
                f"The inner estimator's classes_ are {list(best.classes_)}; expected [0, 1]."
            )
        return best, best_loss

    # -- predict ---------------------------------------------------------- #
    def predict_proba(self, X):
        """Mean probability over all fold models (not out-of-fold on training data).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._inputs(validate_predict_data(self, X))
        p = np.mean([e.predict_proba(X) for fold in self.estimators_ for e in fold], axis=0)
        return p

    def predict(self, X):
        """The more probable mixed-sample label.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _ranks(self, X=None):
        """Rank of each event: the fraction of reference events that score higher.

        The reference events are those in the signal region and sidebands
        (all events for ``fit(X, y)``). ``X=None``: the training rows, ranked
        by their out-of-fold scores against the reference rows of their own
        fold; otherwise the rows of ``X``, ranked by ``predict_proba`` against
        the reference rows of ``X``. A cut at efficiency ``e`` keeps the
        events of rank ``< e``: per fold, the ``ceil(e n)`` highest-scoring
        reference events and every event scoring at least as high.
        """
        if X is None:
            scores, folds, region = self.oof_scores_, self.folds_, self.mixed_labels_ >= 0
        else:
            scores = self.predict_proba(X)[:, 1]
            folds = np.zeros(scores.size, dtype=np.int64)
            region = self._region(validate_predict_data(self, X))
        ranks = np.ones(scores.size)
        for k in np.unique(folds):
            in_k = folds == k
            ref = np.sort(scores[in_k & region])
            if ref.size:
                above = ref.size - np.searchsorted(ref, scores[in_k], side="right")
                ranks[in_k] = above / ref.size
        return ranks

    def select(self, X=None, efficiency=None):
        """Events passing the cut that keeps the most signal-region-like fraction.

        The cut keeps the fraction ``efficiency`` of the events (unweighted)
        in the signal region and sidebands (all events for ``fit(X, y)``) and
        is then applied to every event.

        - ``X=None``: the training rows (in the order passed to ``fit``), cut
          on their out-of-fold scores ``oof_scores_``, with the threshold set
          in each fold separately (each fold has its own ensemble). This is
          the cut to use on the data the classifier was trained on.
        - ``X`` given: new data, cut on ``predict_proba`` (the mean over all
          fold models) with one threshold. ``X`` is always treated as new
          data, also when it holds (some of) the training rows: their scores
          then come from models that trained on them, which sculpts the
          selection; use ``X=None`` for the training rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features) or None
        efficiency : float in (0, 1]
            ``1`` keeps every event.

        Returns
        -------
        ndarray of bool of shape (n_samples,)

        Examples
        --------
        >>> from skhep_ml import CWoLaClassifier, XGBoostBaseline
        >>> from skhep_ml.datasets import make_dijet_resonance
        >>> X, y = make_dijet_resonance(6000, 600, mjj_range=(2.8, 4.4), random_state=0)
        >>> clf = CWoLaClassifier(
        ...     signal_region=(3.3, 3.7),
        ...     estimator=XGBoostBaseline(n_estimators=30, n_jobs=1),
        ...     n_folds=3,
        ...     random_state=0,
        ... ).fit(X)
        >>> passed = clf.select(efficiency=0.1)  # the training rows, out of fold
        >>> passed.shape, bool(y[passed].mean() > 5 * y.mean())
        ((6600,), True)
        >>> X_new, y_new = make_dijet_resonance(3000, 300, mjj_range=(2.8, 4.4), random_state=1)
        >>> bool(y_new[clf.select(X_new, 0.1)].mean() > 5 * y_new.mean())  # new data
        True
        """
        check_is_fitted(self)
        if not isinstance(efficiency, Real) or not 0 < efficiency <= 1:
            raise ValueError(f"efficiency must be in (0, 1]; got {efficiency!r}.")
        ranks = self._ranks(X)
        return np.ones(ranks.size, dtype=bool) if efficiency == 1 else ranks < efficiency

    def fit_select(self, X, y=None, *, efficiency, sample_weight=None):
        """Fit, then select the training rows on their out-of-fold scores.

        The same as ``fit(X, y, sample_weight).select(efficiency=efficiency)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
        efficiency : float in (0, 1]
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of bool of shape (n_samples,)

        Examples
        --------
        >>> from skhep_ml import CWoLaClassifier, XGBoostBaseline
        >>> from skhep_ml.datasets import make_dijet_resonance
        >>> X, y = make_dijet_resonance(6000, 600, mjj_range=(2.8, 4.4), random_state=0)
        >>> clf = CWoLaClassifier(
        ...     signal_region=(3.3, 3.7),
        ...     estimator=XGBoostBaseline(n_estimators=30, n_jobs=1),
        ...     n_folds=3,
        ...     random_state=0,
        ... )
        >>> passed = clf.fit_select(X, efficiency=0.1)
        >>> bool(y[passed].mean() > 5 * y.mean())
        True
        """
        return self.fit(X, y, sample_weight=sample_weight).select(efficiency=efficiency)

    # -- bump hunt -------------------------------------------------------- #
    def bump_hunt(
        self,
        X,
        efficiencies=(1.0, 0.1, 0.01, 0.002),
        bins=20,
        *,
        range=None,
        window_bins=2,
        windows=None,
        sqrt_s=13.0,
        sample_weight=None,
    ):
        """Scan signal-region hypotheses along the mass: CWoLa cut, fit, significance.

        For each window a clone of this estimator is trained on ``X`` with
        ``signal_region=window`` (``fit(X)``) and the events of ``X`` are cut
        on their out-of-fold scores (``select(efficiency=e)``); then
        :func:`skhep_ml.bump_hunt.bump_hunt` histograms the mass, fits the
        dijet function to every bin outside the window and computes the local
        significance of the window count with the fit uncertainty.
        ``efficiency=1`` is the spectrum without a cut. This estimator itself
        is left unchanged.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The data searched (and trained on); must contain the mass column.
        efficiencies : tuple of float in (0, 1], default=(1.0, 0.1, 0.01, 0.002)
        bins : int or array-like, default=20
            Number of equal-width mass bins over ``range``, or the bin edges.
        range : (float, float), optional
            Mass range of the histogram; ``None``: min and max of the mass.
        window_bins : int, default=2
            Width of each scanned window in bins (windows slide by one bin and
            must leave room for both sidebands inside the histogram).
        windows : list of (float, float), optional
            Explicit windows (on bin edges) instead of the scan.
        sqrt_s : float, default=13.0
            Collision energy in the units of the mass (13 for TeV).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        BumpHuntResult
            With the fitted classifier of every window in ``estimators``.

        Examples
        --------
        >>> import numpy as np
        >>> from skhep_ml import CWoLaClassifier, XGBoostBaseline
        >>> from skhep_ml.datasets import make_dijet_resonance
        >>> X, _ = make_dijet_resonance(20000, 600, mjj_range=(2.8, 4.4), random_state=0)
        >>> clf = CWoLaClassifier(
        ...     estimator=XGBoostBaseline(n_estimators=30, n_jobs=1), n_folds=3, random_state=0
        ... )
        >>> res = clf.bump_hunt(
        ...     X, (1.0, 0.05), bins=np.linspace(2.8, 4.4, 17), windows=[(3.3, 3.7)]
        ... )
        >>> z = res.table.significance
        >>> bool(z[1] > 2 * z[0])  # the cut raises the significance of the bump
        True
        """
        if self.mass is None:
            raise ValueError("bump_hunt needs a mass column (mass is None).")
        probe = clone(self)
        Xv, _, sw = validate_fit_data(probe, X, None, sample_weight, requires_y=False)
        mass = Xv[:, probe._resolve_mass()]
        estimators = []

        def ranks(lo, hi):
            est = clone(self).set_params(signal_region=(lo, hi))
            estimators.append(est.fit(X, sample_weight=sample_weight))
            return est._ranks()

        result = bump_hunt(
            mass,
            ranks,
            efficiencies,
            bins,
            range=range,
            window_bins=window_bins,
            sideband_width=self.sideband_width,
            windows=windows,
            sqrt_s=sqrt_s,
            sample_weight=sw,
        )
        result.estimators = estimators or [None] * len(result.windows)
        return result

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        # fit(X) without y is the CWoLa-hunting form (labels from the mass);
        # fit(X, y) is plain CWoLa, what scikit-learn's checks exercise.
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags
