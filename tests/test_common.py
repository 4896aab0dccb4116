"""scikit-learn's estimator checks on every public estimator of skhep_ml."""

import inspect

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhep_ml.estimator_checks import check_instances, expected_failed_checks

ESTIMATORS = check_instances()


def test_every_public_estimator_is_checked():
    assert {type(e).__name__ for e in ESTIMATORS} >= {
        "AnomalyScoreEnsemble",
        "AutoencoderAnomalyDetector",
        "CWoLaClassifier",
        "DNNClassifier",
        "FSEAttentionClassifier",
        "FlowAnomalyDetector",
        "MDAClassifier",
        "NSigmaClassifier",
        "PivotClassifier",
        "RandomForestBaseline",
        "XGBoostBaseline",
    }


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_expected_failures_have_reasons(estimator):
    for check, reason in expected_failed_checks(estimator).items():
        assert check.startswith("check_")
        assert len(reason) > 30, f"{check}: give a reason a reviewer would accept"


SHARED = [
    "max_epochs",
    "batch_size",
    "lr",
    "optimizer",
    "weight_decay",
    "lr_schedule",
    "lr_decay",
    "validation_fraction",
    "early_stopping",
    "n_iter_no_change",
    "random_state",
    "device",
    "verbose",
    "warm_start",
]


@pytest.mark.parametrize(
    "estimator",
    [e for e in ESTIMATORS if "max_epochs" in e.get_params()],
    ids=lambda e: type(e).__name__,
)
def test_shared_training_parameters_are_documented_with_their_defaults(estimator):
    doc = type(estimator).__doc__
    defaults = inspect.signature(type(estimator).__init__).parameters
    for name in SHARED:
        default = defaults[name].default
        shown = repr(default) if isinstance(default, str) else str(default)
        lines = [line for line in doc.splitlines() if line.startswith(f"    {name} : ")]
        assert len(lines) == 1 and lines[0].endswith(f"default={shown}"), (name, lines)
    assert "{training_parameters}" not in doc
