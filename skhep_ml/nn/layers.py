"""Small building blocks shared by the networks (pure torch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["Standardize", "activation", "feature_scaling"]

#: Rows per block of the statistics in :func:`feature_scaling`.
_BLOCK = 65_536

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


def activation(name: str) -> nn.Module:
    """A fresh activation module by name ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh")."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; choose from {sorted(_ACTIVATIONS)}"
        ) from None


def feature_scaling(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation from the present (non-NaN) values.

    A feature that is constant, or never present, gets mean 0 (if absent) and
    scale 1, so that standardisation never divides by zero. "Constant" is
    relative: a spread below float32 resolution of the mean (``std <= 1e-6
    |mean|``), so that a feature on a tiny scale (decay times of 1e-13 s)
    is standardised like any other.
    """
    X = np.asarray(X)
    # two passes over blocks of rows: float64 temporaries of one block, not of all X
    blocks = [slice(start, start + _BLOCK) for start in range(0, X.shape[0], _BLOCK)]
    count = np.zeros(X.shape[1], dtype=np.int64)
    total = np.zeros(X.shape[1])
    for sl in blocks:
        block = np.asarray(X[sl], dtype=np.float64)
        present = ~np.isnan(block)
        count += present.sum(axis=0)
        total += np.where(present, block, 0.0).sum(axis=0)
    mean = np.divide(total, count, out=np.zeros(X.shape[1]), where=count > 0)
    squares = np.zeros(X.shape[1])
    for sl in blocks:
        block = np.asarray(X[sl], dtype=np.float64)
        squares += (np.where(np.isnan(block), 0.0, block - mean) ** 2).sum(axis=0)
    var = np.divide(squares, count, out=np.zeros(X.shape[1]), where=count > 0)
    std = np.sqrt(var)
    constant = ~(std > np.maximum(1e-6 * np.abs(mean), np.finfo(np.float32).tiny))
    std[constant] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


class Standardize(nn.Module):
    """``(x - mean) / std`` with the statistics stored as buffers.

    Part of the network, so that a saved or exported model takes raw inputs.
    NaN stays NaN (missing stays missing).
    """

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.asarray(std), dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std
