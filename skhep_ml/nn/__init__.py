"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

from skhep_ml.nn.autoencoder import Autoencoder, VariationalAutoencoder, gaussian_kl
from skhep_ml.nn.layers import Standardize, activation, feature_scaling
from skhep_ml.nn.mlp import MLP

__all__ = [
    "MLP",
    "Autoencoder",
    "Standardize",
    "VariationalAutoencoder",
    "activation",
    "feature_scaling",
    "gaussian_kl",
]
