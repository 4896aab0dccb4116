"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

from skhep_ml.nn.layers import Standardize, activation, feature_scaling
from skhep_ml.nn.mlp import MLP

__all__ = ["MLP", "Standardize", "activation", "feature_scaling"]
