"""The skorch side of the bridge: every skorch net and callback of skhep_ml.

Only this module and :mod:`skhep_ml._base` import skorch. The estimators pick
a net class from here (``_net_class``) and speak scikit-learn only.

- :class:`WeightedNeuralNet`: weighted loss, re-raised interrupts, a guard
  against a diverging (non-finite) loss; the base of the others.
- :class:`DomainAdversarialNet`: DANN loss (label loss plus a domain loss
  behind gradient reversal), with optional critic steps.
- :class:`PivotNet`: adversarial (learning to pivot) or DisCo decorrelation.
- :class:`VAENet`: the negative ELBO of a variational autoencoder.
- Callbacks: :class:`EpochLog` (the progress display and the learning rates),
  :class:`GRLSchedule`, and :func:`recorded` for per-epoch means of batch
  terms.
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
from torch.nn import functional as F

from skhep_ml.nn import dann_lambda, distance_correlation, gaussian_kl

__all__ = [
    "BatchLoader",
    "DensityNet",
    "DomainAdversarialNet",
    "EpochLog",
    "GRLSchedule",
    "PivotNet",
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


class DomainAdversarialNet(WeightedNeuralNet):
    """skorch net with the DANN loss.

    The batch dict carries ``sample_weight`` and, when a domain head is
    trained, ``domain`` (0 labelled source, 1 unlabelled target) and
    ``domain_weight`` (sample weights balanced between the two domains).
    The loss is the weighted cross-entropy over the labelled rows (targets
    ``>= 0``; unlabelled rows carry -1) plus, in training, the weighted
    binary cross-entropy of the domain head over all rows; the
    gradient-reversal layer in the module turns the latter into an
    adversarial term for the shared features. Validation reports the label
    loss only, so that early stopping follows the classification.

    ``domain_steps`` extra updates of the domain head alone, on the batch's
    features computed without gradient, precede every shared update.
    """

    lr_group_names = ("lr_domain",)

    def __init__(self, *args, domain_steps=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain_steps = domain_steps

    def _domain_loss(self, domain_logit, X):
        """Balanced-weight domain cross-entropy and the domain accuracy of a batch."""
        domain = to_tensor(X["domain"], device=self.device).to(domain_logit.dtype)
        bce = F.binary_cross_entropy_with_logits(domain_logit, domain, reduction="none")
        loss = self.weighted_mean(bce, {"sample_weight": X["domain_weight"]})
        return loss, ((domain_logit > 0) == (domain > 0.5)).float().mean()

    def train_step(self, batch, **fit_params):
        Xi, _ = unpack_data(batch)
        if self.domain_steps and isinstance(Xi, dict) and "domain" in Xi:
            self.train_domain_head(Xi, self.domain_steps)
        return super().train_step(batch, **fit_params)

    def train_domain_head(self, Xi, n_steps):
        """``n_steps`` updates of the domain head alone on batch ``Xi``; the domain losses."""
        with torch.no_grad():
            fused = self.infer(Xi)[2]
        losses = []
        for _ in range(n_steps):
            # only the domain head gets gradients, and torch's optimizers skip
            # parameters without one: the shared layers stay as they are
            self.optimizer_.zero_grad(set_to_none=True)
            loss = self._domain_loss(self.module_.domain_head(fused).squeeze(1), Xi)[0]
            loss.backward()
            self.optimizer_.step()
            losses.append(loss.item())
        self.optimizer_.zero_grad(set_to_none=True)
        return losses

    def get_loss(self, y_pred, y_true, X=None, training=False):
        logits, domain_logit = y_pred[0], y_pred[1]
        y_true = to_tensor(y_true, device=self.device)
        weight = to_tensor(X["sample_weight"], device=self.device)
        labelled = y_true >= 0
        if bool(labelled.any()):
            ce = self.criterion_(logits[labelled], y_true[labelled])
            label_loss = self.weighted_mean(ce, {"sample_weight": weight[labelled]})
        else:  # a batch of unlabelled rows only
            label_loss = logits.sum() * 0.0
        if not training:
            return label_loss
        self.history.record_batch("label_loss", label_loss.item())
        if "domain" not in X:
            return label_loss
        domain_loss, accuracy = self._domain_loss(domain_logit, X)
        self.history.record_batch("domain_loss", domain_loss.item())
        self.history.record_batch("domain_acc", accuracy.item())
        return label_loss + domain_loss


class GRLSchedule(Callback):
    """Sets the reversal strength of ``module_.grl`` before every training batch.

    ``schedule="dann"``: ``lambda_max * (2 / (1 + exp(-10 p)) - 1)`` with
    ``p`` the fraction of the ``max_epochs`` planned batches done;
    ``"fixed"``: ``lambda_max`` throughout. Records ``grl_lambda`` per epoch.
    """

    def __init__(self, schedule="dann", lambda_max=1.0, batch_size=128):
        self.schedule = schedule
        self.lambda_max = lambda_max
        self.batch_size = batch_size

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_batches = max(1, math.ceil(len(y) / self.batch_size))
        self.total_steps_ = max(1, net.max_epochs * n_batches)
        self.step_ = 0
        self.lambda_ = self._value()

    def _value(self):
        if self.schedule == "fixed":
            return float(self.lambda_max)
        return float(self.lambda_max) * dann_lambda(self.step_ / self.total_steps_)

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.lambda_ = self._value()
            net.module_.grl.lambda_ = self.lambda_
            self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        net.history.record("grl_lambda", self.lambda_)


class PivotNet(WeightedNeuralNet):
    """skorch net of :class:`~skhep_ml.PivotClassifier`: the decorrelation loop.

    The batch dict carries ``z`` (the protected variable, or its value index
    for a discrete one) besides ``X`` and ``sample_weight``. ``train_loss`` /
    ``valid_loss`` is the combined loss; the two terms are recorded per batch
    as ``{train,valid}_loss_clf`` (``L_f``) and ``{train,valid}_loss_adv``
    (``L_r`` of the adversary, or ``dCor²`` for DisCo).
    """

    def __init__(
        self,
        *args,
        method="adversary",
        lambda_=10.0,
        adversary_on="background",
        adversary_steps=1,
        adversary_lr=None,
        pretrain_epochs=0,
        adversary_pretrain_epochs=0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.method = method
        self.lambda_ = lambda_
        self.adversary_on = adversary_on
        self.adversary_steps = adversary_steps
        self.adversary_lr = adversary_lr
        self.pretrain_epochs = pretrain_epochs
        self.adversary_pretrain_epochs = adversary_pretrain_epochs

    # -- optimisers --------------------------------------------------------
    def initialize_optimizer(self, *args, **kwargs):
        """``optimizer_`` trains the classifier, ``optimizer_adv_`` the adversary."""
        clf = self.module_.classifier.named_parameters()
        pgroups, kw = self.get_params_for_optimizer("optimizer", clf)
        self.optimizer_ = self.optimizer(*pgroups, **kw)
        if self.module_.adversary is not None:
            kw = dict(kw)
            kw["lr"] = self.adversary_lr or self.lr
            self.optimizer_adv_ = self.optimizer(self.module_.adversary.parameters(), **kw)
        return self

    # -- losses ------------------------------------------------------------
    def _penalty_inputs(self, X, y_true):
        """The batch dict with the weights of the rows the penalty applies to."""
        w = to_tensor(X["sample_weight"], device=self.device)
        if self.adversary_on == "background":
            w = w * (y_true == 0).to(w.dtype)
        return {**X, "sample_weight": w}

    def _classifier_loss(self, logits, y_true, X):
        return self.weighted_mean(self.criterion_(logits, y_true), X)

    def _decorrelation_term(self, logits, y_true, X):
        """``L_r`` (adversary negative log-likelihood) or ``dCor²`` (DisCo)."""
        Xp = self._penalty_inputs(X, y_true)
        z = to_tensor(X["z"], device=self.device)
        if self.method == "adversary":
            return self.weighted_mean(self.module_.adversary_nll(logits, z), Xp)
        score = 1.0 - torch.softmax(logits, dim=1)[:, 0]
        return distance_correlation(score, z, Xp["sample_weight"])

    def _combined(self, loss_clf, term, lambda_):
        sign = -1.0 if self.method == "adversary" else 1.0
        return loss_clf + sign * lambda_ * term

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Combined loss ``L_f - λ L_r`` (adversary) or ``L_f + λ dCor²`` (DisCo)."""
        y_true = to_tensor(y_true, device=self.device)
        loss_clf = self._classifier_loss(y_pred, y_true, X)
        term = self._decorrelation_term(y_pred, y_true, X)
        prefix = "train" if training else "valid"
        self.history.record_batch(f"{prefix}_loss_clf", loss_clf.item())
        self.history.record_batch(f"{prefix}_loss_adv", term.item())
        return self._combined(loss_clf, term, self.lambda_)

    # -- training steps ----------------------------------------------------
    def _adversary_steps(self, Xi, y_true, n_steps):
        """``n_steps`` updates of the adversary on ``L_r`` with ``f`` held fixed."""
        with torch.no_grad():
            logits = self.infer(Xi)
        loss = None
        for _ in range(n_steps):
            self.optimizer_adv_.zero_grad()
            loss = self._decorrelation_term(logits, y_true, Xi)
            loss.backward()
            self.optimizer_adv_.step()
        return loss.detach()

    def _classifier_step(self, Xi, y_true, lambda_):
        self.optimizer_.zero_grad()
        logits = self.infer(Xi)
        loss_clf = self._classifier_loss(logits, y_true, Xi)
        if lambda_ == 0 and self.method == "disco":
            term = loss_clf.detach() * 0.0
            loss = loss_clf
        else:
            term = self._decorrelation_term(logits, y_true, Xi)
            loss = self._combined(loss_clf, term, lambda_)
        loss.backward()
        self.optimizer_.step()
        return logits.detach(), loss.detach(), loss_clf.detach(), term.detach()

    def train_step(self, batch, **fit_params):
        """One minibatch: ``adversary_steps`` updates of ``r``, then one of ``f``."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_true = to_tensor(yi, device=self.device)
        if self.method == "adversary":
            self._adversary_steps(Xi, y_true, self.adversary_steps)
        logits, loss, loss_clf, term = self._classifier_step(Xi, y_true, self.lambda_)
        self.history.record_batch("train_loss_clf", loss_clf.item())
        self.history.record_batch("train_loss_adv", term.item())
        return {"loss": loss, "y_pred": logits}

    # -- pretraining -------------------------------------------------------
    def before_epochs(self, X, y):
        """Pretrain ``f`` then ``r`` (adversary method, fresh fit) before the game."""
        if self.method == "adversary" and len(self.history) == 0:
            self._pretrain(X, y)

    def _pretrain_epoch(self, dataset, phase):
        """One pretraining epoch of ``phase``; the mean ``(L_f, L_r)`` over rows."""
        sums = np.zeros(2)
        n_rows = 0
        for batch in self.get_iterator(dataset, training=True):
            self._set_training(True)
            Xi, yi = unpack_data(batch)
            y_true = to_tensor(yi, device=self.device)
            if phase == "classifier":
                _, _, loss_clf, term = self._classifier_step(Xi, y_true, 0.0)
            else:
                term = self._adversary_steps(Xi, y_true, 1)
                with torch.no_grad():
                    loss_clf = self._classifier_loss(self.infer(Xi), y_true, Xi)
            sums += len(yi) * np.array([loss_clf.item(), term.item()])
            n_rows += len(yi)
        return sums / max(n_rows, 1)

    def _pretrain(self, X, y):
        """The paper's pretraining: ``f`` on ``L_f`` alone, then ``r`` on ``L_r`` alone.

        These epochs run outside the callbacks (no early stopping, no
        learning-rate schedule); their mean losses go to ``pretrain_history_``.
        """
        dataset_train, _ = self.get_split_datasets(X, y)
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
                        f"L_f={loss_clf:.4f}  L_r={loss_adv:.4f}",
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
_NOT_SHOWN = {"epoch", "dur", "batches", "event_lr", "train_batch_count", "valid_batch_count"}


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
    """Per-epoch learning-rate schedule ``"exponential"`` or ``"cosine"``."""
    if kind == "exponential":
        return ("lr_schedule", LRScheduler("ExponentialLR", gamma=decay))
    return ("lr_schedule", LRScheduler("CosineAnnealingLR", T_max=max_epochs))


class StopTraining(KeyboardInterrupt):
    """Early stopping's way out of skorch's loop, told apart from a user's Ctrl-C."""


class _EarlyStopping(EarlyStopping):
    # skorch stops by raising KeyboardInterrupt: re-raise it as StopTraining
    def on_epoch_end(self, net, **kwargs):
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
