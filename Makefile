# The two commands: `make run` (install, migrate, demo data, serve) and `make test` (install, whole suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8000
# Two processes (pytest-xdist): the machines have 2 cores; each process gets its own test database.
PYTEST_ARGS ?= -n 2 --durations=10

.PHONY: run test install install-dev migrate demo serve lint check system-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run pip only when the pinned requirements change.
$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PIP) install -r requirements.txt 2> >(grep -v "is ignored: it is neither" >&2)
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install -r requirements-dev.txt 2> >(grep -v "is ignored: it is neither" >&2)
	touch $(VENV)/.runtime $@

.env:
	cp .env.example .env

install: $(VENV)/.runtime .env
install-dev: $(VENV)/.dev .env

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --compile

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

run: demo
	@echo "Portail : http://$(HOST):$(PORT)/  (administration : http://$(HOST):$(PORT)/admin/)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Debian packages for PDF rendering and browser tests; installed only when missing and when we can (root).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	for p in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installation des paquets Debian :$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "Paquets Debian absents (non root, tests navigateur ignorés) :$$missing"; \
	  fi; \
	fi

test: install-dev system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles .pytest_cache test-artifacts
