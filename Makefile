# Two entry points for a new user (see README): `make bench` and `make test`.
# Both create .venv with CPU-only torch when it is absent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
EXTRAS ?= onnx plot root dask dev

# pyproject.toml's requirements and EXTRAS, less xgboost (installed as xgboost-cpu)
define REQUIREMENTS
import sys, tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = p["dependencies"] + [r for e in sys.argv[1:] for r in p["optional-dependencies"][e]]
print("\n".join(r for r in reqs if not r.replace("-", "_").startswith("xgboost")))
endef
export REQUIREMENTS

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# CPU-only builds: torch first, so that the package's torch requirement is
	# already met; xgboost-cpu (same `xgboost` module, without the 469 MB NCCL
	# library of the CUDA wheel), so the project goes in with --no-deps and its
	# other requirements are read from pyproject.toml
	$(PY) -m pip install torch==$(TORCH_VERSION) xgboost-cpu
	$(PY) -m pip install --no-deps -e .
	$(PY) -c "$$REQUIREMENTS" $(EXTRAS) > $(VENV)/requirements.txt
	$(PY) -m pip install -r $(VENV)/requirements.txt
	touch $@

.PHONY: venv test test-all bench bench-full lint docs
venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest -n 2

test-all: venv
	$(PY) -m pytest -n 2 -m ""

# quick runs write to benchmarks/results/quick/, apart from the full-size results
bench: venv
	$(PY) -m benchmarks pid --quick --seeds 0 --out-dir benchmarks/results/quick
	$(PY) -m benchmarks fse_speed --quick --out-dir benchmarks/results/quick

bench-full: venv
	$(PY) -m benchmarks all

# the site, warnings as errors; the `docs` extra is added to the venv on demand
docs: venv
	$(PY) -c "$$REQUIREMENTS" docs > $(VENV)/requirements-docs.txt
	$(PY) -m pip install -q -r $(VENV)/requirements-docs.txt
	$(PY) -m sphinx -b html -W --keep-going docs docs/_build/html

lint: venv
	$(PY) -m ruff check . && $(PY) -m ruff format --check .
