"""The one bridge between scikit-learn and skorch.

Every neural estimator of skhep_ml subclasses :class:`BaseNeuralEstimator`
(or :class:`BaseNeuralClassifier`). The estimator is a plain scikit-learn
``BaseEstimator``; ``fit`` builds a skorch net (``net_``, a class of
:mod:`skhep_ml._nets`, the only other module that imports skorch) around a
torch module that the subclass provides in ``_build_module``. The base owns,
once for all estimators: input validation, float32 conversion, sample and
class weights, the validation split with early stopping that restores the best
weights, the learning-rate schedule, seeding, the device, the progress
display, interrupts, warm starts, out-of-core training (``partial_fit``),
pickling, and torch's thread count inside dask workers
(:mod:`skhep_ml._threads`).

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
import numbers
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _num_samples, check_is_fitted

from skhep_ml import _nets
from skhep_ml._outlier import OutlierScoresMixin, offset_from_training
from skhep_ml._scaling import TRANSFORMS, FeatureTransform
from skhep_ml._threads import worker_threads
from skhep_ml.nn import AdversarialModel, DomainClassifier, classifier_of
from skhep_ml.utils import (
    PREDICT_BLOCK,
    check_class_weight_totals,
    check_layer_widths,
    check_random_state_seed,
    class_weights,
    predict_blocks,
    validate_fit_data,
    validate_predict_data,
    validation_split,
)

__all__ = [
    "BaseNeuralClassifier",
    "BaseNeuralEstimator",
    "BaseNeuralOutlierDetector",
    "DomainAdaptiveClassifier",
    "domain_probe_auc",
    "fill_training_doc",
    "store_params",
    "unlabelled_mask",
]

# Rows per chunk when predicting: large enough that Python overhead vanishes.
_PREDICT_CHUNK = 8192

# A fit quiet for this long starts printing its epochs when verbose="auto".
_AUTO_VERBOSE_DELAY = 10.0

# A first partial_fit chunk smaller than this gets a warning: it fixes the
# input scaling (standard error of a mean ~3% of a standard deviation at 1000
# rows, and the quantile map has its full 1000 knots).
_SMALL_FIRST_CHUNK = 1000

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
lr_schedule : {{"exponential", "cosine", "one_cycle"}} or None, default={lr_schedule!r}
    Learning-rate schedule: ``"exponential"`` multiplies the rate by
    ``lr_decay`` after every epoch, ``"cosine"`` anneals it to 0 over
    ``max_epochs``; ``"one_cycle"`` (arXiv:1708.07120, set before every
    batch) warms up from ``lr / 25`` to ``lr`` over the first quarter of
    ``max_epochs``, then anneals to ``lr / 2.5e5``, while Adam's ``beta1``
    goes 0.95 -> 0.85 -> 0.95: the short-training schedule (a higher ``lr``
    and fewer epochs). ``history_`` records the last rate of every epoch
    (``lr``).
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
    Continue training the fitted network on the new data. For data that
    do not fit in memory, see ``partial_fit``."""


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
    parameters) where they go, and a :class:`DomainAdaptiveClassifier` also
    ``{domain_parameters}``; the defaults are read from ``__init__``.
    """
    doc = cls.__doc__ or ""
    if "{training_parameters}" not in doc:
        raise TypeError(f"{cls.__name__}'s docstring has no {{training_parameters}} placeholder.")
    defaults = {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    sections = {"{training_parameters}": _TRAINING_PARAMETERS}
    if issubclass(cls, DomainAdaptiveClassifier):
        if "{domain_parameters}" not in doc:
            raise TypeError(f"{cls.__name__}'s docstring has no {{domain_parameters}} placeholder.")
        sections["{domain_parameters}"] = _DOMAIN_PARAMETERS
    for marker, template in sections.items():
        indent = doc[: doc.index(marker)].rsplit("\n", 1)[-1]
        doc = doc.replace(marker, template.format(**defaults).replace("\n", "\n" + indent))
    cls.__doc__ = doc
    return cls


def _resolve_device(device):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch finds no CUDA device.")
    return device


def _fused_optimizer(device):
    """``fused=True`` where torch has fused optimiser kernels, else its default."""
    return True if torch.device(device).type in ("cpu", "cuda") else None


def _is_float(array):
    return np.issubdtype(np.asarray(array).dtype, np.floating)


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch for one fit without touching the caller's global RNG state."""
    devices = [torch.cuda.current_device()] if device == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _check_finite_output(outputs, X, offset=0):
    """Refuse rows whose network output overflowed (NaN or inf).

    ``outputs`` are the outputs of the rows ``X``, which start at row
    ``offset`` of the caller's data (for the message).
    """
    if all(not _is_float(out) or np.isfinite(out).all() for out in outputs):
        return  # the usual case; the per-row test below is slow on few columns
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
            f"{rows[0] + offset}; largest |value| in them {largest:.3g}): values this far outside "
            "the training range cannot be evaluated. Check those rows for unphysical values."
        )


def softmax64(logits):
    """Row-wise softmax in float64 of a float array [n, k], as a new C-ordered array.

    Computed on a [k, n] copy: a reduction over a handful of columns
    vectorises poorly in torch's, numpy's and scipy's row-wise kernels alike,
    while across the rows it is k elementwise operations (40k x 5: 1.1 ms,
    against 2.6 ms for ``torch.softmax``; benchmarks/fse_speed.py). The
    division writes the rows back in place of a separate transposing copy.
    """
    logits = np.asarray(logits)
    t = torch.from_numpy(np.ascontiguousarray(logits.T, dtype=np.float64))
    e = (t - t.amax(0)).exp_()
    out = np.empty(logits.shape, dtype=np.float64)  # owned: predictions return it uncopied
    torch.div(e, e.sum(0), out=torch.from_numpy(out).T)
    return out


def sigmoid_normalised64(logits, clip):
    """One-vs-rest certainties ``sigmoid(logits)`` in float64, rows scaled to sum to 1
    (a single column ``c`` gives ``[1 - c, c]``)."""
    c = torch.sigmoid(torch.from_numpy(np.asarray(logits, dtype=np.float64)))
    if c.shape[1] == 1:
        return torch.cat([1.0 - c, c], dim=1).numpy()
    return (c / c.sum(dim=1, keepdim=True).clamp_min(clip)).numpy()


def _row_slices(n, step):
    """Consecutive slices of ``step`` rows; one empty slice when ``n = 0`` (for the shapes)."""
    return [slice(start, min(start + step, n)) for start in range(0, max(n, 1), step)]


def _gathered(pieces, n):
    """Write ``(rows, result)`` pieces into arrays of ``n`` rows allocated once.

    ``result`` is an array (or a tuple of arrays) whose first axis runs over
    ``rows``, a slice. Written straight into the output, the pieces cost one
    piece's memory: no list of pieces and no concatenation, which would
    double the output and, with torch's pieces, fragment the heap.
    """
    out = single = None
    for sl, result in pieces:
        single = not isinstance(result, tuple)
        result = (result,) if single else result
        if out is None and sl.start == 0 and sl.stop >= n and all(_owned(r) for r in result):
            # one piece, arrays of their own (not views of an input): no copy
            return result[0] if single else result
        if out is None:
            out = tuple(np.empty((n, *r.shape[1:]), dtype=r.dtype) for r in result)
        for o, r in zip(out, result):
            o[sl] = r
    return out[0] if single else out


def _owned(a):
    """Whether ``a`` is a C-contiguous ndarray that owns its memory."""
    return isinstance(a, np.ndarray) and a.flags.owndata and a.flags.c_contiguous


@contextlib.contextmanager
def _evaluating(module):
    """``module`` in eval mode for the block; each submodule's mode restored after.

    Only the modules in training mode are switched, one attribute each: a
    prediction on a module already in eval mode costs nothing here
    (``Module.train`` walks and sets every submodule, twice per call).
    """
    switched = [m for m in module.modules() if m.training]
    for m in switched:
        m.training = False
    try:
        yield module
    finally:
        for m in switched:
            m.training = True


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
        "lr_schedule": [StrOptions({"exponential", "cosine", "one_cycle"}), None],
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

    #: True during a ``partial_fit`` call (which runs ``fit``'s path).
    _partial_fitting = False

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

    # -- out-of-core training ------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train on one chunk of the data: one pass (epoch) over its rows.

        For data that do not fit in memory: call it once per chunk, and loop
        over the chunks as many times as you want passes over the data::

            for epoch in range(n_passes):
                for chunk in chunks:
                    est.partial_fit(chunk[cols], chunk["label"], classes=[0, 1, 2])

        The first call on an unfitted estimator builds the network, later
        calls continue training it; ``partial_fit`` after ``fit`` continues the
        fitted network, and ``fit`` after ``partial_fit`` starts over (unless
        ``warm_start=True``).

        Every call:

        - runs one epoch over the chunk, as
          :meth:`sklearn.neural_network.MLPClassifier.partial_fit` does: the
          caller's loop sets the number of passes, and no chunk is trained on
          many times in a row (which would forget the chunks before it);
        - keeps the optimiser state (Adam's moments and step count) and counts
          as one epoch of the learning-rate schedule, of ``n_epochs_`` and of
          ``history_`` (one row per call): ``lr_schedule="cosine"`` anneals
          over ``max_epochs`` calls and ``"exponential"`` multiplies the rate
          by ``lr_decay`` at every call, so set ``max_epochs`` to the number
          of calls planned (passes times chunks), or ``lr_decay`` to the decay
          per pass to the power ``1 / n_chunks``, or ``lr_schedule=None``;
        - trains on every row of the chunk: no validation split and no early
          stopping (``validation_fraction``, ``early_stopping`` and
          ``n_iter_no_change`` are not used); score a held-out chunk to
          follow the training;
        - is seeded by ``random_state`` and the number of epochs before it:
          the same chunks in the same order give the same model.

        The first chunk fixes what ``fit`` learns from the training data
        before training: the standardisation of the inputs inside the network
        (the ``preprocessing`` of the outlier detectors, the encoding of the
        protected variable of :class:`~skhep_ml.PivotClassifier`, whose
        pretraining also runs on it), and whether a domain classifier is
        trained. Make it large and representative (it warns below 1000 rows),
        and mix the classes across chunks if the files are sorted by class.
        What ``fit`` computes after training comes from the latest chunk: the
        ``offset_`` of the outlier detectors, the ``thresholds_`` of
        :class:`~skhep_ml.FSEAttentionClassifier` (a class absent from the
        chunk keeps its threshold), ``domain_probe_auc_``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            One chunk, with the columns (and names) of the first.
        y : array-like of shape (n_samples,), default=None
            Class labels of the chunk (classifiers; a chunk may lack some
            classes). Ignored by the outlier detectors.
        classes : array-like of shape (n_classes,), default=None
            Every label the chunks hold. Classifiers only: required on the
            first call (unless the estimator was fitted with ``fit``); a later
            call may repeat it.
        sample_weight : array-like of shape (n_samples,), default=None
            As in ``fit``. ``class_weight="balanced"`` is refused, as in
            :meth:`sklearn.linear_model.SGDClassifier.partial_fit`: one chunk
            does not know the class totals of the data; compute them on a
            large sample of the labels
            (:func:`sklearn.utils.class_weight.compute_class_weight`) and pass
            them as a dict.
        **fit_params
            The other inputs of ``fit``: ``X_target`` or ``sample_domain``
            (domain adaptation; when the first chunk has target rows, every
            chunk needs labelled and target rows), ``z``
            (:class:`~skhep_ml.PivotClassifier` with ``protected=None``).

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import make_classification
        >>> from skhep_ml import DNNClassifier
        >>> X, y = make_classification(n_samples=4000, random_state=0)
        >>> clf = DNNClassifier(hidden_layers=(16,), lr=1e-2, lr_schedule=None, random_state=0)
        >>> for epoch in range(3):
        ...     for rows in np.array_split(np.arange(4000), 4):
        ...         clf = clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        >>> clf.n_epochs_  # one per call
        12
        >>> bool(clf.score(X, y) > 0.85)
        True
        """
        first = not hasattr(self, "net_")
        self._check_partial_fit(classes, first)
        if first and _num_samples(X) < _SMALL_FIRST_CHUNK:
            warnings.warn(
                f"The first partial_fit chunk has {_num_samples(X)} rows (fewer than "
                f"{_SMALL_FIRST_CHUNK}): it fixes the input scaling of the network for "
                "every later chunk. Start with a larger, representative chunk.",
                UserWarning,
                stacklevel=3,  # the caller, beyond _fit_context
            )
        finite = self.lr_schedule in ("cosine", "one_cycle")
        if not first and finite and self.n_epochs_ >= self.max_epochs:
            after = {"cosine": "rises again", "one_cycle": "stays at its minimum"}
            warnings.warn(
                f"partial_fit call {self.n_epochs_ + 1} goes past the {self.lr_schedule} "
                f"schedule's max_epochs={self.max_epochs} calls, after which the rate "
                f"{after[self.lr_schedule]}: set max_epochs to the number of calls planned.",
                UserWarning,
                stacklevel=3,  # the caller, beyond _fit_context
            )
        self._partial_fitting = True
        try:
            return self.fit(X, y, sample_weight=sample_weight, **fit_params)
        finally:
            del self._partial_fitting

    def _check_partial_fit(self, classes, first):
        """Checks of ``partial_fit``'s arguments, before any work."""
        if classes is not None:
            raise ValueError(
                f"classes is for classifiers; {type(self).__name__} has no classes "
                "(pass classes=None)."
            )

    def _continues(self):
        """Whether this fit continues the fitted network (``warm_start`` or ``partial_fit``)."""
        return hasattr(self, "net_") and (self.warm_start or self._partial_fitting)

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

    def _fit_net_class(self):
        """The skorch net class of this fit (``_net_class`` unless a subclass decides)."""
        return self._net_class

    def _new_net(self, module, has_valid, train_split, device):
        return self._fit_net_class()(
            module=module,
            criterion=self._build_criterion(),
            optimizer=self._optimizer_class(),
            optimizer__weight_decay=self.weight_decay,
            # one fused kernel per update instead of a loop of per-tensor ops:
            # a 47k-parameter FSE network's Adam step takes 0.34 ms, not 2.2 ms
            optimizer__fused=_fused_optimizer(device),
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

    @worker_threads
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
        partial = self._partial_fitting  # one epoch on the whole chunk
        split = None
        if not partial:
            split = validation_split(
                X.shape[0], self.validation_fraction, stratify=stratify, random_state=seed
            )
        train_idx, valid_idx = split if split is not None else (np.arange(X.shape[0]), None)

        def subset(idx):
            ex = None if extra is None else {k: v[idx] for k, v in extra.items()}
            rows = X[idx]
            # an autoencoder's target is its input: one copy of the rows serves both
            return self._make_inputs(rows, sample_weight[idx], ex), rows if y is X else y[idx]

        X_train, y_train = subset(train_idx)
        has_valid = valid_idx is not None
        train_split = _nets.validation_data(*subset(valid_idx)) if has_valid else None

        warm = self._continues()
        epochs = {"epochs": 1} if partial else {}
        if partial and warm:
            # seeded after the calls before it: every pass over a chunk gets new
            # minibatches, and the same chunks in the same order give the same model
            seed = (seed + len(self.net_.history)) % 2**32
        # grad on even inside a caller's torch.no_grad() (restored afterwards)
        with _seeded(seed, device), torch.enable_grad():
            if warm:
                self._resume_net(train_split, has_valid)
                self.net_.partial_fit(X_train, y_train, **epochs)
            else:
                net = self._new_net(self._build_module(X, y), has_valid, train_split, device)
                # assigned once trained: a fit that fails leaves no fitted-looking net
                self.net_ = net.fit(X_train, y_train, **epochs)
        # left in eval mode, the fitted network's predictions switch no modes
        # (skorch sets the mode at every step of a later fit)
        self.net_.module_.eval()
        self.history_ = self.net_.history
        self.n_epochs_ = len(self.history_)
        self.best_epoch_ = self._best_epoch()
        self.interrupted_ = bool(getattr(self.net_, "interrupted_", False))
        self._post_fit(X, y, sample_weight, train_idx, valid_idx)
        if self.interrupted_:
            method = "partial_fit" if partial else "fit"
            raise KeyboardInterrupt(
                f"{type(self).__name__}.{method} was interrupted after {self.n_epochs_} epoch(s); "
                f"the estimator holds the weights of epoch {self.best_epoch_} "
                "(interrupted_ = True)."
            )
        return self

    def _resume_net(self, train_split, has_valid):
        """Give the fitted net this fit's settings before it continues training.

        The callbacks are rebuilt for this fit's split (``partial_fit`` has no
        validation rows to stop on); the learning-rate schedule resumes from
        the length of the history, the optimiser keeps its state.
        """
        self.net_.set_params(train_split=train_split, max_epochs=self.max_epochs)
        self.net_.callbacks = self._callbacks(has_valid)
        self.net_.initialize_callbacks()
        for name, value in self._net_kwargs().items():
            setattr(self.net_, name, value)

    def _best_epoch(self):
        """1-based epoch whose weights the model holds."""
        if not len(self.history_):
            return 0
        stopper = dict(self.net_.callbacks_ or []).get("early_stopping")
        if stopper is not None and getattr(stopper, "best_epoch_", 0):
            return int(stopper.best_epoch_)  # the weights it restored
        return self.history_[-1]["epoch"]

    @worker_threads
    def _forward(self, X, dtype=None, fn=None, finish=None):
        """Network output for float32 ``X`` (ndarray or dict), in eval mode, by chunks.

        ``fn(module, batch)`` replaces ``module(batch)`` (another output of the
        module, such as attention weights). ``finish(output)`` turns the
        output of each chunk into what is returned (probabilities, scores):
        only the finished rows are kept, not the network's output.
        ``dtype=torch.float64`` evaluates a
        float64 copy of the module (inputs converted exactly): for scores that
        subtract the output from the input, such as a reconstruction error,
        where float32 rounding (which depends on a row's position in the batch)
        would be amplified. Integer entries of a dict input keep their dtype.
        A row whose output is not finite raises a ``ValueError``.
        """
        # an adversary is a training device: ``fn`` gets the classifier
        # (``self.net_.module_`` is the whole model, switched to eval mode too)
        root = self.net_.module_
        module = classifier_of(root)
        device = self.net_.device
        if dtype is not None:
            root = module = copy.deepcopy(module).to(dtype)
        fn = fn or (lambda m, xb: m(**xb) if isinstance(xb, dict) else m(xb))
        float_dtype = dtype or torch.float32

        def tensor(v, sl):
            return torch.as_tensor(
                v[sl], device=device, dtype=float_dtype if _is_float(v) else None
            )

        def chunk(sl):
            xb = {k: tensor(v, sl) for k, v in X.items()} if isinstance(X, dict) else tensor(X, sl)
            out = fn(module, xb)
            out = tuple(
                o.cpu().numpy() for o in (out if isinstance(out, (tuple, list)) else (out,))
            )
            rows = {k: v[sl] for k, v in X.items()} if isinstance(X, dict) else X[sl]
            _check_finite_output(out, rows, offset=sl.start)
            out = out if len(out) > 1 else out[0]
            return out if finish is None else finish(out)

        with _evaluating(root), torch.inference_mode():
            n = len(X["X"]) if isinstance(X, dict) else len(X)
            pieces = ((sl, chunk(sl)) for sl in _row_slices(n, self._predict_chunk))
            return _gathered(pieces, n)

    def _in_blocks(self, X, part):
        """``part(X[rows])`` for blocks of rows of a validated array, gathered.

        For a computation on every row with per-row temporaries larger than
        its result (a reconstruction error): the memory is the result plus one
        block's temporaries.
        """
        n = len(X)
        return _gathered(((sl, part(X[sl])) for sl in _row_slices(n, PREDICT_BLOCK)), n)

    def _predict_rows(self, X, part, allow_nan=None):
        """``part(rows)`` of every block of validated float32 rows of the raw input ``X``.

        Validation and conversion go block by block (:func:`skhep_ml.utils.predict_blocks`),
        and the results into arrays allocated once: the memory of a prediction is its
        output plus one block's worth, at any number of rows.
        """
        check_is_fitted(self)
        allow_nan = self._allow_nan() if allow_nan is None else allow_nan
        n, blocks = predict_blocks(self, X, allow_nan=allow_nan)
        return _gathered(((sl, part(block)) for sl, block in blocks), n)

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
        warm = self._continues()
        partial = self._partial_fitting  # a chunk may hold a single class
        X, y, sample_weight = validate_fit_data(
            self,
            X,
            y,
            sample_weight,
            allow_nan=self._allow_nan(),
            classifier=not partial,
            reset=not warm,
        )
        if partial:
            check_classification_targets(y)
        self._set_classes(np.unique(y), warm)
        y_enc = np.searchsorted(self.classes_, y)
        sample_weight = sample_weight * class_weights(
            self.class_weight, y_enc, sample_weight, self.classes_
        )
        return self._fit(X, y_enc, sample_weight, **fit_params)

    def _check_partial_fit(self, classes, first):
        # as sklearn.utils.multiclass._check_partial_fit_first_call
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one chunk does not "
                "know the class totals of the data. Compute them on a large sample of the "
                "labels, e.g. sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y_sample), and pass them as a dict {label: weight}."
            )
        if classes is None:
            if first:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: every label "
                    "the chunks hold, e.g. classes=[0, 1, 2] (a chunk may lack some)."
                )
            return
        classes = unique_labels(classes)
        if not first:
            if not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} is not the same as on the first call to "
                    f"partial_fit (or in fit): classes_ = {self.classes_.tolist()}."
                )
            return
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes; classes={classes.tolist()}."
            )
        self.classes_ = classes

    def _set_classes(self, classes, warm):
        """Set ``classes_``, or check that a warm start or a chunk brings no new label."""
        if self._partial_fitting:  # classes_ from partial_fit's classes (or fit)
            unknown = np.setdiff1d(classes, self.classes_)
            if unknown.size:
                raise ValueError(
                    f"y contains label(s) {unknown.tolist()} not in classes_ = "
                    f"{self.classes_.tolist()}, the classes of the first partial_fit call "
                    "(or of fit)."
                )
            return
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
        return softmax64(output)

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
        return self._predict_rows(X, lambda Xb: self._forward(Xb, finish=self._proba_from_output))

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


def unlabelled_mask(y):
    """Rows labelled -1: the integer (numeric or object y) or the string "-1"."""
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return y == -1
    if y.dtype.kind in "US":
        return y == y.dtype.type("-1")
    if y.dtype.kind == "O":
        return np.fromiter(
            (
                (isinstance(v, numbers.Number) and not isinstance(v, bool) and v == -1)
                or (isinstance(v, str) and v == "-1")
                for v in y
            ),
            dtype=bool,
            count=y.size,
        )
    return np.zeros(y.shape, dtype=bool)


def _balanced_domain_weights(target, sample_weight):
    """Weights that give source and target rows the same total (domain loss)."""
    totals = np.array([np.abs(sample_weight[~target]).sum(), np.abs(sample_weight[target]).sum()])
    if not totals[1] > 0:
        raise ValueError(
            "The target (unlabelled) rows have zero total sample_weight: the domain "
            "classifier would have no target data. Give them weight, or set "
            "domain_adaptation=None."
        )
    return (sample_weight * (0.5 * totals.sum() / totals[target.astype(int)])).astype(np.float32)


#: Rows (at most) of the fresh domain probe run after a domain-adapted fit.
_PROBE_ROWS = 10_000


def domain_probe_auc(features, domain, random_state=0):
    """Cross-validated ROC AUC of a fresh logistic regression telling the domains apart.

    0.5: the features carry no domain information a linear probe can find.
    NaN when either domain has fewer than 3 rows.
    """
    domain = np.asarray(domain).astype(int)
    if min(np.bincount(domain, minlength=2)) < 3:
        return float("nan")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    cv = StratifiedKFold(3, shuffle=True, random_state=random_state)
    score = cross_val_predict(probe, features, domain, cv=cv, method="decision_function")
    return float(roc_auc_score(domain, score))


_DOMAIN_PARAMETERS = """\
domain_adaptation : {{"dann", "cdan"}} or None, default={domain_adaptation!r}
    Adversarial domain adaptation to unlabelled target rows (real data):
    ``"dann"`` (Ganin et al., arXiv:1505.07818) trains a domain classifier on
    the learned features while the features learn to make it fail;
    ``"cdan"`` (Long et al., arXiv:1705.10667) gives the domain classifier
    the features ⊗ class probabilities, so that the features are aligned
    class by class rather than as a whole. Target rows are marked
    ``y = -1`` (scikit-learn's semi-supervised convention; with string
    labels, the integer -1 in an object array or the string ``"-1"``), or
    given by ``sample_domain < 0`` (skada's convention), or passed as
    ``fit(..., X_target=...)``. ``None``: an ordinary classifier, for which
    -1 is a label like any other.
domain_lambda : float, default={domain_lambda}
    Strength of the adversarial term: the classifier minimises
    ``L_label - domain_lambda * L_domain``.
domain_schedule : {{"dann", "fixed"}}, default={domain_schedule!r}
    ``"dann"``: the strength rises as ``2 / (1 + exp(-10 p)) - 1`` with the
    training progress ``p`` (the features first learn the task, then become
    domain-invariant); ``"fixed"``: full strength from the start.
domain_lr_ratio : float, default={domain_lr_ratio}
    Learning rate of the domain classifier relative to ``lr`` (it follows
    the learning-rate schedule): it must keep up with the features trained
    against it, or they only fool a lagging classifier.
domain_steps : int, default={domain_steps}
    Updates of the domain classifier per minibatch, before the update of
    the classifier.
domain_hidden : tuple of int, default={domain_hidden}
    Hidden widths of the domain classifier (batch-normalised input)."""


class DomainAdaptiveClassifier(BaseNeuralClassifier):
    """Neural classifier with optional adversarial domain adaptation (DANN / CDAN).

    Subclasses provide ``_build_classifier(X, y)`` (the torch classifier,
    with ``forward_features``) instead of ``_build_module``, and their class
    docstring says ``{domain_parameters}`` where the shared domain-adaptation
    parameters go. The training game is :class:`skhep_ml._nets.AdversarialNet`,
    the module :class:`skhep_ml.nn.AdversarialModel` around the classifier.
    """

    _parameter_constraints: dict = {
        **BaseNeuralClassifier._parameter_constraints,
        "domain_adaptation": [StrOptions({"dann", "cdan"}), None],
        "domain_lambda": [Interval(Real, 0, None, closed="left")],
        "domain_schedule": [StrOptions({"dann", "fixed"})],
        "domain_lr_ratio": [Interval(Real, 0, None, closed="neither")],
        "domain_steps": [Interval(Integral, 1, None, closed="left")],
        "domain_hidden": [tuple, list],
    }

    #: How the classifier's outputs become class probabilities (CDAN).
    _probabilities = "softmax"

    def _build_classifier(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_target=None, sample_domain=None):
        """Fit on labelled rows, adapting to unlabelled target rows if any.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels. With ``domain_adaptation`` set, -1 marks an
            unlabelled target-domain (real data) row.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights of the label loss (negative weights, as from NLO
            simulation, subtract their row's loss; the labelled total of
            every class must be positive) and of the domain loss, where the
            two domains are balanced to equal total weight.
        X_target : array-like or DataFrame of shape (n_target, n_features), default=None
            More unlabelled target rows (weight 1).
        sample_domain : array-like of int of shape (n_samples,), default=None
            skada's convention: a row with ``sample_domain < 0`` is a target
            row (its ``y`` is ignored), the others are source rows.

        Returns
        -------
        self
        """
        if self.domain_adaptation is None:
            if X_target is not None or sample_domain is not None:
                raise ValueError(
                    "X_target or sample_domain was given but domain_adaptation=None: set "
                    "domain_adaptation='dann' or 'cdan' to adapt to target rows."
                )
            return self._fit_validated(X, y, sample_weight)
        warm = self._continues()
        partial = self._partial_fitting
        X, y, sample_weight = validate_fit_data(
            self, X, y, sample_weight, allow_nan=self._allow_nan(), reset=not warm
        )
        target = self._target_rows(y, sample_domain)
        if X_target is not None:
            X_target = validate_predict_data(self, X_target, allow_nan=self._allow_nan())
            n = X_target.shape[0]
            X = np.vstack([X, X_target])
            y = np.concatenate([y, np.full(n, y[0], dtype=y.dtype)])
            sample_weight = np.concatenate([sample_weight, np.ones(n, dtype=np.float32)])
            target = np.concatenate([target, np.ones(n, dtype=bool)])
        labelled = ~target
        check_classification_targets(y[labelled])
        classes = np.unique(y[labelled])
        if partial and target.any() and not labelled.any():
            raise ValueError(
                "This partial_fit chunk has only target rows (y = -1): a domain-adapted "
                "partial_fit needs labelled (source) and target rows in every chunk, for "
                "the domain classifier to tell them apart."
            )
        if classes.size < 2 and not partial:  # a chunk may hold a single class
            raise ValueError(
                f"{type(self).__name__} needs labelled rows (the source, y != -1) of at least 2 classes; "
                f"got {classes.size} class."
            )
        if not partial:
            check_class_weight_totals(y[labelled], sample_weight[labelled])
        self._set_classes(classes, warm)
        y_enc = np.full(y.shape[0], -1, dtype=np.int64)
        y_enc[labelled] = np.searchsorted(self.classes_, y[labelled])
        sample_weight = sample_weight.copy()
        sample_weight[labelled] *= class_weights(
            self.class_weight, y_enc[labelled], sample_weight[labelled], self.classes_
        )
        if warm and self.domain_adapted_ != bool(target.any()):
            if partial:
                raise ValueError(
                    "partial_fit continues the fitted network, "
                    + (
                        "which has a domain classifier: every chunk needs target rows "
                        "(y = -1) besides labelled ones."
                        if self.domain_adapted_
                        else "which has no domain classifier (its first chunk, or fit, had "
                        "no target rows): give no target rows, or start over with fit."
                    )
                )
            raise ValueError(
                "warm_start continues the fitted network: "
                + ("give target rows again" if self.domain_adapted_ else "it has no domain head")
                + " (or refit with warm_start=False)."
            )
        self.domain_adapted_ = bool(target.any())
        if not self.domain_adapted_:
            return self._fit(X, y_enc, sample_weight)
        extra = {
            "adversary_target": target.astype(np.float32),
            "adversary_weight": _balanced_domain_weights(target, sample_weight),
        }
        # target rows carry a placeholder label of weight 0 in the label loss
        task_weight = np.where(target, 0.0, sample_weight).astype(np.float32)
        self._domain_of_rows = target
        try:
            return self._fit_net(
                X,
                self._encode_target(np.maximum(y_enc, 0)),
                task_weight,
                stratify=y_enc,
                extra=extra,
            )
        finally:
            del self._domain_of_rows

    def _check_partial_fit(self, classes, first):
        unlabelled = classes is not None and unlabelled_mask(np.asarray(classes)).any()
        if self.domain_adaptation is not None and unlabelled:
            raise ValueError(
                "classes holds -1, which marks the unlabelled target rows with "
                "domain_adaptation set: give the labels of the labelled rows only."
            )
        super()._check_partial_fit(classes, first)

    def _target_rows(self, y, sample_domain):
        if sample_domain is None:
            return unlabelled_mask(y)
        sample_domain = np.asarray(sample_domain).reshape(-1)
        if sample_domain.shape[0] != y.shape[0]:
            raise ValueError(
                f"sample_domain has {sample_domain.shape[0]} values but X has {y.shape[0]} rows."
            )
        if not np.issubdtype(sample_domain.dtype, np.integer):
            raise ValueError(
                "sample_domain must hold integers (source >= 0, target < 0, as in skada); "
                f"got dtype {sample_domain.dtype}."
            )
        target = sample_domain < 0
        masked = unlabelled_mask(y) & ~target
        if masked.any():
            raise ValueError(
                f"{int(masked.sum())} source row(s) (sample_domain >= 0) have the masked "
                "label -1; label them, or mark them as target rows (sample_domain < 0)."
            )
        return target

    def _fit(self, X, y_enc, sample_weight):
        self.domain_adapted_ = False  # a fit without target rows
        return super()._fit(X, y_enc, sample_weight)

    def _adapting(self):
        return self.domain_adaptation is not None and getattr(self, "domain_adapted_", False)

    def _build_module(self, X, y):
        classifier = self._build_classifier(X, y)
        if not self._adapting():
            return classifier
        check_layer_widths(self.domain_hidden, "domain_hidden")
        kind = "features" if self.domain_adaptation == "dann" else "conditional"
        model = AdversarialModel(classifier, None, kind, self._probabilities)
        with _evaluating(classifier), torch.no_grad():  # the adversary's input width
            width = model.adversary_input(torch.as_tensor(X[:2]))[1].shape[1]
        model.adversary = self._domain_classifier(width)
        return model

    def _domain_classifier(self, width):
        """The domain classifier for an adversary input of ``width`` columns."""
        return DomainClassifier(width, self.domain_hidden, getattr(self, "activation", "relu"))

    def _fit_net_class(self):
        return _nets.AdversarialNet if self._adapting() else self._net_class

    def _net_kwargs(self):
        kwargs = super()._net_kwargs()
        if self._adapting():
            kwargs.update(
                continue_ramp=self._partial_fitting,
                penalty="adversary",
                lambda_=self.domain_lambda,
                lambda_schedule=self.domain_schedule,
                adversary_steps=self.domain_steps,
                adversary_lr_ratio=self.domain_lr_ratio,
                valid_loss="task",
                term_name="domain",
            )
        return kwargs

    def _recorded_terms(self):
        terms = list(super()._recorded_terms())
        if self._adapting():
            for split in ("train", "valid"):
                for name in ("loss_clf", "loss_domain", "domain_acc"):
                    terms.append((f"{split}_{name}", split == "train"))
        return terms

    def _post_fit(self, X, y, sample_weight, train_idx, valid_idx):
        super()._post_fit(X, y, sample_weight, train_idx, valid_idx)
        if not self._adapting():
            return
        rows = valid_idx if valid_idx is not None else train_idx
        rng = np.random.default_rng(check_random_state_seed(self.random_state))
        if rows.size > _PROBE_ROWS:
            rows = np.sort(rng.choice(rows, _PROBE_ROWS, replace=False))
        features = self._forward(X[rows], fn=lambda m, xb: m.forward_features(xb)[1])
        self.domain_probe_auc_ = domain_probe_auc(features, self._domain_of_rows[rows])
        self.history_.record("domain_probe_auc", self.domain_probe_auc_)

    def domain_score(self, X):
        """The domain classifier's probability that a row is target-domain data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Or (n_samples, n_modalities) with one domain classifier per
            modality (``MDAClassifier(domain_features="modalities")``).
        """
        check_is_fitted(self)
        if not self._adapting():
            raise ValueError(
                "No domain classifier was trained: fit with domain_adaptation='dann' or "
                "'cdan' and target rows (y = -1, sample_domain < 0 or X_target)."
            )
        model = self.net_.module_
        return self._predict_rows(
            X,
            lambda Xb: self._forward(
                Xb,
                fn=lambda m, xb: model.adversary(model.adversary_input(xb)[1]),
                finish=lambda logit: expit(logit.astype(np.float64)),
            ),
        )

    def score(self, X, y, sample_weight=None):
        """Accuracy; with ``domain_adaptation`` set, on the labelled rows only (``y != -1``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
        """
        if self.domain_adaptation is None:
            return super().score(X, y, sample_weight)
        y = np.asarray(y)
        keep = ~unlabelled_mask(y)
        if hasattr(X, "iloc"):
            X_keep = X.iloc[np.flatnonzero(keep)]
        else:
            X_keep = np.asarray(X)[keep] if not keep.all() else X
        sw = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return accuracy_score(y[keep], self.predict(X_keep), sample_weight=sw)


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
        warm = self._continues()
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

    def _transformed_rows(self, X, part):
        """``part(Xt)`` of the transformed rows of ``X``, block by block (see ``_predict_rows``)."""
        return self._predict_rows(X, lambda Xb: part(self.transform_.transform(Xb)))

    def score_samples(self, X):
        """Opposite of the raw anomaly score: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._transformed_rows(X, lambda Xt: -self._raw_score(Xt))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
