"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

from skhep_ml.nn.layers import Standardize, activation, feature_scaling
from skhep_ml.nn.mlp import MLP
from skhep_ml.nn.pivot import (
    CategoricalAdversary,
    MixtureDensityNetwork,
    PivotNetwork,
    distance_correlation,
)

__all__ = [
    "MLP",
    "CategoricalAdversary",
    "MixtureDensityNetwork",
    "PivotNetwork",
    "Standardize",
    "activation",
    "distance_correlation",
    "feature_scaling",
]
