"""skhep_ml: scikit-learn-compatible machine learning for particle physics."""

from skhep_ml.autoencoder import AutoencoderAnomalyDetector
from skhep_ml.baselines import NSigmaClassifier, RandomForestBaseline, XGBoostBaseline
from skhep_ml.cwola import CWoLaClassifier
from skhep_ml.dnn import DNNClassifier
from skhep_ml.fse import FSEAttentionClassifier
from skhep_ml.mda import MDAClassifier
from skhep_ml.pivot import PivotClassifier

__version__ = "0.1.0"

__all__ = [
    "AutoencoderAnomalyDetector",
    "CWoLaClassifier",
    "DNNClassifier",
    "FSEAttentionClassifier",
    "MDAClassifier",
    "NSigmaClassifier",
    "PivotClassifier",
    "RandomForestBaseline",
    "XGBoostBaseline",
    "__version__",
]
