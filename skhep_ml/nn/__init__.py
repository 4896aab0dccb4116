"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

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

__all__ = [
    "MLP",
    "ClusterCNN",
    "GradientReversal",
    "HitGraphNet",
    "MDANet",
    "ModalityAttentionFusion",
    "Standardize",
    "activation",
    "dann_lambda",
    "feature_scaling",
    "hit_graph_adjacency",
]
