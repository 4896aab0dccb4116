"""The one bridge between scikit-learn and skorch.

Every neural estimator of skhep_ml subclasses :class:`BaseNeuralEstimator`
(or :class:`BaseNeuralClassifier`). The estimator is a plain scikit-learn
``BaseEstimator``; ``fit`` builds a skorch ``NeuralNet`` (``net_``) around a
torch module that the subclass provides in ``_build_module``. The base owns,
once for all estimators: input validation, float32 conversion, sample and
class weights, the validation split with early stopping that restores the best
weights, the learning-rate schedule, seeding, the device, the progress
display, warm starts and pickling.

Subclasses provide:

- ``_build_module(X, y)``: the torch module (from :mod:`skhep_ml.nn`);
- ``_build_criterion()``: a loss with ``reduction="none"`` (one value per row,
  or per row and output, summed over outputs);
- optionally ``_net_class`` (a :class:`NeuralNet` subclass with its own
  ``get_loss`` / ``train_step``), ``_extra_callbacks()``, and
  ``_post_fit(X, y, sample_weight, train_idx, valid_idx)``, called after
  training with the rows of the split (``valid_idx`` is None without a
  validation split), e.g. to calibrate thresholds on the validation rows.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.utils import to_tensor

from skhep_ml.utils import (
    check_random_state_seed,
    validate_fit_data,
    validate_predict_data,
    validation_split,
)

__all__ = ["BaseNeuralClassifier", "BaseNeuralEstimator", "WeightedNeuralNet"]

# Rows per chunk when predicting: large enough that Python overhead vanishes.
_PREDICT_CHUNK = 8192


class _BatchLoader:
    """Minibatches by tensor indexing, not one ``__getitem__`` per row.

    A drop-in for ``torch.utils.data.DataLoader`` as skorch's ``iterator_train``
    / ``iterator_valid``: skorch's default Dataset collates row by row, which
    costs more than the forward pass of a small network. Shuffling draws from
    torch's global generator, which ``fit`` seeds from ``random_state``.
    """

    def __init__(self, dataset, batch_size=64, shuffle=False, **_):
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        X, y = dataset.X, dataset.y
        self._X = (
            {k: torch.as_tensor(v) for k, v in X.items()}
            if isinstance(X, dict)
            else torch.as_tensor(X)
        )
        self._y = None if y is None else torch.as_tensor(y)
        self._n = len(dataset)

    def __len__(self):
        return (self._n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        order = torch.randperm(self._n) if self.shuffle else None
        for start in range(0, self._n, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size]
            if isinstance(self._X, dict):
                Xb = {k: v[idx] for k, v in self._X.items()}
            else:
                Xb = self._X[idx]
            yield Xb, (None if self._y is None else self._y[idx])


class WeightedNeuralNet(NeuralNet):
    """skorch ``NeuralNet`` whose loss is weighted by ``sample_weight``.

    The batch input is a dict ``{"X": ..., "sample_weight": ..., ...}``; only
    ``X`` reaches the module. The batch loss is
    ``sum(w * l) / sum(|w|)``: a row of weight 2 contributes exactly as the
    same row twice, and a negative weight (NLO simulation) subtracts its
    row's loss, so the loss stays an unbiased estimate of the physical
    expectation; normalising by ``sum(|w|)`` keeps its scale positive.
    """

    def infer(self, x, **fit_params):
        if isinstance(x, dict):
            x = x["X"]
        return super().infer(x, **fit_params)

    def weighted_mean(self, loss, X):
        """Weighted mean over rows of a per-row (or per-row-and-output) loss."""
        if loss.ndim > 1:
            loss = loss.reshape(loss.shape[0], -1).sum(dim=1)
        if isinstance(X, dict) and "sample_weight" in X:
            w = to_tensor(X["sample_weight"], device=self.device).to(loss.dtype)
            return (w * loss).sum() / w.abs().sum().clamp_min(torch.finfo(loss.dtype).tiny)
        return loss.mean()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        return self.weighted_mean(self.criterion_(y_pred, y_true), X)


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch finds no CUDA device.")
    return device


def _is_float(array):
    return np.issubdtype(np.asarray(array).dtype, np.floating)


def _silent(*args, **kwargs):
    """A picklable sink for skorch callbacks when ``verbose=0``."""


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch for one fit without touching the caller's global RNG state."""
    devices = [torch.cuda.current_device()] if device == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class BaseNeuralEstimator(BaseEstimator):
    """Shared machinery of every neural estimator (not used directly).

    Common parameters (every subclass lists them in its ``__init__``):

    max_epochs : int
        Maximum number of passes over the training data.
    batch_size : int
        Minibatch size.
    lr : float
        Learning rate.
    optimizer : {"adam", "adamw", "sgd"}
    weight_decay : float
        L2 penalty (decoupled for ``"adamw"``).
    lr_schedule : {"exponential", "cosine"} or None
        Per-epoch learning-rate schedule; ``"exponential"`` multiplies the rate
        by ``lr_decay`` after every epoch.
    lr_decay : float
        Factor of the exponential schedule.
    validation_fraction : float or None
        Fraction of the training rows (stratified for classifiers) held out to
        monitor the validation loss. ``None`` or 0 trains on everything and
        disables early stopping; so does a training set too small to split.
    early_stopping : bool
        Stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, and restore the weights of the best epoch.
    n_iter_no_change : int
    random_state : int, RandomState instance or None
        Seeds weight initialisation, the split, shuffling and dropout: the same
        integer gives the same model.
    device : {"cpu", "cuda", "auto"}
    verbose : int
        0 silent; 1 one line per epoch (losses, time, best epoch marked);
        2 also a progress bar over batches.
    warm_start : bool
        Continue training the fitted network on the new data.
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
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    #: The skorch net class; subclasses with special losses override it.
    _net_class = WeightedNeuralNet

    #: Rows per forward pass when predicting; a network with large per-row
    #: intermediates (a token set) runs faster with chunks that stay in cache.
    _predict_chunk = _PREDICT_CHUNK

    # -- hooks for subclasses ------------------------------------------------
    def _build_module(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_criterion(self):  # pragma: no cover - abstract
        raise NotImplementedError

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
        callbacks = []
        if self.lr_schedule == "exponential":
            callbacks.append(("lr_schedule", LRScheduler("ExponentialLR", gamma=self.lr_decay)))
        elif self.lr_schedule == "cosine":
            callbacks.append(
                ("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=self.max_epochs))
            )
        if has_valid and self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=0.0,
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        if self.verbose and self.verbose >= 2:
            callbacks.append(("progress", ProgressBar()))
        return callbacks + list(self._extra_callbacks())

    def _make_inputs(self, X, sample_weight, extra=None):
        inputs = {"X": X, "sample_weight": sample_weight}
        if extra:
            inputs.update(extra)
        return inputs

    def _fit_net(self, X, y, sample_weight, *, stratify=None, extra=None):
        """Train ``net_`` on float32 ``X`` and encoded targets ``y``.

        ``extra`` holds more per-row arrays for the net's loss (domain labels,
        nuisance values); they travel with ``X`` in the batch dict.
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
        train_split = predefined_split(Dataset(*subset(valid_idx))) if has_valid else None

        warm = self.warm_start and hasattr(self, "net_")
        with _seeded(seed, device):
            if warm:
                self.net_.set_params(train_split=train_split, max_epochs=self.max_epochs)
                self.net_.partial_fit(X_train, y_train)
            else:
                self.net_ = self._net_class(
                    module=self._build_module(X, y),
                    criterion=self._build_criterion(),
                    optimizer=self._optimizer_class(),
                    optimizer__weight_decay=self.weight_decay,
                    lr=self.lr,
                    max_epochs=self.max_epochs,
                    batch_size=self.batch_size,
                    iterator_train=_BatchLoader,
                    iterator_valid=_BatchLoader,
                    iterator_train__shuffle=True,
                    iterator_valid__batch_size=max(self.batch_size, _PREDICT_CHUNK),
                    train_split=train_split,
                    callbacks=self._callbacks(has_valid),
                    device=device,
                    verbose=int(self.verbose),
                    **self._net_kwargs(),
                )
                self.net_.fit(X_train, y_train)
        self.history_ = self.net_.history
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = self._best_epoch()
        self._post_fit(X, y, sample_weight, train_idx, valid_idx)
        return self

    def _best_epoch(self):
        """1-based epoch whose weights the model holds."""
        best = [h["epoch"] for h in self.history_ if h.get("valid_loss_best")]
        if best and self.early_stopping:
            return best[-1]
        return self.history_[-1]["epoch"]

    def _forward(self, X, dtype=None):
        """Raw network output for float32 ``X`` (ndarray or dict), in eval mode.

        ``dtype=torch.float64`` evaluates a float64 copy of the module (inputs
        converted exactly): for scores that subtract the output from the input,
        such as a reconstruction error, where float32 rounding (which depends
        on a row's position in the batch) would be amplified. Integer entries
        of a dict input keep their dtype.
        """
        module = self.net_.module_
        device = self.net_.device
        if dtype is not None:
            module = copy.deepcopy(module).to(dtype)
        was_training = module.training
        module.eval()
        n = len(X["X"]) if isinstance(X, dict) else len(X)
        outputs = []
        try:
            with torch.inference_mode():
                chunk = self._predict_chunk
                for start in range(0, max(n, 1), chunk):
                    sl = slice(start, start + chunk)
                    if isinstance(X, dict):
                        xb = {
                            k: torch.as_tensor(
                                v[sl], device=device, dtype=dtype if _is_float(v) else None
                            )
                            for k, v in X.items()
                        }
                        out = module(**xb)
                    else:
                        out = module(torch.as_tensor(X[sl], device=device, dtype=dtype))
                    outputs.append(out)
        finally:
            module.train(was_training)
        if isinstance(outputs[0], (tuple, list)):
            return tuple(
                torch.cat([o[i] for o in outputs]).cpu().numpy() for i in range(len(outputs[0]))
            )
        return torch.cat(outputs).cpu().numpy()

    def __setstate__(self, state):
        # skorch maps CUDA tensors to the CPU (with a warning) when no GPU is
        # present, so a GPU-trained model loads on a CPU-only machine.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*CUDA.*")
            super().__setstate__(state)


def _class_weights(class_weight, y_enc, sample_weight, n_classes):
    """Per-row multipliers for ``class_weight`` ("balanced" uses weighted counts)."""
    if class_weight is None:
        return np.ones_like(sample_weight)
    if class_weight == "balanced":
        totals = np.bincount(y_enc, weights=np.abs(sample_weight), minlength=n_classes)
        per_class = totals.sum() / (n_classes * np.maximum(totals, np.finfo(np.float32).tiny))
    else:
        per_class = np.asarray(class_weight, dtype=np.float64)
    return per_class[y_enc].astype(np.float32)


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
            with their sign; the total must be positive.

        Returns
        -------
        self
        """
        warm = self.warm_start and hasattr(self, "net_")
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, allow_nan=self._allow_nan(), classifier=True, reset=not warm
        )
        self._set_classes(np.unique(y), warm)
        y_enc = np.searchsorted(self.classes_, y)
        class_weight = self.class_weight
        if isinstance(class_weight, dict):
            class_weight = [class_weight.get(c, 1.0) for c in self.classes_]
        sample_weight = sample_weight * _class_weights(
            class_weight, y_enc, sample_weight, len(self.classes_)
        )
        return self._fit(X, y_enc, sample_weight)

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
