"""Datasets: a simulated PID sample with its exact Bayes posterior, and loaders
for real public benchmark datasets read from a path (never shipped)."""

from ._anomaly import ANOMALY_SOURCES, make_anomaly_events
from ._decorrelation import JET_FEATURE_NAMES, make_jet_mass_toy, make_pivot_toy
from ._dijet import DIJET_FEATURE_NAMES, make_dijet_resonance
from ._nuclei import make_multimodal_nuclei
from ._pid import FEATURE_NAMES as PID_FEATURE_NAMES
from ._pid import PDG_NAMES, bayes_limit, make_pid_tracks, pdg_charge
from ._real import (
    HIGGSML_FEATURE_NAMES,
    default_data_dir,
    higgsml_full_totals,
    load_higgsml,
    load_lhco_rnd,
    load_magic,
    rescale_weights,
)

__all__ = [
    "ANOMALY_SOURCES",
    "DIJET_FEATURE_NAMES",
    "HIGGSML_FEATURE_NAMES",
    "JET_FEATURE_NAMES",
    "PDG_NAMES",
    "PID_FEATURE_NAMES",
    "bayes_limit",
    "default_data_dir",
    "higgsml_full_totals",
    "load_higgsml",
    "load_lhco_rnd",
    "load_magic",
    "make_anomaly_events",
    "make_dijet_resonance",
    "make_jet_mass_toy",
    "make_multimodal_nuclei",
    "make_pid_tracks",
    "make_pivot_toy",
    "pdg_charge",
    "rescale_weights",
]
