"""Feed-forward network (pure torch)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from skhep_ml.nn.layers import Standardize
from skhep_ml.nn.layers import activation as make_activation

__all__ = ["MLP"]


class MLP(nn.Module):
    """Fully connected network: [Standardize] -> (Linear, activation, Dropout)* -> Linear.

    Parameters
    ----------
    n_inputs : int
    hidden_layers : sequence of int
        Width of each hidden layer; empty gives a linear model.
    n_outputs : int
    activation : str
        Name understood by :func:`skhep_ml.nn.layers.activation`.
    dropout : float
        Dropout probability after each hidden activation.
    mean, std : array-like or None
        Input standardisation stored in the network (None: no standardisation).
    output_activation : str or None
        Applied to the output (e.g. "sigmoid" for an autoencoder on [0, 1]).
    """

    def __init__(
        self,
        n_inputs: int,
        hidden_layers: Sequence[int],
        n_outputs: int,
        activation: str = "relu",
        dropout: float = 0.0,
        mean=None,
        std=None,
        output_activation: str | None = None,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        if mean is not None:
            layers.append(Standardize(mean, std))
        width = n_inputs
        for hidden in hidden_layers:
            layers += [nn.Linear(width, hidden), make_activation(activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, n_outputs))
        if output_activation == "sigmoid":
            layers.append(nn.Sigmoid())
        elif output_activation is not None:
            layers.append(make_activation(output_activation))
        self.net = nn.Sequential(*layers)
        self._n_body = len(layers) - (2 if output_activation is not None else 1)

    def forward(self, x):
        return self.net(x)

    def forward_features(self, x):
        """``(output, features)``: the features are the last hidden layer's activations."""
        features = self.net[: self._n_body](x)
        return self.net[self._n_body :](features), features
