"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

from skhep_ml.nn.autoencoder import Autoencoder, VariationalAutoencoder, gaussian_kl
from skhep_ml.nn.flow import DensityFlow
from skhep_ml.nn.fse import FSEAttentionNet
from skhep_ml.nn.layers import Standardize, activation, feature_scaling
from skhep_ml.nn.mda import (
    ClusterCNN,
    GradientReversal,
    HitGraphNet,
    MDANet,
    ModalityAttentionFusion,
    dann_lambda,
    hit_graph_adjacency,
)
from skhep_ml.nn.mlp import MLP
from skhep_ml.nn.pivot import (
    CategoricalAdversary,
    MixtureDensityNetwork,
    PivotNetwork,
    distance_correlation,
)

__all__ = [
    "MLP",
    "Autoencoder",
    "CategoricalAdversary",
    "ClusterCNN",
    "DensityFlow",
    "FSEAttentionNet",
    "GradientReversal",
    "HitGraphNet",
    "MDANet",
    "MixtureDensityNetwork",
    "ModalityAttentionFusion",
    "PivotNetwork",
    "Standardize",
    "VariationalAutoencoder",
    "activation",
    "dann_lambda",
    "distance_correlation",
    "feature_scaling",
    "gaussian_kl",
    "hit_graph_adjacency",
]
