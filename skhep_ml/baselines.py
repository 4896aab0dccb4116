"""Baseline classifiers: random forest, gradient-boosted trees, and the
standard ALICE nσ particle-identification selection.

All three handle missing values (NaN) natively, so a detector signal that is
absent for a track (no TOF hit, say) needs no imputation:

- :class:`RandomForestBaseline` wraps :class:`sklearn.ensemble.RandomForestClassifier`,
  whose trees learn on which side of each split missing values go.
- :class:`XGBoostBaseline` wraps :class:`xgboost.XGBClassifier` (NaN is XGBoost's
  ``missing`` value: every split learns a default branch) with a stratified
  validation split for early stopping.
- :class:`NSigmaClassifier` is not learned at all: it is the nσ selection of
  ALICE analyses (TPC below a pT threshold, TPC ⊕ TOF above it, TPC alone where
  TOF is missing), written as a classifier with scores so that it can be
  compared with the learned models on the same ROC curve.
"""

from __future__ import annotations

import numbers
import warnings
from numbers import Integral, Real
from types import MappingProxyType
from typing import ClassVar

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from skhep_ml.utils import (
    check_random_state_seed,
    validate_fit_data,
    validate_predict_data,
    validation_split,
)

__all__ = [
    "DEFAULT_SPECIES_SUFFIX",
    "NSigmaClassifier",
    "RandomForestBaseline",
    "XGBoostBaseline",
    "pdg_charge",
]


def _refuse_negative_weights(estimator, sample_weight, reason):
    if np.any(sample_weight < 0):
        raise ValueError(
            f"{type(estimator).__name__} does not accept negative sample weights "
            f"({int(np.sum(sample_weight < 0))} given): {reason}"
        )


# --------------------------------------------------------------------------
# Random forest
# --------------------------------------------------------------------------


class RandomForestBaseline(ClassifierMixin, BaseEstimator):
    """Random-forest baseline that handles missing values natively.

    A thin composition over :class:`sklearn.ensemble.RandomForestClassifier`
    (bootstrap, Gini criterion), which supports NaN in ``X`` since
    scikit-learn 1.4: each split learns on which side the missing values go,
    so a missing detector signal is information, not noise.

    Parameters
    ----------
    n_estimators : int, default=300
        Number of trees.
    max_depth : int or None, default=None
        Maximum depth of a tree; ``None`` grows until the leaves are pure or
        hold fewer than ``2 * min_samples_leaf`` samples.
    min_samples_leaf : int or float, default=1
        Minimum number (int) or fraction (float) of samples in a leaf.
    max_features : {"sqrt", "log2"}, int, float or None, default="sqrt"
        Number of features considered at each split.
    class_weight : {"balanced", "balanced_subsample"}, dict or None, default=None
        Class weights, multiplied with ``sample_weight`` (see
        :class:`~sklearn.ensemble.RandomForestClassifier`).
    n_jobs : int or None, default=None
        Parallel jobs for fit and predict; ``None`` means 1 outside a
        :func:`joblib.parallel_backend` context.
    random_state : int, RandomState instance or None, default=None
        Controls the bootstrap and the feature sampling.

    Attributes
    ----------
    estimator_ : RandomForestClassifier
        The fitted forest.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string column names.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based (mean decrease in impurity) importances, summing to one.

    Notes
    -----
    Negative sample weights are refused (``ValueError``): scikit-learn's
    bootstrap draws rows with probability proportional to their weight.
    Rows of weight zero are never drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.baselines import RandomForestBaseline
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> X[::10, 1] = np.nan  # missing values are fine
    >>> clf = RandomForestBaseline(n_estimators=20, random_state=0).fit(X, y)
    >>> clf.predict(X[:5])
    array([1, 1, 1, 1, 1])
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: ClassVar[dict] = {
        **{
            key: RandomForestClassifier._parameter_constraints[key]
            for key in (
                "n_estimators",
                "max_depth",
                "min_samples_leaf",
                "max_features",
                "n_jobs",
                "random_state",
            )
        },
        "class_weight": [StrOptions({"balanced", "balanced_subsample"}), dict, None],
    }

    def __init__(
        self,
        n_estimators=300,
        max_depth=None,
        min_samples_leaf=1,
        max_features="sqrt",
        class_weight=None,
        n_jobs=None,
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : RandomForestBaseline
        """
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, allow_nan=True, classifier=True
        )
        _refuse_negative_weights(
            self,
            sample_weight,
            "the bootstrap draws rows with probability proportional to their weight.",
        )
        return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        self.estimator_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.estimator_.fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        """Class probabilities: the mean over trees of the leaf class fractions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X, allow_nan=True)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def feature_importances_(self):
        """Impurity-based feature importances of the fitted forest."""
        check_is_fitted(self)
        return self.estimator_.feature_importances_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


# --------------------------------------------------------------------------
# XGBoost
# --------------------------------------------------------------------------


class XGBoostBaseline(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees (XGBoost) with early stopping on a stratified split.

    Wraps :class:`xgboost.XGBClassifier`. NaN in ``X`` is XGBoost's missing
    value: every split learns a default branch for it. Labels of any type are
    encoded with :class:`~sklearn.preprocessing.LabelEncoder`; two classes use
    ``binary:logistic``, more use ``multi:softprob``.

    Parameters
    ----------
    n_estimators : int, default=1000
        Maximum number of boosting rounds.
    learning_rate : float, default=0.1
        Shrinkage (XGBoost's ``eta``).
    max_depth : int, default=6
        Maximum tree depth.
    min_child_weight : float, default=1.0
        Minimum sum of hessian (weighted) in a child.
    subsample : float, default=1.0
        Fraction of rows sampled per tree.
    colsample_bytree : float, default=1.0
        Fraction of columns sampled per tree.
    reg_lambda : float, default=1.0
        L2 regularisation of the leaf values.
    validation_fraction : float or None, default=0.1
        Fraction of the (positive-weight) training rows held out, stratified by
        class, as the early-stopping validation set. ``None`` or 0 trains on
        all rows for ``n_estimators`` rounds. When the data are too small for a
        stratified split (a class with fewer than 2 rows, fewer validation or
        training rows than classes, or a class left out of the training part),
        the model is trained on all rows without early stopping
        (``early_stopping_used_`` is then False).
    early_stopping_rounds : int or None, default=20
        Stop when the validation log-loss has not improved for this many
        rounds. ``None`` records the validation loss without stopping.
    class_weight : "balanced", dict or None, default=None
        Multiplies ``sample_weight`` by
        :func:`sklearn.utils.class_weight.compute_sample_weight`.
    tree_method : {"hist", "approx", "exact"}, default="hist"
        XGBoost tree construction algorithm.
    n_jobs : int or None, default=None
        Number of threads; ``None`` means 1 outside a
        :func:`joblib.parallel_backend` context, -1 all cores.
    device : str, default="cpu"
        XGBoost device, e.g. ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    random_state : int, RandomState instance or None, default=None
        Seeds both the validation split and XGBoost.

    Attributes
    ----------
    estimator_ : xgboost.XGBClassifier
        The fitted XGBoost model (trained on the encoded labels 0..n_classes-1).
    booster_ : xgboost.Booster
        Its booster. It may hold ``early_stopping_rounds`` rounds beyond the
        best one; predictions use rounds ``0..best_iteration_`` only.
    best_iteration_ : int
        0-based index of the last boosting round used for prediction: the best
        validation round with early stopping, otherwise the last round.
    early_stopping_used_ : bool
        Whether a validation split was made and early stopping ran.
    evals_result_ : dict
        Validation metric per round, ``{"validation_0": {"logloss": [...]}}``
        (``"mlogloss"`` for more than two classes); empty without validation.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Total-gain importances of the rounds used for prediction, summing to
        one (all zero if no tree split).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it is a DataFrame with string column names.

    Notes
    -----
    Negative sample weights are refused with a ``ValueError``: XGBoost itself
    rejects them ("Weights must be positive values"). Rows of weight zero
    contribute nothing to the loss and are dropped before the validation
    split, so that the split does not depend on them; every class needs a
    positive total weight. The validation rows keep their weights
    (``sample_weight_eval_set``), so the stopping criterion is the weighted
    log-loss.

    Examples
    --------
    >>> import numpy as np
    >>> from skhep_ml.baselines import XGBoostBaseline
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = np.where(X[:, 0] + 0.5 * rng.normal(size=300) > 0, "sig", "bkg")
    >>> X[::10, 2] = np.nan  # missing values are fine
    >>> clf = XGBoostBaseline(n_estimators=200, n_jobs=1, random_state=0).fit(X, y)
    >>> clf.early_stopping_used_, clf.best_iteration_ < 199
    (True, True)
    >>> clf.predict(X[:3])
    array(['sig', 'sig', 'sig'], dtype='<U3')
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "min_child_weight": [Interval(Real, 0, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left"), None],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "tree_method": [StrOptions({"hist", "approx", "exact"})],
        "n_jobs": [Integral, None],
        "device": [str],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_estimators=1000,
        learning_rate=0.1,
        max_depth=6,
        min_child_weight=1.0,
        subsample=1.0,
        colsample_bytree=1.0,
        reg_lambda=1.0,
        validation_fraction=0.1,
        early_stopping_rounds=20,
        class_weight=None,
        tree_method="hist",
        n_jobs=None,
        device="cpu",
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.class_weight = class_weight
        self.tree_method = tree_method
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the boosted trees, with early stopping on a validation split.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : XGBoostBaseline
        """
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, allow_nan=True, classifier=True
        )
        _refuse_negative_weights(
            self, sample_weight, "XGBoost rejects them ('Weights must be positive values')."
        )
        return self._fit(X, y, sample_weight.astype(np.float64))

    def _fit(self, X, y, sample_weight):
        import xgboost

        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        n_classes = self.classes_.size
        y_encoded = encoder.transform(y)
        if self.class_weight is not None:
            sample_weight = sample_weight * compute_sample_weight(self.class_weight, y)

        class_weight_sum = np.bincount(y_encoded, weights=sample_weight, minlength=n_classes)
        if np.any(class_weight_sum <= 0):
            raise ValueError(
                f"{type(self).__name__} needs a positive total sample_weight in every "
                f"class; class(es) {self.classes_[class_weight_sum <= 0].tolist()} have "
                "zero weight. Drop those rows."
            )
        keep = sample_weight > 0
        X, y_encoded, sample_weight = X[keep], y_encoded[keep], sample_weight[keep]

        seed = check_random_state_seed(self.random_state)
        split = validation_split(
            y_encoded.size, self.validation_fraction, stratify=y_encoded, random_state=seed
        )
        self.early_stopping_used_ = split is not None
        binary = n_classes == 2
        self.estimator_ = xgboost.XGBClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_child_weight=self.min_child_weight,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            tree_method=self.tree_method,
            n_jobs=effective_n_jobs(self.n_jobs),
            device=self.device,
            random_state=seed,
            objective="binary:logistic" if binary else "multi:softprob",
            eval_metric="logloss" if binary else "mlogloss",
            early_stopping_rounds=self.early_stopping_rounds if split is not None else None,
        )
        if split is None:
            self.estimator_.fit(X, y_encoded, sample_weight=sample_weight, verbose=False)
            self.evals_result_ = {}
        else:
            train, val = split
            self.estimator_.fit(
                X[train],
                y_encoded[train],
                sample_weight=sample_weight[train],
                eval_set=[(X[val], y_encoded[val])],
                sample_weight_eval_set=[sample_weight[val]],
                verbose=False,
            )
            self.evals_result_ = self.estimator_.evals_result()
        self.booster_ = self.estimator_.get_booster()
        if split is not None and self.early_stopping_rounds is not None:
            # XGBClassifier.predict* use rounds 0..best_iteration automatically.
            self.best_iteration_ = int(self.estimator_.best_iteration)
        else:
            self.best_iteration_ = self.booster_.num_boosted_rounds() - 1
        return self

    def predict_proba(self, X):
        """Class probabilities from the rounds ``0..best_iteration_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X, allow_nan=True)
        proba = self.estimator_.predict_proba(X).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def feature_importances_(self):
        """Total-gain importances of the rounds used for prediction."""
        check_is_fitted(self)
        booster = self.booster_[: self.best_iteration_ + 1]
        importances = np.zeros(self.n_features_in_)
        for name, gain in booster.get_score(importance_type="total_gain").items():
            importances[int(name[1:])] = gain  # features are named f0, f1, ...
        total = importances.sum()
        return importances / total if total > 0 else importances

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


# --------------------------------------------------------------------------
# nσ selection
# --------------------------------------------------------------------------

#: Species suffix of the nσ columns, keyed by the absolute PDG code (read-only).
DEFAULT_SPECIES_SUFFIX = MappingProxyType({11: "e", 211: "pi", 321: "ka", 2212: "pr"})

_CHARGED_LEPTONS = frozenset({11, 13, 15})


def pdg_charge(pdg):
    """Sign of the electric charge of a particle given its PDG code.

    Hadrons (and nuclei) have the sign of the code; charged leptons the
    opposite sign (the electron, 11, is negative).

    Parameters
    ----------
    pdg : int

    Returns
    -------
    int
        +1 or -1 (0 for the code 0).

    Examples
    --------
    >>> pdg_charge(211), pdg_charge(-2212), pdg_charge(11), pdg_charge(-13)
    (1, -1, -1, 1)
    """
    pdg = int(pdg)
    sign = int(np.sign(pdg))
    return -sign if abs(pdg) in _CHARGED_LEPTONS else sign


def _as_pdg(label):
    """The integer PDG code a class label stands for, or None."""
    if isinstance(label, bool | np.bool_) or not isinstance(label, numbers.Real):
        return None
    if not float(label).is_integer() or label == 0:
        return None
    return int(label)


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

    Parameters
    ----------
    nsigma_tpc : str or dict, default="nsigma_tpc_{}"
        TPC nσ columns: a template formatted with the species suffix
        (``"nsigma_tpc_{}".format("pi")``), or a dict ``{|pdg|: column}``.
    nsigma_tof : str, dict or None, default="nsigma_tof_{}"
        TOF nσ columns, as ``nsigma_tpc`` (a class with a TPC but no TOF entry
        in a dict uses TPC alone). ``None``: TPC only, for every class.
    species_suffix : dict or None, default=None
        ``{|pdg|: suffix}`` used with the templates. ``None`` means
        :data:`DEFAULT_SPECIES_SUFFIX`, ``{11: "e", 211: "pi", 321: "ka",
        2212: "pr"}``.
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
    feature_names_in_ : ndarray of shape (n_features_in_,)
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
    >>> from skhep_ml.baselines import NSigmaClassifier
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

    def _species_column(self, spec, abs_pdg, suffixes, name):
        """The column (name or position) of a species, or None if it has none."""
        if isinstance(spec, dict):
            return spec.get(abs_pdg)
        if abs_pdg not in suffixes:
            return None
        try:
            return spec.format(suffixes[abs_pdg])
        except (IndexError, KeyError) as error:
            raise ValueError(
                f"{name}={spec!r} must be a template with one '{{}}' for the species "
                f"suffix ({error!r})."
            ) from error

    def _fit(self, X, y):
        suffixes = DEFAULT_SPECIES_SUFFIX if self.species_suffix is None else self.species_suffix
        for key, value in suffixes.items():
            if not isinstance(key, Integral) or key <= 0 or not isinstance(value, str):
                raise ValueError(
                    "species_suffix must map absolute PDG codes (positive int) to str "
                    f"suffixes; got {key!r}: {value!r}."
                )
        names = getattr(self, "feature_names_in_", None)
        missing = []

        def locate(column, what):
            if column is None:
                return -1
            if isinstance(column, Integral) and not isinstance(column, bool):
                if not 0 <= column < self.n_features_in_:
                    raise ValueError(
                        f"{what} column position {column} is out of range for X with "
                        f"{self.n_features_in_} columns."
                    )
                return int(column)
            if not isinstance(column, str):
                raise ValueError(f"{what} column must be a name (str) or position (int).")
            if names is not None and column in names:
                return int(np.flatnonzero(names == column)[0])
            missing.append(column)
            return -1

        self.classes_ = np.unique(y)
        n_classes = self.classes_.size
        self.class_charge_ = np.full(n_classes, np.nan)
        self.tpc_columns_ = np.full(n_classes, -1, dtype=np.intp)
        self.tof_columns_ = np.full(n_classes, -1, dtype=np.intp)
        uses_tof = tof_missing = False
        for i, label in enumerate(self.classes_):
            pdg = _as_pdg(label)
            if pdg is None:
                continue
            tpc = self._species_column(self.nsigma_tpc, abs(pdg), suffixes, "nsigma_tpc")
            if tpc is None:
                continue
            self.class_charge_[i] = pdg_charge(pdg)
            self.tpc_columns_[i] = locate(tpc, "nsigma_tpc")
            if self.nsigma_tof is not None:
                tof = self._species_column(self.nsigma_tof, abs(pdg), suffixes, "nsigma_tof")
                uses_tof = uses_tof or tof is not None
                n_missing = len(missing)
                self.tof_columns_[i] = locate(tof, "nsigma_tof")
                tof_missing = tof_missing or len(missing) > n_missing
        has_columns = ~np.isnan(self.class_charge_)
        self.charge_column_ = locate(self.charge, "charge") if has_columns.any() else -1
        self.pt_column_ = locate(self.pt, "pt") if uses_tof else -1

        if missing:
            missing = list(dict.fromkeys(missing))  # ±pdg share their columns
            if names is None:
                raise ValueError(
                    f"{type(self).__name__} refers to columns by name ({missing}) but X "
                    "has no column names: pass a pandas DataFrame with these columns, "
                    "or give the columns as integer positions."
                )
            raise ValueError(
                f"{type(self).__name__}: column(s) {missing} not found in X. X has "
                f"columns {names.tolist()[:30]}{' ...' if names.size > 30 else ''}."
                + (" Set nsigma_tof=None to use the TPC alone." if tof_missing else "")
            )
        if not has_columns.all():
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
                stacklevel=4,
            )
        return self

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
