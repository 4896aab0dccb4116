"""
Mass decorrelation: adversary versus DisCo
==========================================

A jet tagger that learns the jet mass sculpts the background mass spectrum:
after a cut, the QCD background looks like a peak at the W mass. The
:class:`~skhep_ml.PivotClassifier` trains a classifier that is independent of
a protected column of ``X`` (here the jet mass), which it does not see as an
input: either with an adversary that tries to predict the mass from the
classifier's output (``method="adversary"``, "learning to pivot") or with a
distance-correlation penalty (``method="disco"``). The sculpting is drawn with
:class:`~skhep_ml.plotting.MassSculptingDisplay`.
"""

# %%
# Jets, and a pipeline that does not scale the mass
# -------------------------------------------------
# ``protected="mass"`` names the column, so the estimator must receive a
# DataFrame: ``set_output(transform="pandas")`` makes the scaler return one.
# The mass column is passed through unscaled (``remainder="passthrough"``),
# so that the protected variable and the plots stay in GeV.
import matplotlib.pyplot as plt
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhep_ml import DNNClassifier, PivotClassifier
from skhep_ml.datasets import make_jet_mass_toy
from skhep_ml.plotting import MassSculptingDisplay

X, y = make_jet_mass_toy(6000, random_state=0)
print(list(X.columns))
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)
features = [c for c in X.columns if c != "mass"]


def scaler():
    return ColumnTransformer(
        [("scale", StandardScaler(), features)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")


common = dict(hidden_layers=(32, 32), max_epochs=10, random_state=0)
models = {
    "adversary (λ=10)": make_pipeline(
        scaler(),
        PivotClassifier(
            protected="mass", method="adversary", lambda_=10.0,
            pretrain_epochs=3, adversary_pretrain_epochs=3, **common,
        ),
    ),
    "DisCo (λ=2)": make_pipeline(
        scaler(), PivotClassifier(protected="mass", method="disco", lambda_=2.0, **common)
    ),
}  # fmt: skip
for model in models.values():
    model.fit(X_train, y_train)

# %%
# For comparison, a plain network that also sees the mass: the most sculpting.
plain = make_pipeline(StandardScaler(), DNNClassifier(hidden_layers=(32, 32), max_epochs=10,
                                                      random_state=0))  # fmt: skip
plain.fit(X_train, y_train)
models = {"no decorrelation": plain, **models}

# %%
# Background mass spectrum after cuts
# -----------------------------------
# Each panel shows the QCD mass spectrum before and after cuts that keep 50,
# 70 and 90 % of the signal; the legend gives the Jensen-Shannon divergence
# between passing and failing background (smaller = less sculpting).
fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    MassSculptingDisplay.from_estimator(
        model,
        X_test,
        y_test,
        mass="mass",
        bins=25,
        signal_efficiencies=(0.5, 0.7, 0.9),
        name=name,
        xlabel="jet mass [GeV]",
        ax=ax,
    )
    ax.set_title(name)
plt.tight_layout()
