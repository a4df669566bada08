# Loupe: `make run` serves the platform, `make test` passes the tests. Both bootstrap a fresh
# clone: the virtualenv, the local services (Postgres primary + replica, Redis, Elasticsearch).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# platform/ holds the configuration package `loupe`; it is put on the path, never imported.
export PYTHONPATH := $(CURDIR)/platform:$(CURDIR)
export DJANGO_SETTINGS_MODULE := loupe.settings

.PHONY: run test bench lint format services services-status services-down venv worker-venv clean

run: venv services
	@scripts/run.sh

test: venv services
	$(PY) -m pytest $(PYTEST_ARGS)

# Figures, printed; never timed assertions in the test suite.
bench: venv services
	$(PY) bench/provisioning.py
	$(PY) bench/auth.py
	$(PY) bench/imports.py
	$(PY) bench/search.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

venv: $(STAMP)

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	touch $@

# The GPU/CPU training worker also needs torch (several GB): only when training is wanted.
worker-venv: venv
	$(PY) -m pip install -q -r requirements/worker.txt

services:
	@scripts/services.sh up

services-status:
	@scripts/services.sh status

services-down:
	@scripts/services.sh down

clean: services-down
	rm -rf .local $(VENV)
