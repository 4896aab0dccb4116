"""Classification without labels (CWoLa), CATHODE templates and the bump hunt.

A classifier trained to tell two mixed samples apart, each a mixture of the
same signal and background with different signal fractions, is a monotonic
function of the signal/background likelihood ratio: optimal for signal versus
background without a signal model (Metodiev, Nachman, Thaler,
arXiv:1708.02949). CWoLa hunting (Collins, Howe, Nachman, arXiv:1805.02664)
takes the mixed samples from data: events in a signal-region window of the
resonance mass against events in the adjacent sidebands. The features must be
nearly independent of the mass in the background, or the classifier learns the
mass and sculpts a fake bump; :class:`CWoLaClassifier` warns when they are not.
CATHODE (Hallin et al., arXiv:2109.00546; ``background="interpolated"``)
lifts that requirement: a conditional density of the features given the mass,
learned in the sidebands, is sampled inside the signal region, and the
classifier learns the data against these samples, which follow the mass as
the background does.

Every event is scored by models that never saw it (nested k-fold): after
``fit``, ``oof_scores_`` hold these out-of-fold scores of the training rows,
and ``select()`` / ``fit_select`` cut on them, so that the cut can be applied
to the very events the classifier was trained on. The background under a bump
is then estimated by a fit of the dijet function to the mass spectrum outside
the window (:meth:`CWoLaClassifier.bump_hunt`, built on
:func:`skhep_ml.bump_hunt.bump_hunt` and :mod:`skhep_ml.stats`).
"""

from __future__ import annotations

import time
import warnings
from inspect import signature
from numbers import Integral, Real

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from skhep_ml.bump_hunt import BumpHuntResult, bump_hunt
from skhep_ml.stats import DijetFit, fit_dijet_background, local_significance
from skhep_ml.utils import (
    InterruptRecorder,
    check_class_weight_totals,
    column_index,
    feature_names,
    predict_blocks,
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
    "default_estimator",
    "fit_dijet_background",
    "local_significance",
]


class MassCorrelationWarning(UserWarning):
    """A classifier input is strongly correlated with the mass in the sidebands."""


def default_estimator(random_state=None):
    """The default inner classifier of :class:`CWoLaClassifier`: boosted trees.

    scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
    with early stopping. Boosted trees are the robust choice for weakly
    supervised searches (Finke et al., PRD 109 (2024) 034033: they match or
    beat neural classifiers and keep working when uninformative features are
    added) and train in seconds where a network takes minutes. HistGradient-
    Boosting rather than our ``XGBoostBaseline``: it ships with scikit-learn,
    takes the validation fold of the nested k-fold for its early stopping
    (``X_val``), and was better on the development datasets of the protocol in
    ``benchmarks/cwola_defaults.py``, which chose these settings.

    Parameters
    ----------
    random_state : int or None, default=None

    Returns
    -------
    HistGradientBoostingClassifier
    """
    return HistGradientBoostingClassifier(**_DEFAULT_TREES, random_state=random_state)


#: Settings of the default inner classifier, chosen by ``benchmarks/cwola_defaults.py``.
_DEFAULT_TREES = dict(
    learning_rate=0.1,
    max_iter=200,
    max_leaf_nodes=31,
    early_stopping=True,
    n_iter_no_change=10,
)

#: The fewest sideband events a density of the background is fitted to.
MIN_DENSITY_EVENTS = 100


class CWoLaClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Classification without labels with nested k-fold: CWoLa hunting and CATHODE.

    Three ways to fit:

    - ``fit(X)``, ``background="sidebands"`` (CWoLa hunting): the mixed
      samples are built from the mass column: events in
      ``signal_region = (lo, hi)`` get label 1, events in the sidebands
      ``[lo - w, lo)`` and ``[hi, hi + w)`` (``w = sideband_width``) label 0,
      other events are scored but not trained on. With ``balance=True`` each
      sideband is weighted to half the signal-region weight, so that the two
      sidebands together balance the signal region.
    - ``fit(X)``, ``background="interpolated"`` (CATHODE, Hallin et al.,
      arXiv:2109.00546): a conditional density of the inputs given the mass,
      ``density_estimator`` (by default a :class:`~skhep_ml.FlowAnomalyDetector`
      with the mass as its context), is fitted to the sideband events and
      sampled at the masses of the signal-region events (drawn with
      replacement, ``oversampling`` samples per event): a background template
      interpolated into the signal region. The classifier learns the
      signal-region data (label 1) against this template (label 0, weighted
      to the signal-region total), so it no longer needs the background in
      the sidebands to look like the background in the signal region, only
      to change smoothly with the mass. Sideband events are scored but not
      trained on.
    - ``fit(X, y)``: ``y`` holds two user-made mixed-sample labels (plain
      CWoLa); with ``balance=True`` class 0 is weighted to the total weight of
      class 1. Signal-region data against a background-only sample of the
      signal region is the *idealised anomaly detector*, the benchmark for
      both templates above.

    The mass column (``mass``, a column name or index) is never a classifier
    input: in a :class:`~sklearn.pipeline.Pipeline`, leave it unscaled
    (``ColumnTransformer(..., remainder="passthrough")`` with
    ``set_output(transform="pandas")`` keeps the names). Events are split into
    ``n_folds`` folds (stratified by the label). For each test fold ``k`` an
    ensemble of ``n_folds - 1`` clones of ``estimator`` is trained, each on the
    folds other than ``k`` and a validation fold ``j`` that rotates over them;
    ``oof_scores_`` of the events of fold ``k`` are the mean probability of
    label 1 over that ensemble only, so no event is ever scored by a model that
    trained on it. The validation fold gives each model's ``validation_loss_``
    (weighted log loss on the mixed labels), stops the boosting of the default
    trees early (it is passed as ``X_val`` to any inner estimator whose ``fit``
    takes one and whose ``early_stopping`` is True), and, with ``n_inits > 1``,
    picks the best of several seeds, as in the CWoLa-hunting paper.
    ``predict_proba`` on new data averages all ``n_folds * (n_folds - 1)``
    models.

    :meth:`score` is the weighted ROC AUC of the mixed-sample labels, which
    needs no truth: the AUC of two mixtures with signal fractions
    ``f1 > f0`` is ``0.5 + (f1 - f0) (AUC_sb - 0.5)``, a rising function of the
    signal-vs-background AUC, so ``GridSearchCV(...).fit(X)`` and
    ``cross_val_score`` tune the method on its own principle.

    Parameters
    ----------
    mass : str, int or None, default="mjj"
        The mass column (name for a DataFrame, index for an array). ``None``:
        no mass column (only ``fit(X, y)``; every column is an input).
    signal_region : (float, float) or None, default=None
        The window ``[lo, hi)`` of the signal-region hypothesis; needed by
        ``fit(X)``.
    sideband_width : float or None, default=None
        Width of each sideband. ``None``: the width of the signal region for
        ``background="sidebands"``, every event outside the signal region for
        ``"interpolated"`` (the density needs many events, as in CATHODE).
    estimator : classifier or None, default=None
        Any scikit-learn classifier with ``predict_proba`` whose ``fit``
        takes ``sample_weight``; cloned for every model. ``None``:
        :func:`default_estimator` (boosted trees with early stopping); the
        neural option is ``estimator=DNNClassifier()``, about a hundred times
        slower. ``random_state`` of the clones is set from this estimator's
        ``random_state`` when they have one.
    n_folds : int, default=8
        Number of folds (at least 3: one test and one validation fold per model).
        8 (56 models, each trained on 6/8 of the events) was chosen over 5 and
        10 by ``benchmarks/cwola_folds.py`` on development events: bigger
        ensembles of trees score better, 10 folds took over 2 minutes on
        121k events.
    background : {"sidebands", "interpolated"}, default="sidebands"
        What ``fit(X)`` classifies the signal region against (see above).
    density_estimator : estimator or None, default=None
        ``background="interpolated"`` only: a density estimator with
        ``context``, ``fit(X, sample_weight=)`` and ``sample(context=,
        random_state=)``, like :class:`~skhep_ml.FlowAnomalyDetector`; it is
        fitted on the sideband rows of ``[inputs..., mass]`` with
        ``context`` set to the mass. ``None``: ``FlowAnomalyDetector()`` with
        its defaults (an affine autoregressive flow).
    oversampling : int, default=4
        Template events drawn per signal-region event (``"interpolated"``).
    n_inits : int, default=1
        Seeds trained per model; the one with the lowest validation loss is kept.
    balance : bool, default=True
        Balance the total weights of the two mixed samples (see above). The
        interpolated template is always weighted to the signal-region total.
    max_mass_correlation : float, default=0.2
        With ``background="sidebands"``, warn (:class:`MassCorrelationWarning`)
        when the Spearman correlation of an input with the mass in the
        sidebands exceeds this in absolute value (and by more than 3 standard
        errors, so that small sidebands do not warn on noise): a
        mass-correlated input would sculpt a fake bump. The interpolated
        template models that dependence and does not warn.
    n_jobs : int or None, default=None
        Models trained in parallel (joblib; ``None`` is 1 unless in a
        :func:`joblib.parallel_config` context, ``-1`` all cores). The result
        does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Fold assignment, seeds of the models and of the template.
    verbose : int, default=0
        Fold progress: one line per trained model (its validation loss and
        time) and per finished test fold when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[0, 1]`` for ``fit(X)`` (background, signal region), else the labels of y.
    n_features_in_ : int
        Columns of X, the mass included.
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    input_features_ : ndarray
        The columns (names, or indices for arrays) the classifier sees.
    mass_index_ : int or None
    mixed_labels_ : ndarray of shape (n_samples,)
        Encoded training label (0 or 1) of each fitted event, -1 for events
        not trained on (outside the signal region and the sidebands; the
        sidebands too with ``background="interpolated"``).
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
    density_estimator_ : estimator or None
        The fitted density of the sideband background (``"interpolated"``).
    n_template_ : int
        Template events trained on (0 unless ``"interpolated"``).
    fit_time_ : float
        Seconds taken by ``fit``.

    See Also
    --------
    skhep_ml.bump_hunt.bump_hunt : the sideband fit and local significance.
    FlowAnomalyDetector : the conditional density behind the interpolated template.

    Examples
    --------
    >>> from skhep_ml import CWoLaClassifier
    >>> from skhep_ml.datasets import make_dijet_resonance
    >>> X, y = make_dijet_resonance(6000, 600, mjj_range=(2.8, 4.4), random_state=0)
    >>> clf = CWoLaClassifier(signal_region=(3.3, 3.7), n_folds=3, random_state=0).fit(X)
    >>> clf.oof_scores_.shape
    (6600,)
    >>> passed = clf.select(efficiency=0.1)  # top 10 % out of fold, per fold
    >>> bool(y[passed].mean() > 5 * y.mean())
    True

    Tuning on ``fit(X)`` alone (no truth labels): the score is the mixed-sample AUC.

    >>> from sklearn.model_selection import GridSearchCV
    >>> search = GridSearchCV(
    ...     CWoLaClassifier(signal_region=(3.3, 3.7), n_folds=3, random_state=0),
    ...     {"sideband_width": [0.2, 0.4]},
    ...     cv=2,
    ... ).fit(X)
    >>> bool(np.isfinite(search.cv_results_["mean_test_score"]).all())
    True
    """

    _parameter_constraints: dict = {
        "mass": [str, Interval(Integral, 0, None, closed="left"), None],
        "signal_region": [tuple, list, None],
        "sideband_width": [Interval(Real, 0, None, closed="neither"), None],
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "n_folds": [Interval(Integral, 3, None, closed="left")],
        "background": [StrOptions({"sidebands", "interpolated"})],
        "density_estimator": [HasMethods(["fit", "sample"]), None],
        "oversampling": [Interval(Integral, 1, None, closed="left")],
        "n_inits": [Interval(Integral, 1, None, closed="left")],
        "balance": ["boolean"],
        "max_mass_correlation": [Interval(Real, 0, 1, closed="both")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        mass="mjj",
        signal_region=None,
        sideband_width=None,
        estimator=None,
        n_folds=8,
        *,
        background="sidebands",
        density_estimator=None,
        oversampling=4,
        n_inits=1,
        balance=True,
        max_mass_correlation=0.2,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.mass = mass
        self.signal_region = signal_region
        self.sideband_width = sideband_width
        self.estimator = estimator
        self.n_folds = n_folds
        self.background = background
        self.density_estimator = density_estimator
        self.oversampling = oversampling
        self.n_inits = n_inits
        self.balance = balance
        self.max_mass_correlation = max_mass_correlation
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers ---------------------------------------------------------- #
    def _base_estimator(self):
        return default_estimator() if self.estimator is None else self.estimator

    def _resolve_mass(self):
        if self.mass is None:
            return None
        names = getattr(self, "feature_names_in_", None)
        if isinstance(self.mass, str) and names is None:
            raise ValueError(
                f"mass={self.mass!r} names a column, but X has no column names. In a "
                "Pipeline, a transformer before this estimator turned the DataFrame into an "
                "array: use set_output(transform='pandas') and leave the mass unscaled "
                "(ColumnTransformer(..., remainder='passthrough')), or give mass as the "
                "column's integer position."
            )
        return column_index(self.mass, self.n_features_in_, names, param="mass")

    def _mass_name(self):
        return repr(feature_names(self)[self.mass_index_])

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
        if self.sideband_width is not None:
            width = float(self.sideband_width)
        elif self.background == "interpolated":
            width = np.inf  # CATHODE: every event outside the signal region
        else:
            width = hi - lo
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

    def _mixed_labels(self, X):
        """Mixed-sample label of each row of ``X`` from its mass (-1: not trained on)."""
        lo, hi, width = self._sr_window
        m = X[:, self.mass_index_]
        labels = np.full(X.shape[0], -1, dtype=np.int64)
        labels[(m >= lo - width) & (m < hi + width)] = 0
        labels[(m >= lo) & (m < hi)] = 1
        return labels

    # -- fit -------------------------------------------------------------- #
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Train the nested k-fold ensembles (and the template's density).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The classifier inputs and (unless ``mass=None``) the mass column.
        y : array-like of shape (n_samples,), optional
            Two mixed-sample labels. ``None``: labels from the mass and
            ``signal_region``.
        sample_weight : array-like of shape (n_samples,), optional
            Event weights, multiplied into the balancing weights and passed to
            the inner estimator's ``fit`` (and to the density's ``fit``).
            Negative weights are passed on as they are (what they do is up to
            the inner estimator; ``DNNClassifier`` and the default trees
            subtract their loss: their gradients enter with the weight's sign,
            so a region dominated by negative weights pulls the score the
            wrong way); each mixed sample must have a positive total.

        Returns
        -------
        self

        Notes
        -----
        Ctrl-C (KeyboardInterrupt) stops every fold, leaves the estimator
        unfitted and is re-raised, also when an inner estimator swallows it.
        """
        start = time.perf_counter()
        try:
            with InterruptRecorder() as guard:
                self._fit_mixed_samples(X, y, sample_weight, guard)
        except BaseException:
            # nothing half-built may look fitted (a failed or interrupted fit)
            for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
                delattr(self, name)
            raise
        self.fit_time_ = time.perf_counter() - start
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
        self.density_estimator_ = None
        self.n_template_ = 0
        rng = check_random_state(self.random_state)
        if y is None:
            labels, weights = self._labels_from_mass(X, sample_weight)
        else:
            if self.background == "interpolated":
                raise ValueError(
                    "background='interpolated' builds its template from the mass in fit(X); "
                    "fit(X, y) takes the two mixed samples as given (pass y=None)."
                )
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
        Xin = self._inputs(X)
        n = X.shape[0]
        if y is None and self.background == "interpolated":
            template = self._interpolated_template(X, sample_weight, rng)
            t_weight = np.full(len(template), weights[labels == 1].sum() / len(template))
            Xin = np.concatenate([Xin, template.astype(Xin.dtype, copy=False)])
            labels = np.concatenate([labels, np.zeros(len(template), dtype=np.int64)])
            weights = np.concatenate([self.mixed_weights_, t_weight])
            self.n_template_ = len(template)
        else:
            weights = self.mixed_weights_
        folds, oof = self._fit(Xin, labels, weights, guard, rng)
        self.folds_ = folds[:n]
        self.oof_scores_ = oof[:n]

    def _labels_from_mass(self, X, sample_weight):
        lo, hi, width = self._sr_window = self._window()
        m = X[:, self.mass_index_]
        labels = self._mixed_labels(X)
        in_sr = labels == 1
        in_low = (labels == 0) & (m < lo)
        in_high = (labels == 0) & (m >= hi)
        weights = sample_weight.astype(np.float64)
        if not (in_sr | in_low | in_high).any():
            raise ValueError(
                f"No event has a mass in the signal region [{lo:g}, {hi:g}) or its sidebands "
                f"[{lo - width:g}, {hi + width:g}): the mass column {self._mass_name()} spans "
                f"[{m.min():.4g}, {m.max():.4g}].{_scaled_mass_hint(m, lo, hi)}"
            )
        for name, mask in (
            (f"signal region [{lo:g}, {hi:g})", in_sr),
            (f"low sideband [{lo - width:g}, {lo:g})", in_low),
            (f"high sideband [{hi:g}, {hi + width:g})", in_high),
        ):
            if weights[mask].sum() <= 0:
                raise ValueError(
                    f"The {name} holds no events (or no positive total weight); the mass "
                    f"column {self._mass_name()} spans [{m.min():.4g}, {m.max():.4g}]."
                    + _scaled_mass_hint(m, lo, hi)
                )
            trained_on = mask is in_sr or self.background == "sidebands"
            if trained_on and mask.sum() < self.n_folds:
                raise ValueError(
                    f"The {name} holds {mask.sum()} event(s), fewer than n_folds="
                    f"{self.n_folds}: too few to train and score out of fold. Widen the "
                    "region or the sidebands, or use fewer folds."
                )
        if self.background == "sidebands" and self.balance:
            half = 0.5 * weights[in_sr].sum()
            weights[in_low] *= half / weights[in_low].sum()
            weights[in_high] *= half / weights[in_high].sum()
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
        if bad.any() and self.background == "sidebands":
            warnings.warn(
                f"Classifier input(s) {list(self.input_features_[bad])} are correlated with the "
                f"mass in the sidebands (Spearman {np.round(rho[bad], 3).tolist()}, above "
                f"{self.max_mass_correlation}): the classifier can learn the mass and sculpt a "
                "fake bump. Decorrelate them (e.g. divide jet masses by mjj), drop them, or "
                "interpolate the background (background='interpolated').",
                MassCorrelationWarning,
                stacklevel=4,
            )
        if self.background == "interpolated":
            labels[sb] = -1  # the sidebands feed the density, not the classifier
        return labels, weights

    def _density(self, seed):
        if self.density_estimator is None:
            from skhep_ml.flow import FlowAnomalyDetector

            density = FlowAnomalyDetector()
        else:
            density = clone(self.density_estimator)
        n_inputs = self.n_features_in_ - 1
        params = {"context": n_inputs}  # the mass is the last column of the sideband matrix
        if "random_state" in density.get_params():
            params["random_state"] = seed
        if "verbose" in density.get_params():
            params["verbose"] = max(int(self.verbose) - 1, 0)
        return density.set_params(**params)

    def _interpolated_template(self, X, sample_weight, rng):
        """CATHODE: sample a density of the sidebands at the signal-region masses."""
        labels = self._mixed_labels(X)
        sb, sr = labels == 0, labels == 1
        if sb.sum() < MIN_DENSITY_EVENTS:
            raise ValueError(
                f"The sidebands hold {sb.sum()} events, fewer than {MIN_DENSITY_EVENTS}: too "
                "few to fit the density of the background (background='interpolated'). Widen "
                "sideband_width (None: every event outside the signal region)."
            )
        m = X[:, self.mass_index_]
        Xin = self._inputs(X)
        seed = rng.randint(2**31 - 1)
        density = self._density(seed)
        if self.verbose:
            print(f"[CWoLa] fitting the background density on {sb.sum():,} sideband events")
        density.fit(np.c_[Xin[sb], m[sb]], sample_weight=sample_weight[sb])
        self.density_estimator_ = density
        masses = rng.choice(m[sr], size=self.oversampling * int(sr.sum()), replace=True)
        return self._sample_template(masses, seed)

    def _sample_template(self, masses, seed):
        rows = self.density_estimator_.sample(context=masses[:, None], random_state=seed)
        return np.asarray(rows)[:, : self.n_features_in_ - 1]

    def _fit(self, X, labels, weights, guard, rng):
        base = self._base_estimator()
        if not has_fit_parameter(base, "sample_weight"):
            raise ValueError(
                f"The inner estimator {type(base).__name__} must accept sample_weight in fit."
            )
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

        # seeds drawn up front in a fixed order: the result does not depend on n_jobs
        pairs = [(k, j) for k in range(K) for j in range(K) if j != k]
        seeds = rng.randint(2**31 - 1, size=(len(pairs), self.n_inits))
        tasks = (
            delayed(_fit_one_model)(
                base,
                X,
                labels,
                weights,
                train[(folds[train] != k) & (folds[train] != j)],
                train[folds[train] == j],
                seeds[i],
            )
            for i, (k, j) in enumerate(pairs)
        )
        estimators = [[] for _ in range(K)]
        validation_loss = np.full((K, K), np.nan)
        oof = np.empty(X.shape[0])
        start = time.perf_counter()
        results = Parallel(n_jobs=self.n_jobs, return_as="generator")(tasks)
        for i, ((k, j), (model, loss, seconds)) in enumerate(zip(pairs, results)):
            guard.check()  # an inner estimator may have swallowed Ctrl-C
            if list(model.classes_) != [0, 1]:
                raise ValueError(
                    f"The inner estimator's classes_ are {list(model.classes_)}; expected [0, 1]."
                )
            estimators[k].append(model)
            validation_loss[k, j] = loss
            if self.verbose:
                print(
                    f"[CWoLa] model {i + 1}/{len(pairs)} (test fold {k}, validation fold "
                    f"{j}): validation loss {loss:.5f}, {seconds:.1f} s"
                )
            if len(estimators[k]) == K - 1:
                in_k = folds == k
                oof[in_k] = np.mean([e.predict_proba(X[in_k])[:, 1] for e in estimators[k]], 0)
                if self.verbose:
                    print(
                        f"[CWoLa] test fold {k + 1}/{K} scored out of fold "
                        f"({in_k.sum():,} events), {time.perf_counter() - start:.1f} s elapsed"
                    )
        self.estimators_ = estimators
        self.validation_loss_ = validation_loss
        return folds, oof

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
        # block by block: the inner models' copies of their input are those of one block
        n, blocks = predict_blocks(self, X)
        proba = np.empty((n, 2))
        for rows, block in blocks:
            proba[rows] = self._proba(self._inputs(block))
        return proba

    def _proba(self, Xin):
        # a running sum: one model's probabilities at a time, not all of them
        models = [e for fold in self.estimators_ for e in fold]
        total = models[0].predict_proba(Xin)
        for model in models[1:]:
            total += model.predict_proba(Xin)
        return total / len(models)

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

    def score(self, X, y=None, sample_weight=None):
        """Weighted ROC AUC of the mixed-sample labels: tuning without truth labels.

        With ``y=None`` (an estimator fitted by ``fit(X)``) the labels come
        from the mass, as in ``fit``: the signal-region events of ``X`` (1)
        against its sideband events (0), or, with
        ``background="interpolated"``, against as many template events drawn
        from ``density_estimator_`` at their masses (seeded by
        ``random_state``). The AUC of two mixtures with signal fractions
        ``f1 > f0`` is ``0.5 + (f1 - f0) (AUC_sb - 0.5)``, a rising function of
        the signal-vs-background AUC, so ``GridSearchCV(...).fit(X)`` and
        ``cross_val_score(..., X)`` tune the classifier on the method's own
        principle. Given ``y`` (two labels, the second of ``classes_`` the
        positive one), the AUC against ``y``: the mixed labels of
        ``fit(X, y)``, or truth labels (signal = 1) on simulation.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Data not trained on (a cross-validation test split).
        y : array-like of shape (n_samples,), optional
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        check_is_fitted(self)
        Xv = validate_predict_data(self, X)
        sw = np.ones(Xv.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        if sw.shape != (Xv.shape[0],):
            raise ValueError(f"sample_weight has shape {sw.shape}; expected ({Xv.shape[0]},).")
        if y is not None:
            y = np.asarray(y)
            if y.shape != (Xv.shape[0],):
                raise ValueError(f"y has shape {y.shape}; expected ({Xv.shape[0]},).")
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if unknown.size:
                raise ValueError(
                    f"y has labels {unknown.tolist()} not in classes_ {self.classes_}."
                )
            labels = (y == self.classes_[1]).astype(int)
            proba = self._proba(self._inputs(Xv))[:, 1]
        elif self._sr_window is None:
            raise ValueError(
                "score(X) without y needs an estimator fitted by fit(X) (labels from the "
                "mass); this one was fitted by fit(X, y): pass y."
            )
        else:
            labels = self._mixed_labels(Xv)
            Xin = self._inputs(Xv)
            if self.background == "interpolated":
                sr = labels == 1
                seed = check_random_state(self.random_state).randint(2**31 - 1)
                masses = Xv[sr, self.mass_index_]
                template = self._sample_template(masses, seed) if sr.any() else Xin[:0]
                Xin = np.concatenate([Xin[sr], template.astype(Xin.dtype, copy=False)])
                labels = np.r_[np.ones(sr.sum(), int), np.zeros(len(template), int)]
                sw = np.r_[sw[sr], np.full(len(template), sw[sr].mean() if sr.any() else 1.0)]
            keep = labels >= 0
            labels, sw, proba = labels[keep], sw[keep], self._proba(Xin[keep])[:, 1]
        if np.unique(labels).size < 2:
            raise ValueError(
                "score needs events of both mixed samples in X (the signal region and the "
                f"background); got only label(s) {np.unique(labels).tolist()}."
            )
        return float(roc_auc_score(labels, proba, sample_weight=sw))

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


def _scaled_mass_hint(m, lo, hi):
    """A hint when the mass column looks transformed (e.g. standardised in a Pipeline)."""
    if not (lo <= m.max() and hi >= m.min()):
        why = "The signal region lies outside the values of the mass"
    elif abs(m.mean()) < 1e-3 and abs(m.std() - 1) < 1e-3:
        why = "The mass has mean 0 and standard deviation 1"
    elif m.min() == 0 and m.max() == 1:
        why = "The mass spans exactly [0, 1]"
    else:
        return ""
    return (
        f" {why}: was the mass column "
        "scaled or transformed (e.g. by a StandardScaler in a Pipeline)? The regions are in "
        "the units of the unscaled mass: scale only the other columns "
        "(ColumnTransformer(..., remainder='passthrough') with set_output(transform='pandas'))."
    )


def _takes_validation_set(model):
    """Whether ``model.fit`` early-stops on a given validation set (``X_val``, as HGB)."""
    try:
        takes = "X_val" in signature(model.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return takes and model.get_params().get("early_stopping") is True


def _fit_one_model(base, X, labels, weights, fit_idx, val_idx, seeds):
    """The model of lowest validation loss over the seeds, its loss and the seconds taken."""
    start = time.perf_counter()
    has_seed = "random_state" in base.get_params()
    best, best_loss = None, np.inf
    for seed in seeds:
        model = clone(base)
        if has_seed:
            model.set_params(random_state=int(seed))
        extra = {}
        if _takes_validation_set(model):
            extra = dict(
                X_val=X[val_idx], y_val=labels[val_idx], sample_weight_val=weights[val_idx]
            )
        model.fit(X[fit_idx], labels[fit_idx], sample_weight=weights[fit_idx], **extra)
        p = model.predict_proba(X[val_idx])
        loss = log_loss(labels[val_idx], p, sample_weight=weights[val_idx], labels=[0, 1])
        if best is None or loss < best_loss:
            best, best_loss = model, loss
    return best, best_loss, time.perf_counter() - start
