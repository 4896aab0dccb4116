"""Autoencoder and variational autoencoder (pure torch).

Both reconstruct their input through a linear output, or through a sigmoid
(``output_activation="sigmoid"``) for inputs scaled to [0, 1]. ``hidden_layers`` lists the widths from the input to the output; the
layer at index ``len(hidden_layers) // 2`` is the bottleneck (the latent space
of the variational autoencoder), e.g. the AMS-02 antihelium network
``[41, 10, 5, 10, 41]`` is ``hidden_layers=(10, 5, 10)`` on 41 inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from skhep_ml.nn.mlp import MLP

__all__ = ["Autoencoder", "VariationalAutoencoder", "gaussian_kl"]


def _split_layers(hidden_layers: Sequence[int]) -> tuple[list[int], int, list[int]]:
    """(encoder widths, bottleneck width, decoder widths)."""
    hidden = [int(h) for h in hidden_layers]
    if not hidden:
        raise ValueError("An autoencoder needs at least one hidden layer (the bottleneck).")
    mid = len(hidden) // 2
    return hidden[:mid], hidden[mid], hidden[mid + 1 :]


class Autoencoder(nn.Module):
    """Fully connected autoencoder.

    Parameters
    ----------
    n_features : int
    hidden_layers : sequence of int
        Widths of the hidden layers, bottleneck in the middle.
    activation : str
        Hidden activation, see :func:`skhep_ml.nn.layers.activation`.
    dropout : float
        Dropout after each hidden activation.
    output_activation : str or None
        ``"sigmoid"`` for inputs in [0, 1]; None (linear) for unbounded inputs.
    """

    def __init__(
        self,
        n_features: int,
        hidden_layers: Sequence[int] = (10, 5, 10),
        activation: str = "relu",
        dropout: float = 0.0,
        output_activation: str | None = "sigmoid",
    ):
        super().__init__()
        _split_layers(hidden_layers)  # validates
        self.net = MLP(
            n_features,
            list(hidden_layers),
            n_features,
            activation=activation,
            dropout=dropout,
            output_activation=output_activation,
        )

    def forward(self, x):
        return self.net(x)


class VariationalAutoencoder(nn.Module):
    """Variational autoencoder: Gaussian encoder, reparameterisation, sigmoid decoder.

    The encoder maps ``x`` to the mean ``mu`` and log-variance ``logvar`` of
    a diagonal Gaussian ``q(z|x)``; in training mode ``z = mu + exp(logvar / 2) * eps``
    with ``eps ~ N(0, 1)`` (reparameterisation), in evaluation mode ``z = mu``
    so that scores are deterministic.

    Parameters
    ----------
    n_features : int
    hidden_layers : sequence of int
        Widths from input to output; the middle one is the latent dimension.
    activation : str
    dropout : float
    output_activation : str or None
        Of the decoder: ``"sigmoid"`` for inputs in [0, 1], None (linear) otherwise.

    Returns (forward)
    -----------------
    reconstruction, mu, logvar : tensors of shape (n, n_features), (n, latent), (n, latent)
    """

    def __init__(
        self,
        n_features: int,
        hidden_layers: Sequence[int] = (10, 5, 10),
        activation: str = "relu",
        dropout: float = 0.0,
        output_activation: str | None = "sigmoid",
    ):
        super().__init__()
        enc, latent, dec = _split_layers(hidden_layers)
        self.latent_dim = latent
        self.encoder = MLP(n_features, enc, 2 * latent, activation=activation, dropout=dropout)
        self.decoder = MLP(
            latent, dec, n_features, activation=activation, dropout=dropout,
            output_activation=output_activation,
        )  # fmt: skip

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        # bounded log-variance: no overflow of exp() early in training
        return mu, logvar.clamp(-20.0, 10.0)

    def forward(self, x):
        mu, logvar = self.encode(x)
        if self.training:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        else:
            z = mu
        return self.decoder(z), mu, logvar


def gaussian_kl(mu, logvar):
    """Per-row KL divergence ``KL(N(mu, exp(logvar)) || N(0, 1))``, summed over latent dims."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=-1)
