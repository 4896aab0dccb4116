"""Sphinx configuration of the skhep_ml documentation (``make docs``)."""

import skhep_ml

project = "skhep_ml"
author = "the skhep_ml developers"
copyright = "2026, the skhep_ml developers"
release = version = skhep_ml.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "CONVENTIONS.md"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# `x` in a docstring is code, as in scikit-learn's documentation
default_role = "literal"
html_theme = "pydata_sphinx_theme"
html_title = "skhep_ml"
html_theme_options = {"navigation_with_keys": False}
# Public docstrings are checked: every public object has one (GL08), every
# parameter is documented (PR01) and no undocumented one is listed (PR02).
numpydoc_validation_checks = {"GL08", "PR01", "PR02"}
# Ready-made scorer objects (sklearn.metrics.make_scorer) carry no docstring of
# their own; the functions they wrap are documented.
numpydoc_validation_exclude = {r"\.(r50|max_sic|best_ams)_scorer$"}
# The gallery: every examples/plot_*.py runs during the build.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "matplotlib_animations": False,
    "remove_config_comments": True,
}
