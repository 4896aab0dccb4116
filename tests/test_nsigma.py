import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skhep_ml import baselines
from skhep_ml.datasets import make_pid_tracks, pdg_charge
from skhep_ml.nsigma import DEFAULT_SPECIES_SUFFIX, NSigmaClassifier

#: The default suffixes (π, K, p: the columns of make_pid_tracks) and the electron's.
WITH_ELECTRONS = {**DEFAULT_SPECIES_SUFFIX, 11: "e"}


def tracks(**columns):
    """A track table with every nσ column at 10 (far from all hypotheses)."""
    n = len(next(iter(columns.values())))
    data = {"pt": np.full(n, 1.0), "sign": np.ones(n)}
    for suffix in WITH_ELECTRONS.values():
        data[f"nsigma_tpc_{suffix}"] = np.full(n, 10.0)
        data[f"nsigma_tof_{suffix}"] = np.full(n, 10.0)
    data.update({key: np.asarray(value, dtype=float) for key, value in columns.items()})
    return pd.DataFrame(data)


PDG = [11, -11, 211, -211, 321, -321, 2212, -2212]


def fitted(**params):
    X = tracks(pt=[1.0] * 8)
    return NSigmaClassifier(species_suffix=WITH_ELECTRONS, **params).fit(X, PDG)


def column(pid, pdg):
    return list(pid.classes_).index(pdg)


def test_pdg_charge():
    assert [pdg_charge(p) for p in PDG] == [-1, 1, 1, -1, 1, -1, 1, -1]
    assert [pdg_charge(p) for p in (13, -15, 1000010020, 0)] == [-1, 1, 1, 0]
    # the simulated tracks carry the charge of their species
    data = make_pid_tracks(500, random_state=0)
    assert_array_equal(data.data["sign"], [pdg_charge(p) for p in data.target])


def test_defaults_fit_the_tracks_of_make_pid_tracks():
    data = make_pid_tracks(5000, random_state=0)
    with pytest.warns(UserWarning, match=r"\[-11, 11\] have no nσ columns.*never predicted"):
        pid = NSigmaClassifier().fit(data.data, data.target)
    names = list(data.data.columns)
    assert pid.tpc_columns_[column(pid, -321)] == names.index("nsigma_tpc_ka")
    assert pid.tof_columns_[column(pid, 2212)] == names.index("nsigma_tof_pr")
    assert (pid.pt_column_, pid.charge_column_) == (names.index("pt"), names.index("sign"))
    y = data.target.to_numpy()
    hadrons = np.abs(y) != 11
    assert np.mean(pid.predict(data.data)[hadrons] == y[hadrons]) > 0.9


def test_species_without_tpc_columns_get_the_species_hint():
    # make_pid_tracks has no electron columns: a suffix for 11 asks for them
    X = make_pid_tracks(200, random_state=0, return_X_y=True)[0]
    with pytest.raises(ValueError) as error:
        NSigmaClassifier(species_suffix=WITH_ELECTRONS).fit(X, [11, 211] * 100)
    message = str(error.value)
    assert "['nsigma_tpc_e', 'nsigma_tof_e'] not found" in message
    assert (
        "no TPC nσ column for the species |pdg| [11]: leave them out of species_suffix" in message
    )
    assert "nsigma_tof=None" not in message  # dropping the TOF would not help


def test_baselines_re_exports_the_classifier():
    assert baselines.NSigmaClassifier is NSigmaClassifier
    assert baselines.DEFAULT_SPECIES_SUFFIX is DEFAULT_SPECIES_SUFFIX


def test_template_with_explicit_index_is_a_template():
    X = tracks(pt=[1.0, 1.0], nsigma_tpc_pi=[0.1, 9.0], nsigma_tpc_ka=[9.0, 0.1])
    pid = NSigmaClassifier(nsigma_tpc="nsigma_tpc_{0}", nsigma_tof=None).fit(X, [211, 321])
    assert_array_equal(pid.predict(X), [211, 321])


TEMPLATE = r"must be a column-name template with a '\{\}' where the species suffix goes"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"nsigma_tpc": "nsigma_tpc"}, TEMPLATE + r".*no '\{\}' placeholder, so every species"),
        ({"nsigma_tof": "nsigma_tof"}, r"nsigma_tof='nsigma_tof' must be.*no '\{\}' placeholder"),
        ({"nsigma_tpc": "nsigma_{}_{}"}, TEMPLATE + ".*cannot be formatted"),
        ({"nsigma_tpc": "nsigma_{}{0}"}, TEMPLATE + ".*cannot be formatted"),
        ({"nsigma_tpc": "nsigma_{"}, TEMPLATE + ".*cannot be parsed"),
        ({"nsigma_tof": "nsigma_tof_{species}"}, TEMPLATE + r".*placeholder\(s\) \['species'\]"),
        ({"nsigma_tpc": "nsigma_{1}"}, TEMPLATE + r".*placeholder\(s\) \['1'\]"),
        ({"nsigma_tpc": "nsigma_{:d}"}, TEMPLATE + ".*cannot be formatted"),
        ({"nsigma_tpc": {}}, TEMPLATE + ".*names no column"),
        ({"nsigma_tpc": {-211: "nsigma_tpc_pi"}}, "keys .* not all absolute PDG codes"),
        ({"nsigma_tpc": {"pi": "nsigma_tpc_pi"}}, "keys .* not all absolute PDG codes"),
        ({"nsigma_tpc": {True: "nsigma_tpc_pi"}}, "keys .* not all absolute PDG codes"),
        ({"nsigma_tpc": {211: 1.5}}, r"columns \[1.5\] are not all names"),
        ({"nsigma_tpc": {211: -1}}, r"columns \[-1\] are not all names"),
        ({"nsigma_tof": {211: None}}, r"columns \[None\] are not all names"),
        ({"nsigma_tpc": {211: "a", 321: "a"}}, "several species the same column"),
        ({"nsigma_tpc": 3}, "'nsigma_tpc' parameter .* must be"),
        ({"nsigma_tof": "nsigma_tpc_{}"}, "species 211 the same column"),
        ({"species_suffix": {211: "pi", 321: "pi"}}, r"suffix\(es\) \['pi'\]"),
        ({"species_suffix": {-211: "pi"}}, "absolute PDG codes"),
        ({"species_suffix": {211: ""}}, "non-empty str"),
        ({"species_suffix": {211: 3}}, "non-empty str"),
        ({"species_suffix": "pi"}, "'species_suffix' parameter .* must be"),
    ],
)
def test_bad_column_parameters_are_refused(params, match):
    X = tracks(pt=[1.0, 1.0])
    with pytest.raises(ValueError, match=match):
        NSigmaClassifier(**params).fit(X, [211, 321])


def test_pion_is_predicted_with_the_right_charge():
    pid = fitted()
    X = tracks(
        sign=[1, -1],
        nsigma_tpc_pi=[0.4, -0.3],
        nsigma_tof_pi=[0.2, 0.5],
        nsigma_tpc_ka=[2.0, 2.0],
        nsigma_tof_ka=[2.0, 2.0],
    )
    assert_array_equal(pid.predict(X), [211, -211])
    d = pid.distance(X)
    assert_allclose(d[0, column(pid, 211)], np.hypot(0.4, 0.2), rtol=1e-6)
    assert np.isinf(d[0, column(pid, -211)])  # wrong charge
    assert np.isinf(d[1, column(pid, 211)])
    assert_allclose(d[0, column(pid, 321)], np.hypot(2.0, 2.0), rtol=1e-6)


def test_electron_charge_is_opposite_to_its_pdg_sign():
    pid = fitted()
    X = tracks(sign=[-1, 1], nsigma_tpc_e=[0.1, 0.1], nsigma_tof_e=[0.1, 0.1])
    assert_array_equal(pid.predict(X), [11, -11])


def test_tof_is_used_only_above_pt_switch():
    pid = fitted(pt_switch=0.5)
    X = tracks(pt=[0.3, 0.49, 0.5, 2.0], nsigma_tpc_pi=[1.0] * 4, nsigma_tof_pi=[10.0] * 4)
    d = pid.distance(X)[:, column(pid, 211)]
    assert_allclose(d, [1.0, 1.0, np.hypot(1, 10), np.hypot(1, 10)], rtol=1e-6)
    assert_array_equal(pid.select(X)[:, column(pid, 211)], [True, True, False, False])


def test_missing_tof_falls_back_to_tpc():
    pid = fitted()
    X = tracks(pt=[2.0, 2.0], nsigma_tpc_ka=[-1.5, -1.5], nsigma_tof_ka=[np.nan, 15.0])
    d = pid.distance(X)[:, column(pid, 321)]
    assert_allclose(d, [1.5, np.hypot(1.5, 15.0)], rtol=1e-6)
    # the other positive hypotheses are at 10√2 ≈ 14.1 < 15.1
    assert_array_equal(pid.predict(X) == 321, [True, False])


def test_nan_tpc_means_no_hypothesis_and_uniform_proba():
    pid = fitted()
    X = tracks(nsigma_tpc_pi=[np.nan])
    assert np.isinf(pid.distance(X)[0, column(pid, 211)])
    everything_missing = tracks(sign=[np.nan])  # no charge: nothing compatible
    assert np.isinf(pid.distance(everything_missing)).all()
    assert_allclose(pid.predict_proba(everything_missing), np.full((1, 8), 1 / 8))


def test_select_cut_boundaries():
    pid = fitted(cut=3.0)
    X = tracks(pt=[0.2, 0.2, 0.2, 0.2], nsigma_tpc_pr=[2.99, 3.0, -3.0, 3.01])
    assert_array_equal(pid.select(X)[:, column(pid, 2212)], [True, False, False, False])
    # TPC ⊕ TOF: 3-4-5
    pid = fitted(cut=5.0)
    X = tracks(pt=[1.0, 1.0], nsigma_tpc_pr=[3.0, 3.0], nsigma_tof_pr=[4.0, 3.99])
    assert_array_equal(pid.select(X)[:, column(pid, 2212)], [False, True])
    assert pid.select(X).shape == (2, 8)


def test_a_track_may_pass_several_or_no_selection():
    pid = fitted()
    X = tracks(nsigma_tpc_pi=[1.0, 9.0], nsigma_tof_pi=[1.0, 9.0], nsigma_tpc_ka=[2.0, 9.0],
               nsigma_tof_ka=[np.nan, 9.0])  # fmt: skip
    selected = pid.select(X)
    assert selected[0].sum() == 2
    assert selected[1].sum() == 0


def test_scores_are_consistent():
    pid = fitted()
    rng = np.random.RandomState(0)
    X = tracks(
        sign=rng.choice([-1.0, 1.0], 50),
        pt=rng.uniform(0.1, 3, 50),
        nsigma_tpc_pi=rng.normal(0, 3, 50),
        nsigma_tof_pi=np.where(rng.rand(50) < 0.3, np.nan, rng.normal(0, 3, 50)),
        nsigma_tpc_ka=rng.normal(0, 3, 50),
    )
    proba = pid.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    d = pid.distance(X)
    assert_array_equal(pid.predict(X), pid.classes_[np.argmax(proba, axis=1)])
    assert_array_equal(pid.decision_function(X), -d)
    finite = np.isfinite(d)
    expected = np.where(finite, np.exp(-0.5 * np.where(finite, d, 0) ** 2), 0.0)
    assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), atol=1e-12)


def test_binary_decision_function_follows_sklearn_convention():
    X = tracks(pt=[0.2] * 3, nsigma_tpc_pi=[0.5, 2.0, np.nan], nsigma_tpc_ka=[2.0, 0.5, np.nan])
    pid = NSigmaClassifier().fit(X, [211, 321, 211])
    score = pid.decision_function(X)
    assert score.shape == (3,)
    assert_allclose(score, [-1.5, 1.5, 0.0])  # d(pi) - d(K); both inf -> 0
    assert_array_equal(pid.predict(X), pid.classes_[(score > 0).astype(int)])


def test_missing_columns_are_named():
    X = tracks(pt=[1.0, 1.0]).drop(columns=["nsigma_tof_ka", "pt"])
    with pytest.raises(ValueError) as error:
        NSigmaClassifier().fit(X, [321, 211])
    message = str(error.value)
    assert "['nsigma_tof_ka', 'pt'] not found" in message
    assert "no TOF nσ column for the species |pdg| [321]: set nsigma_tof=None" in message
    assert "TPC nσ column" not in message
    pid = NSigmaClassifier(nsigma_tof=None).fit(X, [321, 211])
    assert_array_equal(pid.tof_columns_, [-1, -1])
    assert pid.pt_column_ == -1


def test_numpy_input_needs_positions():
    X = tracks(pt=[1.0, 1.0], sign=[1.0, -1.0], nsigma_tpc_pi=[0.1, 0.1])
    with pytest.raises(ValueError, match="no column names"):
        NSigmaClassifier().fit(X.to_numpy(), [211, -211])
    names = list(X.columns)
    pid = NSigmaClassifier(
        nsigma_tpc={211: names.index("nsigma_tpc_pi"), 321: names.index("nsigma_tpc_ka")},
        nsigma_tof={211: names.index("nsigma_tof_pi")},
        pt=names.index("pt"),
        charge=names.index("sign"),
    ).fit(X.to_numpy(), [211, -211])
    assert_array_equal(pid.predict(X.to_numpy()), [211, -211])
    assert_allclose(pid.distance(X.to_numpy()).min(axis=1), np.hypot(0.1, 10))


def test_unknown_labels_are_never_predicted():
    X = tracks(pt=[1.0, 1.0, 1.0], nsigma_tpc_pi=[0.1, 0.1, 0.1], nsigma_tof_pi=[0.1] * 3)
    with pytest.warns(UserWarning, match="never predicted"):
        pid = NSigmaClassifier().fit(X, [211, 1000010020, 999])
    assert np.isnan(pid.class_charge_[column(pid, 999)])
    assert set(pid.predict(tracks(pt=np.linspace(0.1, 3, 20)))) <= {211}
    with pytest.warns(UserWarning, match="uniform"):
        constant = NSigmaClassifier().fit(np.zeros((4, 2)), [0, 1, 2, 2])
    assert_allclose(constant.predict_proba(np.ones((3, 2))), np.full((3, 3), 1 / 3))


def test_custom_species_suffix_is_not_mutated():
    suffixes = {13: "mu", 211: "pi"}
    X = tracks(sign=[1.0, 1.0], nsigma_tpc_pi=[5.0, 0.1], nsigma_tof_pi=[5.0, 0.1])
    X["nsigma_tpc_mu"] = [0.1, 5.0]
    X["nsigma_tof_mu"] = [0.1, 5.0]
    pid = NSigmaClassifier(species_suffix=suffixes).fit(X, [-13, 211])
    assert pid.species_suffix is suffixes
    assert suffixes == {13: "mu", 211: "pi"}
    assert_array_equal(pid.predict(X), [-13, 211])  # mu+ is -13
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NSigmaClassifier(species_suffix=suffixes).fit(X, [-13, 211])


def test_sample_weight_is_accepted_and_unused():
    X = tracks(pt=[1.0, 1.0], nsigma_tpc_pi=[0.1, 0.1])
    a = NSigmaClassifier().fit(X, [211, 321]).predict_proba(X)
    b = NSigmaClassifier().fit(X, [211, 321], sample_weight=[1.0, 5.0]).predict_proba(X)
    assert_array_equal(a, b)


def test_missing_column_is_named_once_for_both_charges():
    X = tracks(pt=[1.0, 1.0]).drop(columns=["nsigma_tpc_pr"])
    with pytest.raises(ValueError, match=r"column\(s\) \['nsigma_tpc_pr'\] not found"):
        NSigmaClassifier().fit(X, [2212, -2212])
