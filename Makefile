# Leadstream: two commands on a fresh machine — `make run` and `make test`.
SHELL := /bin/bash
PY_VERSION := $(shell cut -d. -f1,2 .python-version)
PYTHON ?= python$(PY_VERSION)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
CHECKOV_VENV := .venv-checkov
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: run test lint types validate checkov build browser unit integration pipeline artifacts bench clean help vendor-web screenshots

help:
	@echo "make run   - the whole pipeline locally on http://127.0.0.1:3000 (moto as local AWS)"
	@echo "make test  - lint, types, template validation, sam build, all tests"
	@echo "make bench - cold-start and write-unit figures for docs/performance.md"

$(BIN)/.installed: requirements-dev.txt layers/common/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python $(PY_VERSION) (pyenv reads .python-version)"; exit 1; }
	@echo "Setting up $(VENV) with $$($(PYTHON) --version) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	@touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	@echo "Setting up the SAM CLI in $(SAM_VENV) ..."
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(SAM_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-sam.txt
	@touch $@

run: $(BIN)/.installed
	$(BIN)/python -m local.runner $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(BIN)/.installed
	$(BIN)/mypy

validate: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@echo "Setting up checkov in $(CHECKOV_VENV) ..."
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-checkov.txt
	@touch $@

# Security checks of template.yaml; what is skipped, and why, is in .checkov.yaml and docs/security-checks.md.
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml

build: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM) build --parallel

# The snippet's tests drive Debian's Chromium (never a browser download): install it once if missing.
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests ..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

unit: $(BIN)/.installed
	$(BIN)/pytest tests/unit

integration: $(BIN)/.installed
	$(BIN)/pytest tests/integration

pipeline: $(BIN)/.installed
	$(BIN)/pytest tests/pipeline

test: lint types validate checkov build browser
	SAM=$(abspath $(SAM)) $(BIN)/pytest

# The README's pictures of the web app: its browser tests on a simulated history, written to docs/screenshots.
screenshots: $(BIN)/.installed browser
	LEADSTREAM_SCREENSHOTS=docs/screenshots $(BIN)/pytest -p no:randomly tests/browser/test_screenshots.py

bench: $(BIN)/.installed
	$(BIN)/python -m bench.run

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The web app's vendored view library (functions/web/static/vendor/), fetched again from npm at the pinned
# versions: Preact's hooks import Preact by a relative path (no import map, which the CSP would refuse).
PREACT_VERSION := 10.29.8
HTM_VERSION := 3.1.1
vendor-web:
	@set -e; tmp=$$(mktemp -d); cd $$tmp; \
	npm pack --silent preact@$(PREACT_VERSION) htm@$(HTM_VERSION) >/dev/null; \
	tar xzf preact-$(PREACT_VERSION).tgz; mv package preact; tar xzf htm-$(HTM_VERSION).tgz; mv package htm; \
	out=$(CURDIR)/functions/web/static/vendor; \
	sed 's#//\# sourceMappingURL=.*##' preact/dist/preact.module.js > $$out/preact-$(PREACT_VERSION).js; \
	sed -e 's/from"preact"/from".\/preact-$(PREACT_VERSION).js"/' -e 's#//\# sourceMappingURL=.*##' \
	  preact/hooks/dist/hooks.module.js > $$out/preact-hooks-$(PREACT_VERSION).js; \
	sed 's#//\# sourceMappingURL=.*##' htm/dist/htm.module.js > $$out/htm-$(HTM_VERSION).js; \
	rm -rf $$tmp; echo "vendored preact $(PREACT_VERSION) and htm $(HTM_VERSION) into $$out"
