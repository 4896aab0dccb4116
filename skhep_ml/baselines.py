"""Baseline classifiers: random forest and gradient-boosted trees.

Both handle missing values (NaN) natively, so a detector signal that is absent
for a track (no TOF hit, say) needs no imputation:

- :class:`RandomForestBaseline` wraps :class:`sklearn.ensemble.RandomForestClassifier`,
  whose trees learn on which side of each split missing values go.
- :class:`XGBoostBaseline` wraps :class:`xgboost.XGBClassifier` (NaN is XGBoost's
  ``missing`` value: every split learns a default branch) with a stratified
  validation split for early stopping.

The standard ALICE nσ selection, the third baseline of the PID comparison, is
:class:`skhep_ml.nsigma.NSigmaClassifier`.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

# Re-exported for code written before the nσ classifier had its own module.
from skhep_ml.nsigma import DEFAULT_SPECIES_SUFFIX as DEFAULT_SPECIES_SUFFIX
from skhep_ml.nsigma import NSigmaClassifier as NSigmaClassifier
from skhep_ml.utils import (
    InterruptRecorder,
    check_random_state_seed,
    validate_fit_data,
    validate_predict_data,
    validation_split,
)

__all__ = ["RandomForestBaseline", "XGBoostBaseline"]


class _TreeBaseline(ClassifierMixin, BaseEstimator):
    """Fit and predict bookkeeping shared by the tree baselines.

    Subclasses give ``_negative_weights`` (why negative sample weights are
    refused) and implement ``_fit(X, y, sample_weight)``, which sets at least
    ``estimator_`` and ``classes_``, and ``_predict_proba(X)``, both on
    validated arrays.
    """

    _negative_weights: ClassVar[str]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        An exception raised during fit, ``KeyboardInterrupt`` (Ctrl-C)
        included, propagates and leaves the estimator unfitted: no fitted
        attribute, from this fit or an earlier one, is kept.

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
        self : object
            The fitted estimator.
        """
        try:
            X, y, sample_weight = validate_fit_data(
                self, X, y, sample_weight, allow_nan=True, classifier=True
            )
            if np.any(sample_weight < 0):
                raise ValueError(
                    f"{type(self).__name__} does not accept negative sample weights "
                    f"({int(np.sum(sample_weight < 0))} given): {self._negative_weights}"
                )
            self._fit(X, y, sample_weight.astype(np.float64))
        except BaseException:
            self._forget_fit()
            raise
        return self

    def _forget_fit(self):
        """Delete every fitted attribute (those ``check_is_fitted`` looks for)."""
        for name in [key for key in vars(self) if key.endswith("_") and not key.startswith("__")]:
            delattr(self, name)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X, allow_nan=True)
        return self._predict_proba(X)

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


# --------------------------------------------------------------------------
# Random forest
# --------------------------------------------------------------------------


class RandomForestBaseline(_TreeBaseline):
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
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.
    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Impurity-based (mean decrease in impurity) importances, summing to one.

    Notes
    -----
    ``predict_proba`` is the mean over trees of the leaf class fractions.
    Negative sample weights are refused (``ValueError``): scikit-learn's
    bootstrap draws rows with probability proportional to their weight.
    Rows of weight zero are never drawn. An interrupted fit (Ctrl-C) re-raises
    ``KeyboardInterrupt`` and leaves the estimator unfitted.

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

    _negative_weights = "the bootstrap draws rows with probability proportional to their weight."

    def _fit(self, X, y, sample_weight):
        forest = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.estimator_ = forest.fit(X, y, sample_weight=sample_weight)
        self.classes_ = forest.classes_

    def _predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    @property
    def feature_importances_(self):
        """Impurity-based feature importances of the fitted forest."""
        check_is_fitted(self)
        return self.estimator_.feature_importances_


# --------------------------------------------------------------------------
# XGBoost
# --------------------------------------------------------------------------


def _stop_on_interrupt(recorder):
    """XGBoost callback: end the boosting after the round in which Ctrl-C came.

    XGBoost builds its training matrix (``QuantileDMatrix``) through Python
    callbacks called from C++: a ``KeyboardInterrupt`` raised inside one is
    lost ("Exception ignored on calling ctypes callback function"), and the C++
    side then fails with an ``XGBoostError`` or aborts the interpreter. So the
    fit runs under ``InterruptRecorder(defer=True)``: Ctrl-C sets a flag, this
    callback stops the training at the end of the round, and the recorder
    raises ``KeyboardInterrupt`` after it.
    """
    import xgboost

    class StopOnInterrupt(xgboost.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            return recorder.interrupted

    return StopOnInterrupt()


class XGBoostBaseline(_TreeBaseline):
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
    feature_importances_ : ndarray of shape (`n_features_in_`,)
        Total-gain importances of the rounds used for prediction, summing to
        one (all zero if no tree split).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string column names.

    Notes
    -----
    Negative sample weights are refused with a ``ValueError``: XGBoost itself
    rejects them ("Weights must be positive values"). Rows of weight zero
    contribute nothing to the loss and are dropped before the validation
    split, so that the split does not depend on them; every class needs a
    positive total weight, ``class_weight`` included. The validation rows
    keep their weights (``sample_weight_eval_set``), so the stopping
    criterion is the weighted log-loss. ``predict_proba`` uses the rounds
    ``0..best_iteration_``. An interrupted fit (Ctrl-C) re-raises
    ``KeyboardInterrupt`` and leaves the estimator unfitted.

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

    _negative_weights = "XGBoost rejects them ('Weights must be positive values')."

    def _fit(self, X, y, sample_weight):
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        y_encoded = encoder.transform(y)
        sample_weight = self._effective_weights(y, y_encoded, sample_weight)
        keep = sample_weight > 0  # so that the validation split does not depend on them
        X, y_encoded, sample_weight = X[keep], y_encoded[keep], sample_weight[keep]
        seed = check_random_state_seed(self.random_state)
        split = validation_split(
            y_encoded.size, self.validation_fraction, stratify=y_encoded, random_state=seed
        )
        self.early_stopping_used_ = split is not None
        with InterruptRecorder(defer=True) as ctrl_c:
            self.estimator_ = self._make_model(seed, split is not None, _stop_on_interrupt(ctrl_c))
            if split is None:
                self.estimator_.fit(X, y_encoded, sample_weight=sample_weight, verbose=False)
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
        ctrl_c.check()
        self.estimator_.callbacks = None  # for this fit only (and it does not pickle)
        self.evals_result_ = self.estimator_.evals_result() if split is not None else {}
        self.booster_ = self.estimator_.get_booster()
        if split is not None and self.early_stopping_rounds is not None:
            # XGBClassifier.predict* use rounds 0..best_iteration automatically.
            self.best_iteration_ = int(self.estimator_.best_iteration)
        else:
            self.best_iteration_ = self.booster_.num_boosted_rounds() - 1

    def _effective_weights(self, y, y_encoded, sample_weight):
        """``sample_weight`` times the class weights; every class must keep a positive total."""
        if self.class_weight is not None:
            sample_weight = sample_weight * compute_sample_weight(self.class_weight, y)
        total = np.bincount(y_encoded, weights=sample_weight, minlength=self.classes_.size)
        if np.any(total <= 0):
            raise ValueError(
                f"{type(self).__name__} needs a positive total weight (sample_weight times "
                f"class_weight) in every class; class(es) {self.classes_[total <= 0].tolist()} "
                "have zero weight."
            )
        return sample_weight

    def _make_model(self, seed, early_stopping, stop_callback):
        import xgboost

        binary = self.classes_.size == 2
        return xgboost.XGBClassifier(
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
            early_stopping_rounds=self.early_stopping_rounds if early_stopping else None,
            callbacks=[stop_callback],
        )

    def _predict_proba(self, X):
        proba = self.estimator_.predict_proba(X).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

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
