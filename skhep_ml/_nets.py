"""The skorch side of the bridge: every skorch net and callback of skhep_ml.

Only this module and :mod:`skhep_ml._base` import skorch. The estimators pick
a net class from here (``_net_class``) and speak scikit-learn only.

- :class:`WeightedNeuralNet`: weighted loss, re-raised interrupts, a guard
  against a diverging (non-finite) loss; the base of the others.
- :class:`AdversarialNet`: the one adversarial training mechanism (domain
  adaptation, learning to pivot, DisCo), alternating updates of an
  adversary and of the classifier with a scheduled strength.
- :class:`VAENet`: the negative ELBO of a variational autoencoder.
- Callbacks: :class:`EpochLog` (the progress display and the learning rates)
  and :func:`recorded` for per-epoch means of batch terms.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PassthroughScoring, ProgressBar
from skorch.dataset import Dataset, unpack_data
from skorch.helper import predefined_split
from skorch.utils import to_tensor

from skhep_ml.nn import dann_lambda, distance_correlation, gaussian_kl
from skhep_ml.nn.fse import missingness_patterns

__all__ = [
    "AdversarialNet",
    "BatchLoader",
    "DensityNet",
    "EpochLog",
    "OneCycle",
    "StopTraining",
    "VAENet",
    "WeightedNeuralNet",
    "early_stopping",
    "lr_scheduler",
    "progress_bar",
    "recorded",
    "validation_data",
]


class BatchLoader:
    """Minibatches by tensor indexing, not one ``__getitem__`` per row.

    A drop-in for ``torch.utils.data.DataLoader`` as skorch's ``iterator_train``
    / ``iterator_valid``: skorch's default Dataset collates row by row, which
    costs more than the forward pass of a small network. Shuffling draws from
    torch's global generator, which ``fit`` seeds from ``random_state``.

    ``by_pattern=True`` orders the rows by missingness pattern (of ``X``, or
    of ``X["X"]``) before cutting batches, shuffled within each pattern and in
    batch order when ``shuffle``: nearly every batch then holds one pattern
    (only the batches at the boundaries mix two), as the ALICE code batches,
    so that a network that runs each pattern on its present features only
    (:class:`~skhep_ml.nn.FSEAttentionNet`) runs one pattern per batch.
    """

    def __init__(self, dataset, batch_size=64, shuffle=False, by_pattern=False, **_):
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
        self._pattern = None
        if by_pattern:
            x = self._X["X"] if isinstance(self._X, dict) else self._X
            self._pattern = missingness_patterns(torch.isnan(x))[1]

    def __len__(self):
        return (self._n + self.batch_size - 1) // self.batch_size

    def _order(self):
        order = torch.randperm(self._n) if self.shuffle else None
        if self._pattern is None:
            return order
        if order is None:
            return torch.argsort(self._pattern, stable=True)
        return order[torch.argsort(self._pattern[order], stable=True)]

    def __iter__(self):
        order = self._order()
        starts = torch.arange(0, self._n, self.batch_size)
        if self.shuffle and self._pattern is not None:
            starts = starts[torch.randperm(len(starts))]
        for start in starts.tolist():
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

    Unlike skorch's ``NeuralNet``, an interrupt (Ctrl-C) is not swallowed:
    ``interrupted_`` records it and :meth:`skhep_ml._base.BaseNeuralEstimator`
    re-raises it once the net has finished its ``on_train_end`` (early
    stopping restores the best weights). A non-finite training loss stops
    the fit with a ``FloatingPointError`` naming the epoch.
    """

    #: History names of the learning rates of the ``param_groups`` patterns,
    #: in order; the last (default) group's rate is recorded as ``lr``.
    lr_group_names: tuple = ()

    def infer(self, x, **fit_params):
        if isinstance(x, dict):
            x = x["X"]
        return super().infer(x, **fit_params)

    def _set_training(self, training=True):
        # skorch sets the mode before every batch; Module.train's attribute writes
        # cost about 3% of a small network's step, so only a change is written
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                m.training != training for m in module.modules()
            ):
                module.train(training)

    def weighted_mean(self, loss, X):
        """Weighted mean over rows of a per-row (or per-row-and-output) loss."""
        if loss.ndim > 1:
            loss = loss.reshape(loss.shape[0], -1).sum(dim=1)
        if isinstance(X, dict) and "sample_weight" in X:
            w = to_tensor(X["sample_weight"], device=self.device).to(loss.dtype)
            return (w * loss).sum() / w.abs().sum().clamp_min(torch.finfo(loss.dtype).tiny)
        return loss.mean()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(y_pred, (tuple, list)):  # a module returning (logits, extras...)
            y_pred = y_pred[0]
        y_true = to_tensor(y_true, device=self.device)
        return self.weighted_mean(self.criterion_(y_pred, y_true), X)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.interrupted_ = False
        try:
            self.before_epochs(X, y)
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except StopTraining:
            raise
        except KeyboardInterrupt:
            # skorch swallows it; the estimator re-raises it after on_train_end
            self.interrupted_ = True
            raise

    def before_epochs(self, X, y):
        """Work before the first epoch, inside the interrupt handling (pretraining)."""

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        losses = self.history[-1, "batches", :, "train_loss"]
        if not np.all(np.isfinite(losses)):
            epoch = self.history[-1, "epoch"]
            raise FloatingPointError(
                f"the training loss became {losses[np.argmin(np.isfinite(losses))]} in epoch "
                f"{epoch}: training diverged. Lower lr, or look for extreme input values "
                "or sample weights."
            )

    def learning_rates(self):
        """``{history name: learning rate}`` of every parameter group."""
        groups = self.optimizer_.param_groups
        rates = {"lr": groups[-1]["lr"]}
        rates.update(
            {name: g["lr"] for name, g in zip(self.lr_group_names, groups[:-1], strict=False)}
        )
        return rates


#: Fraction of the full strength from which the ramp counts as done.
RAMP_DONE = 0.9


class AdversarialNet(WeightedNeuralNet):
    """The one adversarial training mechanism: a classifier trained against an adversary.

    Used by domain adaptation (DANN / CDAN: the adversary is a domain
    classifier) and by :class:`~skhep_ml.PivotClassifier` (the adversary
    predicts the protected variable; or the DisCo penalty, no adversary).
    The module is a :class:`skhep_ml.nn.AdversarialModel`. The batch dict
    carries ``X``, ``sample_weight`` (weights of the task loss: 0 for
    unlabelled rows), ``adversary_target`` (domain label, or the protected
    value) and ``adversary_weight`` (weights of the rows the adversary's
    term applies to).

    Every minibatch of the game:

    1. ``adversary_steps`` updates of the adversary alone (``optimizer_adv_``,
       constant learning rate ``lr * adversary_lr_ratio``) on its loss
       ``L_adv``, with the classifier's output or features of the batch held
       fixed: the adversary stays near the best one for the current
       classifier, so the classifier must fool any adversary, not a lagging
       one. The learning-rate schedule slows the classifier only (two time
       scales): as the classifier settles, the adversary keeps up with it
       (on the pivot toy a cosine schedule this way gives the same
       decorrelation on every seed where a constant rate scatters 2x-11x);
    2. one update of the classifier (``optimizer_``) on
       ``L_task - λ_t L_adv`` (``penalty="adversary"``; the same gradient as a
       gradient-reversal layer of strength ``λ_t``) or
       ``L_task + λ_t dCor²(s, target)`` (``penalty="disco"``).

    ``λ_t`` is ``lambda_`` (``lambda_schedule="fixed"``) or
    ``lambda_ * (2 / (1 + exp(-10 p)) - 1)`` (``"dann"``, ``p`` the fraction
    of the planned ``max_epochs`` minibatches done). Before the game, a fresh
    fit runs ``pretrain_epochs`` of the classifier alone and
    ``adversary_pretrain_epochs`` of the adversary alone (outside the
    callbacks; their mean losses in ``pretrain_history_``). Every fit loop
    plans the ramp anew (a warm start ramps again from 0), unless
    ``continue_ramp``: then ``p`` counts the epochs already in the history
    (``partial_fit``, one epoch per call, ramps over ``max_epochs`` calls).

    History (``name`` = ``term_name``): per batch ``train_loss_clf``,
    ``train_loss_{name}``, ``valid_loss_clf``, ``valid_loss_{name}`` and, for
    an adversary that can say which rows it gets right (a domain
    classifier), its weighted accuracy ``train_{name}_acc`` /
    ``valid_{name}_acc``; per epoch ``{name}_lambda`` and ``lr_{name}``.
    ``valid_loss`` is the task loss (``valid_loss="task"``: early stopping
    follows the classification) or the combined loss (``"combined"``). Epochs
    of the ramp (``λ_t`` below 90% of ``lambda_``) are marked ``in_ramp`` and
    early stopping neither picks nor counts them.
    """

    def __init__(
        self,
        *args,
        penalty="adversary",
        lambda_=1.0,
        lambda_schedule="fixed",
        adversary_steps=1,
        adversary_lr_ratio=1.0,
        pretrain_epochs=0,
        adversary_pretrain_epochs=0,
        valid_loss="task",
        term_name="adv",
        continue_ramp=False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.continue_ramp = continue_ramp
        self.penalty = penalty
        self.lambda_ = lambda_
        self.lambda_schedule = lambda_schedule
        self.adversary_steps = adversary_steps
        self.adversary_lr_ratio = adversary_lr_ratio
        self.pretrain_epochs = pretrain_epochs
        self.adversary_pretrain_epochs = adversary_pretrain_epochs
        self.valid_loss = valid_loss
        self.term_name = term_name

    # -- optimisers --------------------------------------------------------
    def initialize_optimizer(self, *args, **kwargs):
        """``optimizer_`` trains the classifier, ``optimizer_adv_`` the adversary."""
        clf = self.module_.classifier.named_parameters()
        pgroups, kw = self.get_params_for_optimizer("optimizer", clf)
        self.optimizer_ = self.optimizer(*pgroups, **kw)
        if self.module_.adversary is not None:
            kw = {**kw, "lr": self.lr * self.adversary_lr_ratio}
            self.optimizer_adv_ = self.optimizer(self.module_.adversary.parameters(), **kw)
        return self

    def learning_rates(self):
        rates = super().learning_rates()
        if self.module_.adversary is not None:
            rates[f"lr_{self.term_name}"] = self.optimizer_adv_.param_groups[0]["lr"]
        return rates

    # -- the strength --------------------------------------------------------
    def current_lambda(self):
        if self.lambda_schedule == "fixed":
            return float(self.lambda_)
        return float(self.lambda_) * dann_lambda(self.game_step_ / self.game_steps_)

    # -- losses ------------------------------------------------------------
    def _weights(self, X, key):
        return {"sample_weight": to_tensor(X[key], device=self.device)}

    def _task_loss(self, output, y_true, X):
        # the base net's weighted loss (label weight 0 on unlabelled rows)
        return self.get_loss(output, y_true, X)

    def _term(self, output, adv_in, X):
        """``(L_adv or dCor², weighted accuracy or None)`` of a batch."""
        target = to_tensor(X["adversary_target"], device=self.device)
        w = self._weights(X, "adversary_weight")
        if self.penalty == "disco":
            logits = self.module_.logits(output)
            score = self.module_.class_probabilities(logits)[:, 1:].sum(dim=1)
            return distance_correlation(score, target, w["sample_weight"]), None
        adversary = self.module_.adversary
        loss = self.weighted_mean(self.module_.adversary_nll(adv_in, target), w)
        if not hasattr(adversary, "correct"):
            return loss, None
        with torch.no_grad():
            accuracy = self.weighted_mean(adversary.correct(adv_in, target), w)
        return loss, accuracy

    def _combined(self, task, term, lambda_):
        sign = -1.0 if self.penalty == "adversary" else 1.0
        return task + sign * lambda_ * term

    def _record(self, prefix, task, term, accuracy):
        name = self.term_name
        self.history.record_batch(f"{prefix}_loss_clf", task.item())
        self.history.record_batch(f"{prefix}_loss_{name}", term.item())
        if accuracy is not None:
            self.history.record_batch(f"{prefix}_{name}_acc", accuracy.item())

    # -- training steps ----------------------------------------------------
    def _adversary_steps(self, Xi, n_steps):
        """``n_steps`` updates of the adversary with the classifier held fixed."""
        with torch.no_grad():
            _, adv_in = self.module_.adversary_input(Xi["X"])
        target = to_tensor(Xi["adversary_target"], device=self.device)
        w = self._weights(Xi, "adversary_weight")
        loss = None
        for _ in range(n_steps):
            self.optimizer_adv_.zero_grad(set_to_none=True)
            loss = self.weighted_mean(self.module_.adversary_nll(adv_in, target), w)
            loss.backward()
            self.optimizer_adv_.step()
        return loss.detach()

    def _classifier_step(self, Xi, y_true, lambda_):
        self.optimizer_.zero_grad(set_to_none=True)
        if self.penalty == "adversary":
            output, adv_in = self.module_.adversary_input(Xi["X"])
        else:
            output, adv_in = self.module_(Xi["X"]), None
        task = self._task_loss(output, y_true, Xi)
        if lambda_ == 0 and self.penalty == "disco":
            term, accuracy, loss = task.detach() * 0.0, None, task
        else:
            term, accuracy = self._term(output, adv_in, Xi)
            loss = self._combined(task, term, lambda_)
        loss.backward()
        self.optimizer_.step()
        return output, loss.detach(), task.detach(), term.detach(), accuracy

    def train_step(self, batch, **fit_params):
        """One minibatch: ``adversary_steps`` updates of the adversary, then one of the classifier."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_true = to_tensor(yi, device=self.device)
        if self.penalty == "adversary":
            self._adversary_steps(Xi, self.adversary_steps)
        lambda_ = self.current_lambda()
        self.game_step_ += 1
        output, loss, task, term, accuracy = self._classifier_step(Xi, y_true, lambda_)
        self._record("train", task, term, accuracy)
        return {"loss": loss, "y_pred": self.module_.logits(output).detach()}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        y_true = to_tensor(yi, device=self.device)
        with torch.no_grad():
            if self.penalty == "adversary":
                output, adv_in = self.module_.adversary_input(Xi["X"])
            else:
                output, adv_in = self.module_(Xi["X"]), None
            task = self._task_loss(output, y_true, Xi)
            term, accuracy = self._term(output, adv_in, Xi)
        self._record("valid", task, term, accuracy)
        if self.valid_loss == "combined":
            loss = self._combined(task, term, self.current_lambda())
        else:
            loss = task
        return {"loss": loss, "y_pred": self.module_.logits(output)}

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        lambda_ = self.current_lambda()
        self.history.record(f"{self.term_name}_lambda", lambda_)
        # while the strength still ramps up, the classifier is not yet the
        # adapted one: early stopping does not pick these epochs (the label
        # loss, lowest without adversary, would always prefer them)
        self.history.record("in_ramp", bool(lambda_ < RAMP_DONE * self.lambda_))

    # -- pretraining -------------------------------------------------------
    def before_epochs(self, X, y):
        """Plan the strength schedule; pretrain (adversary penalty, fresh fit)."""
        dataset_train, _ = self.get_split_datasets(X, y)
        n_batches = max(1, math.ceil(len(dataset_train) / self.batch_size))
        self.game_steps_ = max(1, self.max_epochs * n_batches)
        self.game_step_ = len(self.history) * n_batches if self.continue_ramp else 0
        if self.penalty == "adversary" and len(self.history) == 0:
            self._pretrain(dataset_train)

    def _pretrain_epoch(self, dataset, phase):
        """One pretraining epoch of ``phase``; the mean ``(L_task, L_adv)`` over rows."""
        sums = np.zeros(2)
        n_rows = 0
        for batch in self.get_iterator(dataset, training=True):
            self._set_training(True)
            Xi, yi = unpack_data(batch)
            y_true = to_tensor(yi, device=self.device)
            if phase == "classifier":
                _, _, task, term, _ = self._classifier_step(Xi, y_true, 0.0)
            else:
                term = self._adversary_steps(Xi, 1)
                with torch.no_grad():
                    task = self._task_loss(self.module_(Xi["X"]), y_true, Xi)
            sums += len(yi) * np.array([task.item(), term.item()])
            n_rows += len(yi)
        return sums / max(n_rows, 1)

    def _pretrain(self, dataset_train):
        """Warm-up: the classifier on ``L_task`` alone, then the adversary on ``L_adv`` alone."""
        self.pretrain_history_ = []
        phases = [
            ("classifier", self.pretrain_epochs),
            ("adversary", self.adversary_pretrain_epochs),
        ]
        for phase, n_epochs in phases:
            for epoch in range(1, n_epochs + 1):
                loss_clf, loss_adv = self._pretrain_epoch(dataset_train, phase)
                self.pretrain_history_.append(
                    {
                        "phase": phase,
                        "epoch": epoch,
                        "loss_clf": float(loss_clf),
                        "loss_adv": float(loss_adv),
                    }
                )
                if self.verbose:
                    print(
                        f"pretrain {phase:10s} epoch {epoch:3d}  "
                        f"L_f={loss_clf:.4f}  L_adv={loss_adv:.4f}",
                        flush=True,
                    )


class VAENet(WeightedNeuralNet):
    """Net whose module returns ``(reconstruction, mu, logvar)``.

    Per-row loss: squared reconstruction error summed over features plus
    ``beta`` times the KL divergence of ``q(z|x)`` from the unit Gaussian (a
    negative ELBO for a Gaussian decoder of variance 1/2); rows are averaged by
    the base's weighted mean.
    """

    def __init__(self, *args, beta=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = beta

    def get_loss(self, y_pred, y_true, X=None, training=False):
        recon, mu, logvar = y_pred
        y_true = to_tensor(y_true, device=self.device)
        rec = self.criterion_(recon, y_true).sum(dim=1)
        return self.weighted_mean(rec + self.beta * gaussian_kl(mu, logvar), X)


class DensityNet(WeightedNeuralNet):
    """Net whose module returns the log-density of each row: the loss is its negative.

    The weighted mean of ``-log p`` is the (weighted) negative log-likelihood
    of the sample; the target is unused.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.weighted_mean(-y_pred, X)


# -- callbacks ----------------------------------------------------------------

#: History keys the epoch line leaves out (bookkeeping, not measurements).
_NOT_SHOWN = {
    "epoch",
    "dur",
    "batches",
    "event_lr",
    "train_batch_count",
    "valid_batch_count",
    "in_ramp",
}


class EpochLog(Callback):
    """Records the learning rates and prints one plain line per epoch.

    ``mode``: 0 silent; 1 every epoch; ``"auto"`` silent until the fit has run
    ``delay`` seconds, then every epoch (a long fit shows its progress, a
    short one stays quiet). The line has no terminal colour codes, so that a
    log file or a notebook shows it as it is, e.g.
    ``epoch  3/30  train_loss 0.4123  valid_loss 0.4001*  lr 4.8e-04  1.2 s``
    (``*`` marks the best validation loss so far).
    """

    def __init__(self, mode="auto", delay=10.0, stream=None):
        self.mode = mode
        self.delay = delay
        self.stream = stream

    def on_train_begin(self, net, **kwargs):
        self.start_ = time.monotonic()

    def on_epoch_end(self, net, **kwargs):
        for name, value in net.learning_rates().items():
            net.history.record(name, value)
        if self.mode == 0:
            return
        if self.mode == "auto" and time.monotonic() - self.start_ < self.delay:
            return
        print(self._line(net), file=self.stream or sys.stdout, flush=True)

    @staticmethod
    def _line(net):
        row = net.history[-1]
        parts = [f"epoch {row['epoch']:3d}/{net.max_epochs}"]
        for key, value in row.items():
            if key in _NOT_SHOWN or key.endswith("_best") or not isinstance(value, (int, float)):
                continue
            fmt = ".1e" if key.startswith("lr") else ".4f"
            mark = "*" if row.get(f"{key}_best") else ""
            parts.append(f"{key} {value:{fmt}}{mark}")
        parts.append(f"{row['dur']:.1f} s")
        return "  ".join(parts)


def recorded(name, on_train=True):
    """Callback: the per-epoch mean of the batch values recorded as ``name``."""
    return (name, PassthroughScoring(name, lower_is_better=None, on_train=on_train))


def lr_scheduler(kind, *, max_epochs, decay):
    """Learning-rate schedule ``"exponential"``, ``"cosine"`` (per epoch) or ``"one_cycle"``."""
    if kind == "exponential":
        return ("lr_schedule", LRScheduler("ExponentialLR", gamma=decay))
    if kind == "one_cycle":
        return ("lr_schedule", OneCycle(max_epochs))
    return ("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=max_epochs))


def _cos_between(start, end, frac):
    return end + (start - end) * (1.0 + math.cos(math.pi * frac)) / 2.0


class OneCycle(Callback):
    """The one-cycle schedule (Smith and Topin, arXiv:1708.07120), set before every batch.

    torch's ``OneCycleLR`` with ``pct_start=0.25`` and its other defaults:
    over the first quarter of ``max_epochs`` the rate rises (cosine) from
    ``lr / 25`` to the optimiser's ``lr``, then anneals (cosine) to
    ``lr / 25 / 1e4``; Adam's ``beta1`` moves the other way, 0.95 -> 0.85 -> 0.95
    (SGD's momentum is left alone). The position in the cycle is the epoch
    plus the fraction of its batches done, so a ``partial_fit`` call (one
    epoch) continues the cycle; past ``max_epochs`` the rate stays at its end
    value. Unlike ``OneCycleLR`` it needs no step count before the data are
    split, and it keeps each parameter group's own peak rate.
    """

    def __init__(self, max_epochs, pct_start=0.25, div_factor=25.0, final_div_factor=1e4):
        self.max_epochs = max_epochs
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def on_train_begin(self, net, **kwargs):
        for group in net.optimizer_.param_groups:
            # the peak is the rate the optimiser was built with (kept across partial_fit)
            group.setdefault("one_cycle_peak", group["lr"])

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        self.epoch_ = len(net.history) - 1  # the net has opened this epoch's row
        self.n_batches_ = max(1, math.ceil(len(dataset_train) / net.batch_size))
        self.batch_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        # OneCycleLR's step k of total: the peak at step pct_start * total - 1, the end
        # at total - 1 (past it, the end value)
        total = self.max_epochs * self.n_batches_
        k = min(self.epoch_ * self.n_batches_ + self.batch_, total - 1)
        self.batch_ += 1
        peak_step = self.pct_start * total - 1
        rising = k <= peak_step and peak_step > 0
        if rising:
            frac = k / peak_step
        else:
            frac = (k - max(peak_step, 0.0)) / max(total - 1 - max(peak_step, 0.0), 1.0)
        for group in net.optimizer_.param_groups:
            peak = group["one_cycle_peak"]
            low = peak / self.div_factor
            if rising:
                group["lr"] = _cos_between(low, peak, frac)
                beta1 = _cos_between(0.95, 0.85, frac)
            else:
                group["lr"] = _cos_between(peak, low / self.final_div_factor, frac)
                beta1 = _cos_between(0.85, 0.95, frac)
            if "betas" in group:
                group["betas"] = (beta1, group["betas"][1])


class StopTraining(KeyboardInterrupt):
    """Early stopping's way out of skorch's loop, told apart from a user's Ctrl-C."""


class _EarlyStopping(EarlyStopping):
    # skorch stops by raising KeyboardInterrupt: re-raise it as StopTraining
    def on_epoch_end(self, net, **kwargs):
        if net.history[-1].get("in_ramp", False):
            return  # an adversary still ramping up: not a candidate (AdversarialNet)
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            if self.misses_ < self.patience:
                raise  # a real interrupt, during the callback
            raise StopTraining from None


def early_stopping(patience):
    """Stop on the validation loss and restore the best epoch's weights."""
    return (
        "early_stopping",
        _EarlyStopping(
            monitor="valid_loss", patience=patience, threshold=0.0, load_best=True, sink=_silent
        ),
    )


def progress_bar():
    return ("progress", ProgressBar())


def validation_data(inputs, y):
    """skorch's ``train_split`` that validates on the given rows."""
    return predefined_split(Dataset(inputs, y))


def _silent(*args, **kwargs):
    """A picklable sink: the epoch line already marks the best epoch."""
