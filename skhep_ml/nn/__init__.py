"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

from skhep_ml.nn.fse import FSEAttentionNet
from skhep_ml.nn.layers import Standardize, activation, feature_scaling
from skhep_ml.nn.mlp import MLP

__all__ = ["MLP", "FSEAttentionNet", "Standardize", "activation", "feature_scaling"]
