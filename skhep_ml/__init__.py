"""skhep_ml: scikit-learn-compatible machine learning for particle physics."""

from skhep_ml.baselines import NSigmaClassifier, RandomForestBaseline, XGBoostBaseline
from skhep_ml.dnn import DNNClassifier
from skhep_ml.pivot import PivotClassifier

__version__ = "0.1.0"

__all__ = [
    "DNNClassifier",
    "NSigmaClassifier",
    "PivotClassifier",
    "RandomForestBaseline",
    "XGBoostBaseline",
    "__version__",
]
