"""A classifier and an adversary in one module (pure torch).

One structure serves every adversarial method of skhep_ml:

- domain adaptation (DANN, Ganin et al., arXiv:1505.07818): a
  :class:`DomainClassifier` reads the classifier's learned features and tells
  simulation from data;
- conditional domain adaptation (CDAN, Long et al., arXiv:1705.10667): the
  domain classifier reads the multilinear map features ⊗ class probabilities,
  so that the features are aligned class by class;
- learning to pivot (Louppe, Kagan & Cranmer, arXiv:1611.01046): the adversary
  (a mixture density network) reads the classifier's output and predicts the
  protected variable.

:class:`AdversarialModel` keeps the classifier and its adversary together, so
that checkpoints, early stopping and pickling carry both, while ``forward`` is
the classifier alone: prediction and ONNX export never see the adversary.
The training game itself (alternating updates, the schedule of the strength)
lives in the skorch net that trains this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from skhep_ml.nn.mlp import MLP

__all__ = [
    "ADVERSARY_INPUTS",
    "AdversarialModel",
    "DomainClassifier",
    "GroupedDomainClassifier",
    "classifier_of",
    "conditional_map",
    "dann_lambda",
]

#: What the adversary reads: the classifier output (pivot), its features
#: (DANN), or features ⊗ class probabilities (CDAN).
ADVERSARY_INPUTS = ("output", "features", "conditional")


def dann_lambda(progress: float) -> float:
    """DANN strength ramp ``2 / (1 + exp(-10 p)) - 1`` at training progress ``p`` in [0, 1]."""
    p = min(max(float(progress), 0.0), 1.0)
    return 2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0


def conditional_map(features, probabilities):
    """CDAN's multilinear map: the outer product ``f ⊗ p``, flattened per row.

    Parameters
    ----------
    features : Tensor of shape (n, d)
    probabilities : Tensor of shape (n, k)

    Returns
    -------
    Tensor of shape (n, d * k)
    """
    return (features.unsqueeze(2) * probabilities.unsqueeze(1)).flatten(1)


class DomainClassifier(nn.Module):
    """Binary domain classifier: batch-normalised input, an MLP, one logit.

    The input is batch-normalised (no affine parameters) so that the
    classifier's features cannot hide the domain in directions of small
    variance that an unnormalised head would barely see.

    Parameters
    ----------
    n_inputs : int
    hidden_layers : sequence of int
    activation : str
    """

    def __init__(
        self, n_inputs: int, hidden_layers: Sequence[int] = (64,), activation: str = "relu"
    ):
        super().__init__()
        self.norm = nn.BatchNorm1d(n_inputs, affine=False)
        self.body = MLP(n_inputs, hidden_layers, 1, activation=activation)

    def forward(self, x):
        if self.training and x.shape[0] < 2:
            # batch statistics of one row are undefined: use the running ones
            x = F.batch_norm(x, self.norm.running_mean, self.norm.running_var, training=False)
        else:
            x = self.norm(x)
        return self.body(x).squeeze(1)

    def nll(self, x, domain):
        """Per-row binary cross-entropy of the domain label (0 source, 1 target)."""
        return F.binary_cross_entropy_with_logits(self(x), domain.to(x.dtype), reduction="none")

    def correct(self, x, domain):
        """Per row, 1.0 where the classifier gets the domain right, else 0.0."""
        return ((self(x) > 0) == (domain > 0.5)).to(x.dtype)


class GroupedDomainClassifier(nn.Module):
    """One :class:`DomainClassifier` per group of input columns; losses averaged.

    The input row is ``n_groups`` consecutive blocks of ``group_width``
    values (e.g. one token per detector modality). Each block has its own
    domain classifier, so that every block must be domain-invariant on its
    own: a block that cannot be aligned is pushed to carry nothing, instead
    of being hidden by the others.

    Parameters
    ----------
    n_groups, group_width : int
    hidden_layers : sequence of int
    activation : str
    """

    def __init__(
        self,
        n_groups: int,
        group_width: int,
        hidden_layers: Sequence[int] = (64,),
        activation: str = "relu",
    ):
        super().__init__()
        self.n_groups = int(n_groups)
        self.group_width = int(group_width)
        self.heads = nn.ModuleList(
            DomainClassifier(group_width, hidden_layers, activation) for _ in range(n_groups)
        )

    def _blocks(self, x):
        return x.reshape(x.shape[0], self.n_groups, self.group_width).unbind(1)

    def forward(self, x):
        """Logits, one column per group."""
        return torch.stack([h(b) for h, b in zip(self.heads, self._blocks(x))], dim=1)

    def nll(self, x, domain):
        losses = [h.nll(b, domain) for h, b in zip(self.heads, self._blocks(x))]
        return torch.stack(losses, dim=1).mean(dim=1)

    def correct(self, x, domain):
        hits = [h.correct(b, domain) for h, b in zip(self.heads, self._blocks(x))]
        return torch.stack(hits, dim=1).mean(dim=1)


class AdversarialModel(nn.Module):
    """A classifier and an adversary that reads its output or its features.

    ``forward(x)`` is ``classifier(x)``: what the classifier returns (logits,
    or a tuple whose first entry is the logits). :meth:`adversary_input`
    gives that output together with what the adversary reads.

    Parameters
    ----------
    classifier : nn.Module
        Maps the inputs to its output; for ``adversary_input`` "features" and
        "conditional" it also has ``forward_features(x)`` returning
        ``(output, features)``.
    adversary : nn.Module or None
        Has ``nll(inputs, target)`` returning one value per row (and
        optionally ``correct(inputs, target)``, 1 or 0 per row). ``None``: no adversary (a
        penalty such as DisCo computed from the output alone).
    adversary_input : {"output", "features", "conditional"}
        "output": the class probabilities without the first class (for two
        classes, the signal probability, as in arXiv:1611.01046);
        "features": the classifier's learned features (DANN);
        "conditional": features ⊗ class probabilities (CDAN).
    probabilities : {"softmax", "sigmoid"}
        How the logits become class probabilities: a softmax, or one sigmoid
        per output (one-vs-rest heads; a single output gives ``[1 - p, p]``).
    """

    def __init__(
        self,
        classifier: nn.Module,
        adversary: nn.Module | None,
        adversary_input: str = "output",
        probabilities: str = "softmax",
    ):
        super().__init__()
        if adversary_input not in ADVERSARY_INPUTS:
            raise ValueError(
                f"adversary_input must be one of {ADVERSARY_INPUTS}; got {adversary_input!r}."
            )
        if probabilities not in ("softmax", "sigmoid"):
            raise ValueError(
                f"probabilities must be 'softmax' or 'sigmoid'; got {probabilities!r}."
            )
        self.classifier = classifier
        self.adversary = adversary
        self.adversary_input_kind = adversary_input
        self.probabilities = probabilities

    def forward(self, x):
        return self.classifier(x)

    @staticmethod
    def logits(output):
        """The class logits of a classifier output (the first entry of a tuple)."""
        return output[0] if isinstance(output, (tuple, list)) else output

    def class_probabilities(self, logits):
        if self.probabilities == "softmax":
            return torch.softmax(logits, dim=1)
        p = torch.sigmoid(logits)
        return torch.cat([1.0 - p, p], dim=1) if p.shape[1] == 1 else p

    def adversary_input(self, x):
        """``(classifier output, adversary input)`` of a batch."""
        if self.adversary_input_kind == "output":
            output = self.classifier(x)
            return output, self.class_probabilities(self.logits(output))[:, 1:]
        output, features = self.classifier.forward_features(x)
        if self.adversary_input_kind == "features":
            return output, features
        # CDAN conditions on the predictions as they are, not as a path for the
        # adversary's gradient into the classifier head (arXiv:1705.10667)
        probs = self.class_probabilities(self.logits(output)).detach()
        return output, conditional_map(features, probs)

    def adversary_nll(self, adversary_input, target):
        return self.adversary.nll(adversary_input, target)


def classifier_of(module: nn.Module) -> nn.Module:
    """The classifier of an :class:`AdversarialModel`, any other module as it is."""
    return module.classifier if isinstance(module, AdversarialModel) else module
