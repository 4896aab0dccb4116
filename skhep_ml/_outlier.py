"""The outlier-detector API shared by skhep_ml's detectors.

scikit-learn's convention (:class:`sklearn.ensemble.IsolationForest`):
``score_samples`` is lower for more abnormal rows, ``decision_function`` is
``score_samples - offset_`` (negative = outlier), ``predict`` gives -1 for
outliers and +1 for inliers, and ``contamination`` sets ``offset_`` from the
training scores. A detector defines ``score_samples`` and calls
:func:`offset_from_training`; :class:`OutlierScoresMixin` does the rest.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import OutlierMixin

__all__ = ["OutlierScoresMixin", "offset_from_training"]


def offset_from_training(training_scores, contamination):
    """``offset_`` from the training rows' ``score_samples`` (unweighted, as IsolationForest).

    A float ``contamination`` puts that fraction of the training rows below
    the offset. ``"auto"`` is Tukey's fence on the anomaly score
    ``a = -score_samples``: a row is an outlier when ``a > Q3 + 1.5 * IQR``.
    """
    scores = np.asarray(training_scores, dtype=np.float64)
    if contamination == "auto":
        q1, q3 = np.percentile(-scores, [25.0, 75.0])
        return -float(q3 + 1.5 * (q3 - q1))
    return float(np.percentile(scores, 100.0 * contamination))


class OutlierScoresMixin(OutlierMixin):
    """``decision_function`` and ``predict`` from ``score_samples`` and ``offset_``."""

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """-1 for outliers (``decision_function < 0``), +1 for inliers.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of int of shape (n_samples,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1)
