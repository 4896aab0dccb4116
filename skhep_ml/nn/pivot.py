"""Torch pieces of the pivot / decorrelation methods (pure torch).

- :class:`MixtureDensityNetwork`: the adversary of Louppe, Kagan & Cranmer
  (arXiv:1611.01046) for a continuous protected variable: a Gaussian mixture
  ``p(z | f(x))`` whose parameters a small network computes.
- :class:`CategoricalAdversary`: the same for a discrete protected variable
  (softmax over its values).
- :func:`distance_correlation`: the weighted squared distance correlation of
  the DisCo penalty (Kasieczka & Shih, arXiv:2001.05310).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from skhep_ml.nn.mlp import MLP

__all__ = [
    "CategoricalAdversary",
    "MixtureDensityNetwork",
    "distance_correlation",
]

_LOG_2PI = math.log(2.0 * math.pi)


class MixtureDensityNetwork(nn.Module):
    """Conditional Gaussian mixture ``p(z | x)`` (Bishop's mixture density network).

    ``z`` is standardised with ``z_mean`` and ``z_std`` before the density is
    evaluated, so the negative log-likelihood is that of the standardised
    variable (a constant shift of the one of ``z`` itself).

    Parameters
    ----------
    n_inputs : int
        Width of the conditioning input (the classifier output).
    n_components : int
        Number of Gaussians.
    hidden_layers : sequence of int
    activation : str
    z_mean, z_std : float
        Standardisation of the protected variable.
    """

    def __init__(
        self,
        n_inputs: int,
        n_components: int = 5,
        hidden_layers: Sequence[int] = (32, 32),
        activation: str = "relu",
        z_mean: float = 0.0,
        z_std: float = 1.0,
    ):
        super().__init__()
        self.n_components = int(n_components)
        self.body = MLP(n_inputs, hidden_layers, 3 * self.n_components, activation=activation)
        self.register_buffer("z_mean", torch.tensor(float(z_mean)))
        self.register_buffer("z_std", torch.tensor(float(z_std)))

    def forward(self, x):
        """Mixture parameters: log weights, means and log standard deviations."""
        out = self.body(x)
        logit_pi, mu, log_sigma = out.split(self.n_components, dim=1)
        return F.log_softmax(logit_pi, dim=1), mu, log_sigma.clamp(-7.0, 7.0)

    def nll(self, x, z):
        """Per-row negative log-likelihood of (standardised) ``z`` given ``x``."""
        log_pi, mu, log_sigma = self(x)
        zs = ((z.to(mu.dtype) - self.z_mean) / self.z_std).reshape(-1, 1)
        log_norm = -0.5 * ((zs - mu) / log_sigma.exp()) ** 2 - log_sigma - 0.5 * _LOG_2PI
        return -torch.logsumexp(log_pi + log_norm, dim=1)


class CategoricalAdversary(nn.Module):
    """Softmax classifier ``p(z | x)`` over the values of a discrete ``z``.

    Parameters
    ----------
    n_inputs : int
    n_values : int
        Number of distinct values of ``z``; ``z`` is passed as their index.
    hidden_layers : sequence of int
    activation : str
    """

    def __init__(
        self,
        n_inputs: int,
        n_values: int,
        hidden_layers: Sequence[int] = (32, 32),
        activation: str = "relu",
    ):
        super().__init__()
        self.body = MLP(n_inputs, hidden_layers, n_values, activation=activation)

    def forward(self, x):
        return self.body(x)

    def nll(self, x, z):
        """Per-row cross-entropy of the value index ``z``."""
        return F.cross_entropy(self(x), z.long(), reduction="none")


def _double_centred(d, p):
    """Weighted double centring of a distance matrix with row weights ``p``."""
    row = d @ p
    return d - row[:, None] - row[None, :] + p @ row


def distance_correlation(x, y, weight=None):
    """Weighted squared distance correlation ``dCor²(x, y)`` (differentiable).

    With weights ``p_i = w_i / sum(w)``, distances ``a_ij = |x_i - x_j|`` are
    double centred, ``A_ij = a_ij - a_i. - a_.j + a_..`` (weighted means), and
    ``dCov²(x, y) = sum_ij p_i p_j A_ij B_ij``;
    ``dCor² = dCov²(x, y) / sqrt(dCov²(x, x) dCov²(y, y))``, which is 0 for
    independent variables (in the large-sample limit) and 1 for ``y = a x + b``.
    Unit weights give the usual V-statistic. Cost and memory grow as ``n²``:
    use it per minibatch.

    Parameters
    ----------
    x, y : Tensor of shape (n,)
    weight : Tensor of shape (n,) or None
        Row weights; their sum must be positive (otherwise 0 is returned).

    Returns
    -------
    Tensor
        A scalar in ``[0, 1]`` for non-negative weights.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(0, 1, 50)
    >>> round(float(distance_correlation(x, 3 * x + 1)), 4)
    1.0
    >>> g = torch.Generator().manual_seed(0)
    >>> a, b = torch.randn(2000, generator=g), torch.randn(2000, generator=g)
    >>> float(distance_correlation(a, b)) < 0.01
    True
    """
    x = x.reshape(-1)
    y = y.reshape(-1).to(x.dtype)
    if weight is None:
        weight = torch.ones_like(x)
    weight = weight.reshape(-1).to(x.dtype)
    total = weight.sum()
    if x.numel() < 2 or total <= 0:
        return x.sum() * 0.0
    p = weight / total
    a = _double_centred((x[:, None] - x[None, :]).abs(), p)
    b = _double_centred((y[:, None] - y[None, :]).abs(), p)

    def dcov2(u, v):
        return p @ (u * v) @ p

    denom = torch.sqrt(dcov2(a, a) * dcov2(b, b))
    return dcov2(a, b) / denom.clamp_min(torch.finfo(x.dtype).tiny)
