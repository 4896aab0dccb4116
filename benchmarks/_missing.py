"""Missing-data baselines shared by the `pid` and `higgsml` benchmarks.

The comparison of the ALICE study (EPJ C 84 (2024) 691): what to do with a
row whose detector signal is missing. Every method is composed from
scikit-learn parts and :class:`skhep_ml.DNNClassifier`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_is_fitted

from skhep_ml import DNNClassifier, FSEAttentionClassifier


def weight_params(estimator, sample_weight):
    """``fit`` keyword arguments passing ``sample_weight`` (to a Pipeline's last step)."""
    if sample_weight is None:
        return {}
    if isinstance(estimator, Pipeline):
        return {f"{estimator.steps[-1][0]}__sample_weight": sample_weight}
    return {"sample_weight": sample_weight}


class PatternEnsembleClassifier(ClassifierMixin, BaseEstimator):
    """One clone of ``estimator`` per missingness pattern, on that pattern's present columns.

    A pattern with fewer than ``min_rows`` training rows, or with a single class,
    or unseen in training, is predicted by ``fallback`` (fitted on every row).
    """

    def __init__(self, estimator=None, fallback=None, min_rows=200):
        self.estimator = estimator
        self.fallback = fallback
        self.min_rows = min_rows

    @staticmethod
    def _patterns(X):
        missing = np.isnan(X)
        return missing, np.array([k.tobytes() for k in np.packbits(missing, axis=1)])

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        missing, keys = self._patterns(X)
        self.models_ = {}
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            cols = np.flatnonzero(~missing[rows[0]])
            if len(rows) < self.min_rows or np.unique(y[rows]).size < 2 or cols.size == 0:
                continue
            w = None if sample_weight is None else np.asarray(sample_weight)[rows]
            model = clone(self.estimator)
            model.fit(X[np.ix_(rows, cols)], y[rows], **weight_params(model, w))
            self.models_[key] = (cols, model)
        self.fallback_ = clone(self.fallback)
        self.fallback_.fit(X, y, **weight_params(self.fallback_, sample_weight))
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        _, keys = self._patterns(X)
        proba = np.zeros((len(X), len(self.classes_)))
        done = np.zeros(len(X), bool)
        for key, (cols, model) in self.models_.items():
            rows = np.flatnonzero(keys == key)
            if rows.size:
                p = model.predict_proba(X[np.ix_(rows, cols)])
                proba[np.ix_(rows, np.searchsorted(self.classes_, model.classes_))] = p
                done[rows] = True
        if (~done).any():
            p = self.fallback_.predict_proba(X[~done])
            proba[
                np.ix_(
                    np.flatnonzero(~done), np.searchsorted(self.classes_, self.fallback_.classes_)
                )
            ] = p
        return proba

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def dnn(seed, quick):
    """The DNN of every imputation row (the ALICE imputation network)."""
    return DNNClassifier(
        hidden_layers=(64, 32, 16),
        activation="leaky_relu",
        batch_size=256,
        lr=2e-3,
        max_epochs=20 if quick else 40,
        random_state=seed,
    )


def fse(seed, quick, **kw):
    """FSE + attention with the ALICE architecture; a larger batch and rate than the
    seed's (64, 5e-4) to fit the benchmark's time."""
    params = dict(batch_size=256, lr=2e-3, max_epochs=15 if quick else 25, random_state=seed)
    params.update(kw)
    return FSEAttentionClassifier(**params)


def missing_data_methods(quick):
    """name -> factory(seed); "case deletion" trains and predicts on complete rows only."""
    return {
        "case deletion (complete rows only) + DNN": lambda seed: dnn(seed, quick),
        "mean imputation + DNN": lambda seed: make_pipeline(SimpleImputer(), dnn(seed, quick)),
        "regression imputation (IterativeImputer) + DNN": lambda seed: make_pipeline(
            IterativeImputer(max_iter=5 if quick else 10, random_state=seed), dnn(seed, quick)
        ),
        "NN ensemble (one DNN per missingness pattern)": lambda seed: PatternEnsembleClassifier(
            dnn(seed, quick), make_pipeline(SimpleImputer(), dnn(seed, quick))
        ),
        "FSE + attention": lambda seed: fse(seed, quick),
    }


CASE_DELETION = "case deletion (complete rows only) + DNN"
