"""Sphinx configuration of the skhep_ml documentation (``make docs``)."""

import shutil
import subprocess
import sys
from pathlib import Path

import skhep_ml

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "skhep_ml"
author = "the skhep_ml developers"
copyright = "2026, the skhep_ml developers"
release = version = skhep_ml.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "CONVENTIONS.md", "benchmarks_intro.md"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
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


# The benchmark reports: copied from benchmarks/results/ at every build (never
# edited here), with the headline table that `python -m benchmarks readme`
# builds from the stored results.
REPORTS = DOCS / "benchmark_reports"


def _benchmark_reports(app):
    results = ROOT / "benchmarks" / "results"
    shutil.rmtree(REPORTS, ignore_errors=True)
    REPORTS.mkdir()
    tasks = []
    for md in sorted(results.glob("*.md")):
        shutil.copy(md, REPORTS / md.name)
        tasks.append(md.stem)
    for png in results.glob("*.png"):
        shutil.copy(png, REPORTS / png.name)
    table = subprocess.run(
        [sys.executable, "-m", "benchmarks", "readme"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    intro = (DOCS / "benchmarks_intro.md").read_text()
    toctree = "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(tasks) + "\n```\n"
    (REPORTS / "index.md").write_text(intro + "\n" + table + "\n## The reports\n\n" + toctree)


def setup(app):
    app.connect("builder-inited", _benchmark_reports)
