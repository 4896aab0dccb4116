"""Plain feed-forward classifier on the shared neural base."""

from __future__ import annotations

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from skhep_ml._base import DomainAdaptiveClassifier, fill_training_doc, store_params
from skhep_ml.nn import MLP, feature_scaling
from skhep_ml.utils import check_layer_widths

__all__ = ["DNNClassifier"]


@fill_training_doc
class DNNClassifier(DomainAdaptiveClassifier):
    """Fully connected neural-network classifier (cross-entropy, softmax output).

    The seeds' FCNN is ``hidden_layers=(37, 15, 10, 4)``, ReLU, dropout 0.1,
    Adam 5e-4; the imputation baseline network of the ALICE missing-data study
    is ``hidden_layers=(64, 32, 16), activation="leaky_relu"``. Inputs are
    standardised inside the network with statistics learned in ``fit``. NaN
    is refused: combine with an imputer in a ``Pipeline`` or use a method that
    handles missing values (``FSEAttentionClassifier``, ``XGBoostBaseline``).

    Trained on simulation and applied to data, it can adapt to the data with
    ``domain_adaptation="dann"`` or ``"cdan"``: the unlabelled data rows
    (``y = -1``) train a domain classifier on the last hidden layer, which
    the network learns to fool.

    Parameters
    ----------
    hidden_layers : tuple of int, default=(64, 32, 16)
        Widths of the hidden layers.
    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"}, default="relu"
    dropout : float, default=0.1
    class_weight : dict, "balanced" or None, default=None
        Weight of each class (see ``sample_weight`` in ``fit``).
    {domain_parameters}
    {training_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the torch module.
    history_ : skorch.callbacks.History
        Per-epoch ``train_loss``, ``valid_loss``, duration; with domain
        adaptation also the label and domain losses and the domain
        classifier's accuracy on training and validation rows
        (``{train,valid}_loss_clf``, ``{train,valid}_loss_domain``,
        ``{train,valid}_domain_acc``), ``domain_lambda``, ``lr_domain``, and
        in the last epoch ``domain_probe_auc``.
    domain_adapted_ : bool
        Whether a domain classifier was trained (target rows were given).
    domain_probe_auc_ : float
        After a domain-adapted fit: the cross-validated AUC of a fresh
        logistic regression telling the domains apart from the learned
        features of the validation rows (training rows without a validation
        split); 0.5 means aligned.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        The epoch whose weights the model holds (early stopping restores it).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skhep_ml import DNNClassifier
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> clf = DNNClassifier(hidden_layers=(16,), max_epochs=20, lr=1e-2, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.85
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **DomainAdaptiveClassifier._parameter_constraints,
        "hidden_layers": [tuple, list],
        "activation": [StrOptions({"relu", "leaky_relu", "elu", "gelu", "silu", "tanh"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layers=(64, 32, 16),
        activation="relu",
        dropout=0.1,
        *,
        domain_adaptation=None,
        domain_lambda=1.0,
        domain_schedule="dann",
        domain_lr_ratio=10.0,
        domain_steps=1,
        domain_hidden=(64,),
        max_epochs=30,
        batch_size=64,
        lr=5e-4,
        optimizer="adam",
        weight_decay=0.0,
        lr_schedule="exponential",
        lr_decay=0.98,
        validation_fraction=0.1,
        early_stopping=True,
        n_iter_no_change=10,
        class_weight=None,
        random_state=None,
        device="cpu",
        verbose="auto",
        warm_start=False,
    ):
        store_params(self, locals())

    def _build_classifier(self, X, y):
        check_layer_widths(self.hidden_layers, "hidden_layers")
        mean, std = feature_scaling(X)
        return MLP(
            X.shape[1],
            self.hidden_layers,
            len(self.classes_),
            activation=self.activation,
            dropout=self.dropout,
            mean=mean,
            std=std,
        )

    def _build_criterion(self):
        return nn.CrossEntropyLoss(reduction="none")
