"""Averages of the standardised anomaly scores of several outlier detectors."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import _fit_context, clone
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from skhep_ml._outlier import OutlierScoresMixin, offset_from_training
from skhep_ml.metrics import anomaly_response_method, anomaly_score
from skhep_ml.utils import validate_fit_data, validate_predict_data

__all__ = ["AnomalyScoreEnsemble"]

# the members get the input at its own precision (float64, or float32 if given)
_DTYPES = [np.float64, np.float32]
# knots of the empirical CDF of "rank" standardisation (QuantileTransformer's default)
_N_QUANTILES = 1000


class AnomalyScoreEnsemble(OutlierScoresMixin, _BaseComposition):
    """Average of the standardised anomaly scores of several outlier detectors.

    Detectors see different kinds of anomalies (an isolation forest the rows
    far out along a feature, an elliptic envelope the rows that break a
    correlation, a density the rows between modes); their scores live on
    unrelated scales. The ensemble fits every member on the same rows,
    standardises each member's anomaly score (``-score_samples``, see
    :func:`skhep_ml.metrics.anomaly_score`) with statistics of its *training*
    scores, and averages the standardised scores, weighted by ``weights``.
    Multiplying a member's score by a positive constant, or adding one to it,
    changes nothing (with ``"rank"``, an increasing transformation changes
    only the linear interpolation between training scores).

    The ensemble follows scikit-learn's outlier-detector conventions like
    :class:`sklearn.ensemble.IsolationForest`: :meth:`score_samples` is *lower*
    for more abnormal rows (minus the weighted mean standardised anomaly
    score), :meth:`decision_function` is ``score_samples - offset_`` and
    :meth:`predict` gives -1 for outliers, +1 for inliers. Score it on a
    labelled set with :func:`skhep_ml.metrics.anomaly_scorer`.
    :meth:`standardized_scores` shows which member flags an event.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members, as in :class:`sklearn.ensemble.VotingClassifier`: unique
        names (usable in nested parameters such as ``iforest__max_samples``)
        and unfitted outlier detectors or density estimators (anything with
        ``score_samples`` or ``decision_function`` that is not a classifier or
        regressor; ``LocalOutlierFactor`` needs ``novelty=True``). A member set
        to ``"drop"`` is left out. The members are cloned in :meth:`fit`.
    standardization : {"zscore", "rank"}, default="zscore"
        ``"zscore"``: a member's anomaly score minus the mean of its training
        scores, divided by their standard deviation (1 for a constant score).
        ``"rank"``: the fraction of its training scores below the score, i.e.
        their empirical distribution function, interpolated linearly between
        at most 1000 quantiles, 0 below the lowest and 1 above the highest.
        ``"rank"`` is robust to heavy-tailed scores but caps a score beyond
        every training score at 1, however far beyond; ``"zscore"`` keeps
        that distance. So with ranks an event that one of two members flags
        and the other finds ordinary averages to about 0.75, which a tenth of
        the background reaches too; with z-scores one member's strong verdict
        carries the average. Choose ``"zscore"`` when the members see
        different kinds of anomalies, ``"rank"`` when they agree and a
        member's heavy tail should not dominate.
    weights : array-like of shape (n_estimators,), default=None
        Non-negative weight of every member in the average (of the entries of
        ``estimators``, dropped ones included and ignored); only their ratios
        matter. ``None``: equal weights.
    contamination : float in (0, 0.5], default=0.1
        Fraction of training rows declared outliers by :meth:`predict`:
        ``offset_`` is that percentile of the training ``score_samples``
        (unweighted, as in ``IsolationForest``). There is no ``"auto"``: the
        fixed thresholds of ``IsolationForest`` (-0.5) and
        ``LocalOutlierFactor`` (-1.5) belong to their own scores, and a rule
        on the training distribution of the average, such as Tukey's fence of
        ``AutoencoderAnomalyDetector``, flags nothing with ``"rank"`` (the
        average lies in [0, 1]). ``score_samples`` and the metrics on it do
        not depend on it.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members, dropped ones left out.
    named_estimators_ : sklearn.utils.Bunch
        The fitted members by name (a dropped member is ``"drop"``).
    scalers_ : list of StandardScaler or QuantileTransformer
        The standardisation of each fitted member's anomaly score, learned on
        its training scores.
    weights_ : ndarray of shape (len(`estimators_`),)
        Weights of the fitted members, normalised to sum to one.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    See Also
    --------
    skhep_ml.metrics.anomaly_scorer : scorers of outlier detectors on labelled rows.
    sklearn.ensemble.VotingClassifier : the same composition for classifiers.

    Notes
    -----
    ``sample_weight`` is passed to every member's ``fit``; if a member's
    ``fit`` does not take it (``LocalOutlierFactor``, ``EllipticEnvelope``, a
    ``Pipeline``) :meth:`fit` raises a ``ValueError`` rather than fit that
    member unweighted. The standardisation and ``offset_`` use the training
    rows unweighted, as ``IsolationForest``'s ``offset_`` does: they set the
    scale on which members are averaged, not a physics yield.

    The standardisation uses each member's scores on its own training rows.
    A member that scores its training rows differently from new rows (a
    ``LocalOutlierFactor(novelty=True)`` counts a training row among its own
    neighbours) gets a slightly different scale, and so a slightly different
    say in the average; the order of its own scores is unaffected.

    The members see the validated array (NaN and inf refused, numeric columns
    only); the column names are checked by the ensemble, not passed on.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.covariance import EllipticEnvelope
    >>> from sklearn.ensemble import IsolationForest
    >>> from skhep_ml import AnomalyScoreEnsemble
    >>> rng = np.random.default_rng(0)
    >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=500)
    >>> ens = AnomalyScoreEnsemble(
    ...     [("iforest", IsolationForest(random_state=0)), ("envelope", EllipticEnvelope())],
    ...     contamination=0.02,
    ... ).fit(X)
    >>> odd = [[1.5, -1.5], [4.0, 4.0]]  # a broken correlation, a far tail
    >>> ens.predict([[0.0, 0.0], *odd])
    array([ 1, -1, -1])
    >>> ens.standardized_scores(odd).round(1)
    array([[ 2.8, 23.4],
           [ 5.3,  6.4]])
    >>> ens.score_samples(odd).round(1)
    array([-13.1,  -5.8])
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "standardization": [StrOptions({"zscore", "rank"})],
        "weights": ["array-like", None],
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
    }

    def __init__(self, estimators, *, standardization="zscore", weights=None, contamination=0.1):
        self.estimators = estimators
        self.standardization = standardization
        self.weights = weights
        self.contamination = contamination

    # -- nested parameters (as VotingClassifier) ---------------------------------
    def get_params(self, deep=True):
        """Parameters of the ensemble and, with ``deep``, of its members.

        Parameters
        ----------
        deep : bool, default=True
            Also return the members by name and their parameters as
            ``name__param``.

        Returns
        -------
        dict
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters of the ensemble, its members (``name__param``), or
        replace a member (``name=estimator`` or ``name="drop"``).

        Parameters
        ----------
        **params : dict

        Returns
        -------
        self
        """
        self._set_params("estimators", **params)
        return self

    # -- fit -------------------------------------------------------------------
    def _members(self):
        """``(names, members, weights)`` of the members not dropped, validated."""
        if not self.estimators or not all(
            isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
            for item in self.estimators
        ):
            raise ValueError(
                "estimators must be a non-empty list of (name, estimator) pairs, got "
                f"{self.estimators!r}."
            )
        names = [name for name, _ in self.estimators]
        self._validate_names(names)
        if self.weights is None:
            weights = np.ones(len(names))
        else:
            weights = np.asarray(self.weights, dtype=float)
            if weights.shape != (len(names),):
                raise ValueError(
                    f"weights must have one entry per estimator ({len(names)}), got shape "
                    f"{weights.shape}."
                )
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError(f"weights must be finite and non-negative, got {self.weights}.")
        kept = [
            (name, est, w)
            for (name, est), w in zip(self.estimators, weights)
            if not (isinstance(est, str) and est == "drop")
        ]
        if not kept:
            raise ValueError("All estimators are dropped; at least one is required.")
        for name, est, _ in kept:
            if not hasattr(est, "fit"):
                raise TypeError(f"Estimator {name!r} ({est!r}) has no fit method.")
            try:
                anomaly_response_method(est)
            except TypeError as error:
                raise TypeError(f"Estimator {name!r}: {error}") from error
        kept_weights = np.array([w for _, _, w in kept])
        if not kept_weights.sum() > 0:
            raise ValueError("The weights of the estimators not dropped sum to zero.")
        return [n for n, _, _ in kept], [e for _, e, _ in kept], kept_weights / kept_weights.sum()

    @_fit_context(prefer_skip_nested_validation=False)  # the members validate their own
    def fit(self, X, y=None, sample_weight=None):
        """Fit every member on ``X``, then the standardisation of its scores.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training rows (may contain the anomalies: train on data). No NaN.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every member's ``fit``; a ``ValueError`` if a member's
            ``fit`` does not take it. The standardisation and ``offset_`` are
            unweighted.

        Returns
        -------
        self
        """
        names, members, weights = self._members()
        weighted = sample_weight is not None
        if weighted:
            unweighted = [
                n for n, e in zip(names, members) if not has_fit_parameter(e, "sample_weight")
            ]
            if unweighted:
                raise ValueError(
                    f"sample_weight was given but the fit of estimator(s) {unweighted} does not "
                    "take it; fit without weights, or replace or drop those members."
                )
        X, _, sample_weight = validate_fit_data(
            self, X, None, sample_weight, requires_y=False, dtype=_DTYPES
        )
        fit_params = {"sample_weight": sample_weight} if weighted else {}
        self.estimators_ = [clone(est).fit(X, **fit_params) for est in members]
        fitted = iter(self.estimators_)
        self.named_estimators_ = Bunch(
            **{
                name: "drop" if isinstance(est, str) and est == "drop" else next(fitted)
                for name, est in self.estimators
            }
        )
        self.weights_ = weights
        raw = self._raw_scores(X)
        self.scalers_ = [self._scaler(raw.shape[0]).fit(raw[:, [j]]) for j in range(raw.shape[1])]
        training = self._combine(self._standardize(raw))
        self.offset_ = offset_from_training(training, self.contamination)
        return self

    def _scaler(self, n_samples):
        if self.standardization == "zscore":
            return StandardScaler()
        return QuantileTransformer(n_quantiles=min(_N_QUANTILES, n_samples), subsample=None)

    # -- scores ----------------------------------------------------------------
    def _raw_scores(self, X):
        """Anomaly score of every member, shape (n_samples, n_members)."""
        return np.column_stack([anomaly_score(est, X) for est in self.estimators_])

    def _standardize(self, raw):
        return np.column_stack(
            [scaler.transform(raw[:, [j]])[:, 0] for j, scaler in enumerate(self.scalers_)]
        )

    def _combine(self, standardized):
        """``score_samples`` from standardised anomaly scores."""
        return -(standardized @ self.weights_)

    def standardized_scores(self, X):
        """Standardised anomaly score of every member: higher = more anomalous.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, len(`estimators_`))
            Column ``j`` is member ``estimators_[j]``'s anomaly score in units
            of its training scores (z-score or rank, see ``standardization``).
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X, dtype=_DTYPES)
        return self._standardize(self._raw_scores(X))

    def score_samples(self, X):
        """Minus the weighted mean standardised anomaly score: lower = more abnormal.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._combine(self.standardized_scores(X))
