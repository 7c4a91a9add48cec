# crowdcompute — `make demo` shows the marketplace working, `make test` runs every test.
# Every target installs what it needs first (Python venv, npm packages); `make setup` is idempotent.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := build/stamps
FORGE := node_modules/@foundry-rs/forge-linux-amd64/bin/forge

.PHONY: setup docker chromium runtime-image test test-fast test-contracts test-python test-frontend lint slither demo bench clean help

help:
	@echo "make demo    run a full job through the marketplace on a local chain"
	@echo "make test    install everything and run every test (forge, Slither, pytest, ruff, mypy)"
	@echo "make test-fast  ruff and every pytest test needing no chain, Docker or browser (< 1 min)"
	@echo "make setup   install the Python venv and npm packages (idempotent), put crowdcompute on the PATH"
	@echo "make lint    ruff and mypy"
	@echo "make slither  Slither over the contracts: fails on a high finding, or a medium one without a reason in the code"
	@echo "make bench   run the benchmarks; figures land in bench/results/*.json"
	@echo "make runtime-image  build the CPU torch runtime image offline (no registry needed; LOCK=1 relocks)"
	@echo "make runtime-image GPU=1  the CUDA torch runtime image instead (~2.6 GB of wheels, ~17 GB of disk)"

# The dApp is built from its sources plus what it generates from: the gateway's OpenAPI, the manifest
# schema, the contract ABIs and the example jobs.
FRONTEND_SRC := $(shell find frontend/src frontend/scripts frontend/index.html frontend/vite.config.ts -type f \
                  -not -path 'frontend/src/generated/*' 2>/dev/null) \
                $(shell find api jobs/manifest contracts examples -name '*.py' -o -name '*.sol' -o -name '*.toml' 2>/dev/null)

# The job layout's Python, TypeScript and Solidity views, generated from the one Solidity source.
JOB_LAYOUT := chain/generated/job_layout.py frontend/src/generated/jobLayout.ts contracts/generated/JobLayout.sol

# Last, `crowdcompute` goes on the PATH without activating the venv (tools/link-cli.sh: a link in
# /usr/local/bin as root, else ~/.local/bin; CROWDCOMPUTE_BIN_DIR=none to skip), and setup says where.
setup: $(STAMPS)/python $(STAMPS)/npm $(JOB_LAYOUT) frontend/dist/index.html
	@tools/link-cli.sh

$(JOB_LAYOUT) &: contracts/market/Types.sol $(wildcard codegen/*.py) $(STAMPS)/python $(STAMPS)/npm
	$(PY) -m codegen
	@touch $(JOB_LAYOUT)

$(STAMPS)/python: pyproject.toml $(wildcard */__init__.py)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/npm: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed (Node >= 20): apt-get install nodejs npm"; exit 1; }
	npm install --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/frontend-npm: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

# The dApp's generated sources alone (ABIs, API types, manifest schema, examples), for the fast tier.
frontend/src/generated/.stamp: $(STAMPS)/python $(STAMPS)/npm $(STAMPS)/frontend-npm $(JOB_LAYOUT) $(FRONTEND_SRC)
	cd frontend && npm run generate
	@touch $@

frontend/dist/index.html: $(STAMPS)/python $(STAMPS)/npm $(STAMPS)/frontend-npm $(JOB_LAYOUT) $(FRONTEND_SRC)
	cd frontend && npm run build

test: setup test-contracts slither lint test-frontend docker postgres test-python

# Quick iteration: ruff and every pytest test that needs no chain, Docker or browser (markers set from the
# fixtures a test uses: tests/conftest.py), on one worker more than there are cores (several tests wait on
# a gateway or CLI process they start), worksteal evening out the long torch tests; under a minute on two. `--min-tests` makes a filter that selects too little fail instead of passing quietly.
# vitest stays in `make test`: two of its files start anvil and it has no markers yet. The dApp's sources
# are generated, not built: no fast test needs the build, and rebuilding it after each change under api/
# would take half the minute.
FAST := not chain and not docker and not browser
FAST_WORKERS := $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test-fast: $(STAMPS)/python $(STAMPS)/npm $(JOB_LAYOUT) frontend/src/generated/.stamp postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n $(FAST_WORKERS) --dist worksteal -m "$(FAST)" --min-tests=800

# A Docker engine for the executor tests: installed (Debian docker.io) and started when missing and root.
docker:
	@tools/ensure-docker.sh

# PostgreSQL for the gateway index tests on both backends: Debian's postgresql installed when missing and
# root; the tests start and stop a throwaway cluster of their own (tests/api/postgres_cluster.py).
.PHONY: postgres
postgres:
	@tools/ensure-postgres.sh

# Debian's Chromium for the dApp's browser tests: installed when missing and root.
chromium:
	@tools/ensure-chromium.sh

test-frontend: setup chromium
	cd frontend && npm test
	cd frontend && npm run e2e

# LOCK=1 also writes runtime/image.lock from the build and pins examples/*/job.toml to its id; without it
# the build is compared with the lock (the same inputs must give the locked id).
runtime-image: setup docker
	$(PY) runtime/$(if $(GPU),build_offline_gpu.py,build_offline.py) --check $(if $(LOCK),--lock)

test-contracts: setup
	$(FORGE) test

# Slither pins web3 < 8 and the project needs 8, so it gets a venv of its own, from pyproject's `slither` group.
SLITHER_VENV := build/slither-venv
SLITHER_REQUIREMENTS = $(shell $(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["dependency-groups"]["slither"])')

$(STAMPS)/slither: pyproject.toml $(STAMPS)/python
	@test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(SLITHER_REQUIREMENTS)
	@mkdir -p $(STAMPS) && touch $@

# Settings in slither.config.json; it builds with forge's `slither` profile (foundry.toml: the same compiler
# settings, its own build folder). Findings of medium or high severity fail, unless the code carries a
# `// slither-disable-next-line <detector> <reason>` (never for a high one: tools/slither_justifications.py).
# Low and informational findings are printed, and so are OpenZeppelin's own unused directives.
slither: $(STAMPS)/slither $(STAMPS)/npm $(JOB_LAYOUT)
	@mkdir -p build/slither && rm -f build/slither/results.json
	PATH="$(CURDIR)/$(dir $(FORGE)):$(CURDIR)/chain/bin:$$PATH" FOUNDRY_PROFILE=slither $(SLITHER_VENV)/bin/slither .
	$(SLITHER_VENV)/bin/python tools/slither_justifications.py

# tests/e2e/test_browser_flow.py drives the built dApp in Debian's Chromium against a real stack.
# Two passes: the fast tier on every core (as `make test-fast`), then the tests that start a chain, Docker
# containers or a browser. Those run in two processes side by side, each one test at a time: the whole-stack
# flows of tests/e2e (mostly waiting on blocks and windows) beside the rest. They share no port (the README's
# path alone takes 8000 and 8545; the others take free ones), no container label and no folder; the runtime
# image is built first so the two do not build it at once. Each prints its report when it ends (-O);
# each pass and process has its own floor.
E2E := tests/e2e
test-python: setup chromium runtime-image
	$(VENV)/bin/pytest -n $(FAST_WORKERS) --dist worksteal -m "$(FAST)" --min-tests=1000
	@echo "chain, Docker and browser tests: $(E2E) beside the others (each report printed when it ends)"
	$(MAKE) --no-print-directory -j2 -Otarget test-python-e2e test-python-serial

.PHONY: test-python-e2e test-python-serial
test-python-e2e:
	$(VENV)/bin/pytest $(E2E) -m "not ($(FAST))" --min-tests=5 --durations=10 -p no:cacheprovider

test-python-serial:
	$(VENV)/bin/pytest -m "not ($(FAST))" --ignore=$(E2E) --min-tests=200 --durations=30

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The whole marketplace on this machine: anvil, the gateway serving the dApp, two providers and three
# validators (each its own process and key), one digits job through them; Ctrl-C stops everything.
# The runtime image is built when missing or stale (a no-op otherwise; `make runtime-image` also checks it).
# DEMO_FLAGS=--exit leaves once the job is accepted; see `crowdcompute demo --help`.
demo: setup docker
	$(PY) runtime/build_offline.py
	$(VENV)/bin/crowdcompute demo $(DEMO_FLAGS)

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache frontend/dist frontend/src/generated $(JOB_LAYOUT)
