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
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# `x` in a docstring is code, as in scikit-learn's documentation
default_role = "literal"
html_theme = "pydata_sphinx_theme"
html_title = "skhep_ml"
html_theme_options = {"navigation_with_keys": False}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "matplotlib_animations": False,
    "remove_config_comments": True,
}
