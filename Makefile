# Two entry points for a new user (see README): `make bench` and `make test`.
# Both create .venv with CPU-only torch when it is absent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# CPU-only torch first, so that the package's torch requirement is already met
	$(PY) -m pip install torch==$(TORCH_VERSION)
	$(PY) -m pip install -e ".[onnx,plot,dev]"
	touch $@

.PHONY: venv test test-all bench bench-full lint
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

lint: venv
	$(PY) -m ruff check . && $(PY) -m ruff format --check .
