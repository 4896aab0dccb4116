"""skhep_ml: scikit-learn-compatible machine learning for particle physics."""

from skhep_ml.dnn import DNNClassifier
from skhep_ml.mda import MDAClassifier

__version__ = "0.1.0"

__all__ = ["DNNClassifier", "MDAClassifier", "__version__"]
