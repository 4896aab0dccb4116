"""Pure torch modules of skhep_ml (no scikit-learn in here)."""

from skhep_ml.nn.adversarial import (
    ADVERSARY_INPUTS,
    AdversarialModel,
    DomainClassifier,
    GroupedDomainClassifier,
    classifier_of,
    conditional_map,
    dann_lambda,
)
from skhep_ml.nn.autoencoder import Autoencoder, VariationalAutoencoder, gaussian_kl
from skhep_ml.nn.flow import DensityFlow
from skhep_ml.nn.fse import FSEAttentionNet
from skhep_ml.nn.layers import Standardize, activation, feature_scaling
from skhep_ml.nn.mda import (
    ClusterCNN,
    HitGraphNet,
    MDANet,
    ModalityAttentionFusion,
    hit_graph_adjacency,
)
from skhep_ml.nn.mlp import MLP
from skhep_ml.nn.pivot import (
    CategoricalAdversary,
    MixtureDensityNetwork,
    distance_correlation,
)

__all__ = [
    "ADVERSARY_INPUTS",
    "MLP",
    "AdversarialModel",
    "Autoencoder",
    "CategoricalAdversary",
    "ClusterCNN",
    "DensityFlow",
    "DomainClassifier",
    "FSEAttentionNet",
    "GroupedDomainClassifier",
    "HitGraphNet",
    "MDANet",
    "MixtureDensityNetwork",
    "ModalityAttentionFusion",
    "Standardize",
    "VariationalAutoencoder",
    "activation",
    "classifier_of",
    "conditional_map",
    "dann_lambda",
    "distance_correlation",
    "feature_scaling",
    "gaussian_kl",
    "hit_graph_adjacency",
]
