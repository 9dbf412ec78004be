# foncier: set-up and the two commands of the README (make demo, make test).
# Everything the project needs is installed from here: Python packages (pinned in requirements.lock) in a
# virtual environment, Debian packages (chromium for the browser tests), and the map assets from npm.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
WORKSPACE ?= workspace
SIZE ?= small
ASSETS_MANIFEST := foncier/maps/_assets/manifest.json

.PHONY: help setup system-deps assets demo test lint typecheck bench clean

help:
	@echo "make demo   - build, score and map the synthetic sample territory into ./$(WORKSPACE)"
	@echo "make test   - install everything and run the whole test suite (lint, types, tests, install, coverage)"
	@echo "make bench  - run the benchmarks (figures in docs/BENCHMARKS.md)"

$(VENV)/.installed: requirements.lock pyproject.toml setup.py $(ASSETS_MANIFEST)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed assets

# Debian packages: headless Chromium for the map tests, PostgreSQL 15 + PostGIS 3 for the PostGIS tests (each
# only installed when missing; needs root or sudo).
system-deps:
	@set -e; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); UPDATED=; \
	if ! command -v chromium >/dev/null 2>&1; then \
		$$SUDO apt-get update -qq; UPDATED=1; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi; \
	if ! dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1; then \
		[ -n "$$UPDATED" ] || $$SUDO apt-get update -qq; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 >/dev/null; \
	fi

# Leaflet, the Folium plugins' assets, Swagger UI and ReDoc, from the npm registry at the versions of
# package-lock.json, copied into foncier/maps/_assets/ (package data of the wheel; never committed): offline
# maps, the served maps and /docs need no network. setup.py does the same copy when a wheel or sdist is built.
assets: $(ASSETS_MANIFEST)
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@
$(ASSETS_MANIFEST): node_modules/.installed foncier/maps/assets.py
	$(PYTHON) -c 'import sys; sys.path.insert(0, "."); from foncier.maps.assets import build_assets; build_assets()'

demo: setup
	$(VENV)/bin/foncier demo --workspace $(WORKSPACE) --size $(SIZE)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The whole suite, with coverage of the package and its floor (COV_FLOOR, a few points under the 91 % measured,
# see docs/BENCHMARKS.md); tests/test_install.py builds the wheel and sdist and runs them from a fresh venv.
# pytest's exit code is make's: any failure, a coverage under the floor or no test collected fails the target.
COV_FLOOR ?= 88
test: setup system-deps lint typecheck
	$(VENV)/bin/pytest -n 2 --dist loadfile --cov=foncier --cov-report=term:skip-covered \
		--cov-fail-under=$(COV_FLOOR)

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) node_modules foncier/maps/_assets build dist .pytest_cache .mypy_cache .ruff_cache
