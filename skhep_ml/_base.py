"""The one bridge between scikit-learn and skorch.

Every neural estimator of skhep_ml subclasses :class:`BaseNeuralEstimator`
(or :class:`BaseNeuralClassifier`). The estimator is a plain scikit-learn
``BaseEstimator``; ``fit`` builds a skorch net (``net_``, a class of
:mod:`skhep_ml._nets`, the only other module that imports skorch) around a
torch module that the subclass provides in ``_build_module``. The base owns,
once for all estimators: input validation, float32 conversion, sample and
class weights, the validation split with early stopping that restores the best
weights, the learning-rate schedule, seeding, the device, the progress
display, interrupts, warm starts and pickling.

Subclasses provide:

- ``_build_module(X, y)``: the torch module (from :mod:`skhep_ml.nn`);
- ``_build_criterion()``: a loss with ``reduction="none"`` (one value per row,
  or per row and output, summed over outputs);
- optionally ``_net_class`` (a net of :mod:`skhep_ml._nets` with its own
  loss), ``_net_kwargs()``, ``_recorded_terms()`` (batch terms the net
  records, averaged per epoch into ``history_``), ``_extra_callbacks()``, and
  ``_post_fit(X, y, sample_weight, train_idx, valid_idx)``, called after
  training with the rows of the split (``valid_idx`` is None without a
  validation split), e.g. to calibrate thresholds on the validation rows.

Their ``__init__`` stores its arguments with :func:`store_params` and their
class docstring says ``{training_parameters}`` where the shared training
parameters go (:func:`fill_training_doc` writes them in once, for all).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skhep_ml import _nets
from skhep_ml._outlier import OutlierScoresMixin, offset_from_training
from skhep_ml._scaling import TRANSFORMS, FeatureTransform
from skhep_ml.utils import (
    check_random_state_seed,
    class_weights,
    validate_fit_data,
    validate_predict_data,
    validation_split,
)

__all__ = [
    "BaseNeuralClassifier",
    "BaseNeuralEstimator",
    "BaseNeuralOutlierDetector",
    "fill_training_doc",
    "store_params",
]

# Rows per chunk when predicting: large enough that Python overhead vanishes.
_PREDICT_CHUNK = 8192

# A fit quiet for this long starts printing its epochs when verbose="auto".
_AUTO_VERBOSE_DELAY = 10.0

_TRAINING_PARAMETERS = """\
max_epochs : int, default={max_epochs}
    Maximum number of passes over the training data.
batch_size : int, default={batch_size}
    Minibatch size.
lr : float, default={lr}
    Learning rate.
optimizer : {{"adam", "adamw", "sgd"}}, default={optimizer!r}
weight_decay : float, default={weight_decay}
    L2 penalty (decoupled for ``"adamw"``).
lr_schedule : {{"exponential", "cosine"}} or None, default={lr_schedule!r}
    Per-epoch learning-rate schedule: ``"exponential"`` multiplies the rate
    by ``lr_decay`` after every epoch, ``"cosine"`` anneals it to 0 over
    ``max_epochs``. ``history_`` records the rate of every epoch (``lr``).
lr_decay : float, default={lr_decay}
    Factor of the exponential schedule.
validation_fraction : float or None, default={validation_fraction}
    Fraction of the training rows (stratified for classifiers) held out to
    monitor the validation loss. ``None`` or 0 trains on everything and
    disables early stopping; so does a training set too small to split.
early_stopping : bool, default={early_stopping}
    Stop when the validation loss has not improved for
    ``n_iter_no_change`` epochs, and restore the weights of the best epoch.
n_iter_no_change : int, default={n_iter_no_change}
random_state : int, RandomState instance or None, default={random_state}
    Seeds weight initialisation, the split, shuffling and dropout: the same
    integer gives the same model on the same machine with the same number
    of torch threads (the order of floating-point sums in torch's CPU
    kernels depends on the thread count).
device : {{"cpu", "cuda", "auto"}}, default={device!r}
    ``"auto"`` takes a CUDA device when torch finds one. A model trained
    on a GPU unpickles and predicts on a CPU-only machine.
verbose : "auto" or int, default={verbose!r}
    ``"auto"``: silent, unless the fit runs longer than 10 s, after which
    one line per epoch is printed; 0: silent; 1: one line per epoch
    (losses, learning rate, time; ``*`` marks the best validation loss);
    2: also a progress bar over the batches.
warm_start : bool, default={warm_start}
    Continue training the fitted network on the new data."""


def store_params(estimator, params):
    """``__init__``'s only job: keep every argument, unchanged, under its name.

    Call it as ``store_params(self, locals())`` as the whole body of
    ``__init__``; the signature stays explicit, as scikit-learn's
    ``get_params`` reads it.
    """
    for name in inspect.signature(type(estimator).__init__).parameters:
        if name != "self":
            setattr(estimator, name, params[name])


def fill_training_doc(cls):
    """Class decorator: write the shared training parameters into the docstring.

    The docstring says ``{training_parameters}`` (indented as its other
    parameters) where they go; the defaults are read from ``__init__``.
    """
    marker = "{training_parameters}"
    doc = cls.__doc__ or ""
    if marker not in doc:
        raise TypeError(f"{cls.__name__}'s docstring has no {marker} placeholder.")
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    indent = doc[: doc.index(marker)].rsplit("\n", 1)[-1]
    text = _TRAINING_PARAMETERS.format(**defaults).replace("\n", "\n" + indent)
    cls.__doc__ = doc.replace(marker, text)
    return cls


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch finds no CUDA device.")
    return device


def _is_float(array):
    return np.issubdtype(np.asarray(array).dtype, np.floating)


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch for one fit without touching the caller's global RNG state."""
    devices = [torch.cuda.current_device()] if device == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _check_finite_output(outputs, X):
    """Refuse rows whose network output overflowed (NaN or inf)."""
    bad = np.zeros(len(outputs[0]), dtype=bool)
    for out in outputs:
        if _is_float(out):
            bad |= ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        x = X["X"] if isinstance(X, dict) else X
        largest = np.nanmax(np.abs(x[rows]), initial=0.0)
        raise ValueError(
            f"The network's output overflows float32 for {rows.size} row(s) (first: row "
            f"{rows[0]}; largest |value| in them {largest:.3g}): values this far outside the "
            "training range cannot be evaluated. Check those rows for unphysical values."
        )


class BaseNeuralEstimator(BaseEstimator):
    """Shared machinery of every neural estimator (not used directly).

    The training parameters shared by every subclass are documented once, in
    ``_TRAINING_PARAMETERS`` (see :func:`fill_training_doc`).
    """

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam", "adamw", "sgd"})],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"exponential", "cosine"}), None],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left"), None],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "verbose": [StrOptions({"auto"}), "verbose"],
        "warm_start": ["boolean"],
    }

    #: The skorch net class; subclasses with special losses override it.
    _net_class = _nets.WeightedNeuralNet

    #: Rows per forward pass when predicting; a network with large per-row
    #: intermediates (a token set) runs faster with chunks that stay in cache.
    _predict_chunk = _PREDICT_CHUNK

    # -- hooks for subclasses ------------------------------------------------
    def _build_module(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_criterion(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _recorded_terms(self):
        """``(name, on_train)`` of batch terms the net records; averaged per epoch."""
        return []

    def _extra_callbacks(self):
        return []

    def _post_fit(self, X, y, sample_weight, train_idx, valid_idx):
        """Called at the end of training with the row indices of the split."""

    def _net_kwargs(self):
        """Extra keyword arguments for the skorch net (``module__...`` etc.)."""
        return {}

    # -- machinery -----------------------------------------------------------
    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def _allow_nan(self):
        return self.__sklearn_tags__().input_tags.allow_nan

    def _optimizer_class(self):
        return {
            "adam": torch.optim.Adam,
            "adamw": torch.optim.AdamW,
            "sgd": torch.optim.SGD,
        }[self.optimizer]

    def _callbacks(self, has_valid):
        callbacks = [_nets.recorded(name, on_train) for name, on_train in self._recorded_terms()]
        callbacks += list(self._extra_callbacks())
        # the epoch line before the schedule steps, so that it shows the rate used
        verbose = "auto" if self.verbose == "auto" else min(int(self.verbose), 1)
        callbacks.append(("epoch_log", _nets.EpochLog(verbose, delay=_AUTO_VERBOSE_DELAY)))
        if self.lr_schedule is not None:
            callbacks.append(
                _nets.lr_scheduler(
                    self.lr_schedule, max_epochs=self.max_epochs, decay=self.lr_decay
                )
            )
        if has_valid and self.early_stopping:
            callbacks.append(_nets.early_stopping(self.n_iter_no_change))
        if self.verbose != "auto" and self.verbose >= 2:
            callbacks.append(_nets.progress_bar())
        return callbacks

    def _make_inputs(self, X, sample_weight, extra=None):
        inputs = {"X": X, "sample_weight": sample_weight}
        if extra:
            inputs.update(extra)
        return inputs

    def _new_net(self, module, has_valid, train_split, device):
        return self._net_class(
            module=module,
            criterion=self._build_criterion(),
            optimizer=self._optimizer_class(),
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=_nets.BatchLoader,
            iterator_valid=_nets.BatchLoader,
            iterator_train__shuffle=True,
            iterator_valid__batch_size=max(self.batch_size, _PREDICT_CHUNK),
            train_split=train_split,
            callbacks=self._callbacks(has_valid),
            device=device,
            verbose=0,  # skorch's own table (with colour codes) is replaced by EpochLog
            **self._net_kwargs(),
        )

    def _fit_net(self, X, y, sample_weight, *, stratify=None, extra=None):
        """Train ``net_`` on float32 ``X`` and encoded targets ``y``.

        ``extra`` holds more per-row arrays for the net's loss (domain labels,
        nuisance values); they travel with ``X`` in the batch dict.

        A Ctrl-C is re-raised once the net has restored its best weights: the
        estimator then holds the partly trained model, with
        ``interrupted_ = True``, and ``fit`` does not return.
        """
        device = _resolve_device(self.device)
        seed = check_random_state_seed(self.random_state)
        split = validation_split(
            X.shape[0], self.validation_fraction, stratify=stratify, random_state=seed
        )
        train_idx, valid_idx = split if split is not None else (np.arange(X.shape[0]), None)

        def subset(idx):
            ex = None if extra is None else {k: v[idx] for k, v in extra.items()}
            return self._make_inputs(X[idx], sample_weight[idx], ex), y[idx]

        X_train, y_train = subset(train_idx)
        has_valid = valid_idx is not None
        train_split = _nets.validation_data(*subset(valid_idx)) if has_valid else None

        warm = self.warm_start and hasattr(self, "net_")
        # grad on even inside a caller's torch.no_grad() (restored afterwards)
        with _seeded(seed, device), torch.enable_grad():
            if warm:
                self.net_.set_params(train_split=train_split, max_epochs=self.max_epochs)
                self.net_.partial_fit(X_train, y_train)
            else:
                net = self._new_net(self._build_module(X, y), has_valid, train_split, device)
                # assigned once trained: a fit that fails leaves no fitted-looking net
                self.net_ = net.fit(X_train, y_train)
        self.history_ = self.net_.history
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = self._best_epoch()
        self.interrupted_ = bool(getattr(self.net_, "interrupted_", False))
        self._post_fit(X, y, sample_weight, train_idx, valid_idx)
        if self.interrupted_:
            raise KeyboardInterrupt(
                f"{type(self).__name__}.fit was interrupted after {self.n_epochs_} epoch(s); "
                f"the estimator holds the weights of epoch {self.best_epoch_} "
                "(interrupted_ = True)."
            )
        return self

    def _best_epoch(self):
        """1-based epoch whose weights the model holds."""
        if not len(self.history_):
            return 0
        best = [h["epoch"] for h in self.history_ if h.get("valid_loss_best")]
        if best and self.early_stopping:
            return best[-1]
        return self.history_[-1]["epoch"]

    def _forward(self, X, dtype=None, fn=None):
        """Network output for float32 ``X`` (ndarray or dict), in eval mode, by chunks.

        ``fn(module, batch)`` replaces ``module(batch)`` (another output of the
        module, such as attention weights). ``dtype=torch.float64`` evaluates a
        float64 copy of the module (inputs converted exactly): for scores that
        subtract the output from the input, such as a reconstruction error,
        where float32 rounding (which depends on a row's position in the batch)
        would be amplified. Integer entries of a dict input keep their dtype.
        A row whose output is not finite raises a ``ValueError``.
        """
        module = self.net_.module_
        device = self.net_.device
        if dtype is not None:
            module = copy.deepcopy(module).to(dtype)
        fn = fn or (lambda m, xb: m(**xb) if isinstance(xb, dict) else m(xb))

        def tensor(v, sl):
            return torch.as_tensor(v[sl], device=device, dtype=dtype if _is_float(v) else None)

        was_training = module.training
        module.eval()
        n = len(X["X"]) if isinstance(X, dict) else len(X)
        outputs = []
        try:
            with torch.inference_mode():
                for start in range(0, max(n, 1), self._predict_chunk):
                    sl = slice(start, start + self._predict_chunk)
                    if isinstance(X, dict):
                        xb = {k: tensor(v, sl) for k, v in X.items()}
                    else:
                        xb = tensor(X, sl)
                    out = fn(module, xb)
                    outputs.append(out if isinstance(out, (tuple, list)) else (out,))
        finally:
            module.train(was_training)
        result = tuple(
            torch.cat([o[i] for o in outputs]).cpu().numpy() for i in range(len(outputs[0]))
        )
        _check_finite_output(result, X)
        return result if len(result) > 1 else result[0]

    def __setstate__(self, state):
        # skorch maps CUDA tensors to the CPU (with a warning) when no GPU is
        # present, so a GPU-trained model loads on a CPU-only machine.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*CUDA.*")
            super().__setstate__(state)


class BaseNeuralClassifier(ClassifierMixin, BaseNeuralEstimator):
    """Classifier on the shared base: labels, class weights, probabilities.

    ``class_weight`` : dict, "balanced" or None. "balanced" weighs each class
    by the inverse of its total (absolute) sample weight.
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights. Negative weights (NLO simulation) enter the loss
            with their sign; the total of every class must be positive.

        Returns
        -------
        self
        """
        return self._fit_validated(X, y, sample_weight)

    def _fit_validated(self, X, y, sample_weight, **fit_params):
        """Validate, encode the labels and weights, then ``_fit(..., **fit_params)``."""
        warm = self.warm_start and hasattr(self, "net_")
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, allow_nan=self._allow_nan(), classifier=True, reset=not warm
        )
        self._set_classes(np.unique(y), warm)
        y_enc = np.searchsorted(self.classes_, y)
        sample_weight = sample_weight * class_weights(
            self.class_weight, y_enc, sample_weight, self.classes_
        )
        return self._fit(X, y_enc, sample_weight, **fit_params)

    def _set_classes(self, classes, warm):
        """Set ``classes_``, or check that a warm start brings no new label."""
        if not warm:
            self.classes_ = classes
            return
        unknown = np.setdiff1d(classes, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains label(s) {unknown.tolist()} unknown to the fitted model "
                f"(classes_ = {self.classes_.tolist()}); refit with warm_start=False."
            )

    def _fit(self, X, y_enc, sample_weight):
        return self._fit_net(X, self._encode_target(y_enc), sample_weight, stratify=y_enc)

    def _encode_target(self, y_enc):
        """Targets as the criterion wants them (class indices for cross-entropy)."""
        return y_enc.astype(np.int64)

    def _proba_from_output(self, output):
        return softmax(output.astype(np.float64), axis=1)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns ordered as ``classes_``.
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X, allow_nan=self._allow_nan())
        return self._proba_from_output(self._forward(X))

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class BaseNeuralOutlierDetector(OutlierScoresMixin, BaseNeuralEstimator):
    """Unsupervised detector on the shared base, with scikit-learn's outlier API.

    As :class:`sklearn.ensemble.IsolationForest`: :meth:`score_samples` is
    lower for more abnormal rows, :meth:`decision_function` is
    ``score_samples - offset_`` (negative = outlier), :meth:`predict` gives -1
    for outliers and +1 for inliers, and ``contamination`` sets ``offset_``.
    The features go through ``preprocessing`` (a
    :class:`skhep_ml._scaling.FeatureTransform` learned in ``fit``, kept in
    ``transform_``) before the network.

    Subclasses provide ``_raw_score(Xt)`` (higher = more anomalous, on
    transformed rows) and ``_target(Xt)`` (what the net's loss compares its
    output with), besides the base's ``_build_module``/``_build_criterion``.
    """

    _parameter_constraints: dict = {
        **BaseNeuralEstimator._parameter_constraints,
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "preprocessing": [StrOptions(set(TRANSFORMS))],
    }

    def _raw_score(self, Xt):  # pragma: no cover - abstract
        raise NotImplementedError

    def _target(self, Xt):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_params(self):
        """Checks across parameters, before any work."""

    def _setup(self, X):
        """Fitted state that depends on the validated ``X`` (not on a warm start)."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train on ``X`` (the data themselves may contain the anomalies) and set ``offset_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training events. No NaN: impute first (e.g. in a ``Pipeline``) if
            values are missing.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights of the training loss. Negative weights (NLO
            simulation) subtract their row's loss; the total must be positive.
            ``preprocessing`` and ``offset_`` are learned unweighted (a change
            of units per feature, and a percentile of the training scores as
            in ``IsolationForest``).

        Returns
        -------
        self
        """
        self._check_params()
        warm = self.warm_start and hasattr(self, "net_")
        X, _, sample_weight = validate_fit_data(
            self, X, None, sample_weight, requires_y=False, reset=not warm
        )
        if not warm:
            seed = check_random_state_seed(self.random_state)
            self.transform_ = FeatureTransform(self.preprocessing, random_state=seed).fit(X)
            self._setup(X)
        Xt = self.transform_.transform(X)
        return self._fit_net(Xt, self._target(Xt), sample_weight)

    def _post_fit(self, Xt, y, sample_weight, train_idx, valid_idx):
        # offset_ from all training rows, also when the fit was interrupted
        self.offset_ = offset_from_training(-self._raw_score(Xt), self.contamination)

    def _validated(self, X):
        check_is_fitted(self)
        return self.transform_.transform(validate_predict_data(self, X))

    def score_samples(self, X):
        """Opposite of the raw anomaly score: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return -self._raw_score(self._validated(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
