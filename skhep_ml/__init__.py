"""skhep_ml: scikit-learn-compatible machine learning for particle physics.

The estimators are imported on first use (``from skhep_ml import
DNNClassifier`` imports torch then), so that ``import skhep_ml`` and the
light modules (``skhep_ml.metrics``, ``skhep_ml.datasets``) stay fast.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_ESTIMATORS = {
    "AnomalyScoreEnsemble": "skhep_ml.ensemble",
    "AutoencoderAnomalyDetector": "skhep_ml.autoencoder",
    "CWoLaClassifier": "skhep_ml.cwola",
    "DNNClassifier": "skhep_ml.dnn",
    "FSEAttentionClassifier": "skhep_ml.fse",
    "FlowAnomalyDetector": "skhep_ml.flow",
    "MDAClassifier": "skhep_ml.mda",
    "NSigmaClassifier": "skhep_ml.nsigma",
    "PivotClassifier": "skhep_ml.pivot",
    "RandomForestBaseline": "skhep_ml.baselines",
    "XGBoostBaseline": "skhep_ml.baselines",
}

__all__ = [*sorted(_ESTIMATORS), "__version__"]


def __getattr__(name):
    if name in _ESTIMATORS:
        value = getattr(importlib.import_module(_ESTIMATORS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'skhep_ml' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
