# Loupe: `make run` serves the platform, `make test` passes the tests. Both bootstrap a fresh
# clone: the virtualenv, the local services (Postgres primary + replica, Redis, Elasticsearch).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# platform/ holds the configuration package `loupe`; it is put on the path, never imported.
export PYTHONPATH := $(CURDIR)/platform:$(CURDIR)
export DJANGO_SETTINGS_MODULE := loupe.settings

.PHONY: run test bench bench-scale lint format services services-status services-down browser venv clean

run: venv services
	@scripts/run.sh

# The suite in one pytest run, or over TEST_PROCESSES processes then the `serial` tests alone.
TEST_PROCESSES ?= 1

test: venv services browser
	@PY=$(PY) TEST_PROCESSES=$(TEST_PROCESSES) scripts/test.sh $(PYTEST_ARGS)

# Figures, printed; never timed assertions in the test suite.
bench: venv services
	$(PY) bench/provisioning.py
	$(PY) bench/auth.py
	$(PY) bench/imports.py
	$(PY) bench/exports.py
	$(PY) bench/search.py
	$(PY) bench/search_api.py
	$(PY) bench/snapshots.py
	$(PY) bench/load.py
	$(PY) bench/training.py
	$(PY) bench/experiments.py
	$(PY) bench/inference.py
	$(PY) bench/predict.py

# Loupe at scale (bench/scale.py): SCALE_ROWS rows into one tenant (10,000,000), then
# SCALE_TENANTS tenants (1,000). Hours at full size; SCALE_ROWS=100000 SCALE_TENANTS=30
# takes a few minutes.
bench-scale: venv services
	$(PY) bench/scale.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

venv: $(STAMP)

# Training runs on the workers `make run` starts and the tests start, so the one virtualenv
# holds the worker's packages too (torch is several GB; pip's cache keeps reinstalls fast).
# The Python SDK and its `loupe` command (clients/python) go in editable, as its tests use it.
$(STAMP): requirements/base.txt requirements/dev.txt requirements/worker.txt clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt -r requirements/worker.txt
	$(PY) -m pip install -q -e clients/python
	touch $@

services:
	@scripts/services.sh up

browser:
	@scripts/services.sh browser

services-status:
	@scripts/services.sh status

services-down:
	@scripts/services.sh down

clean: services-down
	rm -rf .local $(VENV)
