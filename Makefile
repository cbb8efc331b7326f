# Kilowatt Exchange: every target sets up what it needs, and a second run skips installs already done.
# Needs only Python 3.11 and node 20 on PATH; everything else comes from PyPI and npm.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SOLC_VERSION := 0.8.28
SOLCX_DIR := $(CURDIR)/toolchain/solcx
export SOLCX_BINARY_PATH := $(SOLCX_DIR)
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export MPLBACKEND := Agg

BROWNIE_TESTS ?= tests/contracts
PYTEST_TESTS ?= tests/offchain

.PHONY: setup compile lint test test-contracts test-offchain demo gas lock clean

setup: $(VENV)/.installed node_modules/.installed $(VENV)/.toolchain

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[ml]"
	@touch $@

# `npm ci` installs exactly what package-lock.json records and never rewrites it (`npm install` may add
# other platforms' optional Anvil packages to the lock, so every deployment would record a -dirty commit).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Makes `source .venv/bin/activate && brownie test` work in a new shell: anvil, cast and the solc shim on
# the venv's PATH, SOLCX_BINARY_PATH pointing at the shim folder.
$(VENV)/.toolchain: $(VENV)/.installed node_modules/.installed toolchain/solc-shim.js
	ln -sf $(CURDIR)/node_modules/.bin/anvil $(BIN)/anvil
	ln -sf $(CURDIR)/node_modules/.bin/cast $(BIN)/cast
	ln -sf $(CURDIR)/node_modules/.bin/ganache $(BIN)/ganache
	ln -sf $(SOLCX_DIR)/solc-v$(SOLC_VERSION) $(BIN)/solc
	grep -q SOLCX_BINARY_PATH $(BIN)/activate || echo 'export SOLCX_BINARY_PATH="$(SOLCX_DIR)"' >> $(BIN)/activate
	@touch $@

compile: setup
	$(BIN)/brownie compile

# Slither in its own venv (its pins clash with brownie's); toolchain/lint.py compiles through the solc shim
# and fails on any High/Medium finding not named in toolchain/slither-triage.json (docs/security.md).
LINT_VENV := .venv-lint
$(LINT_VENV)/.installed: toolchain/requirements-lint.lock
	@test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet -r toolchain/requirements-lint.lock
	@touch $@

lint: node_modules/.installed $(LINT_VENV)/.installed
	$(LINT_VENV)/bin/python toolchain/lint.py --slither $(LINT_VENV)/bin/slither

test: compile
	$(BIN)/brownie test $(BROWNIE_TESTS)
	$(BIN)/python -m pytest -p no:pytest-brownie $(PYTEST_TESTS)

test-contracts: compile
	$(BIN)/brownie test $(BROWNIE_TESTS)

test-offchain: compile
	$(BIN)/python -m pytest -p no:pytest-brownie $(PYTEST_TESTS)

demo: compile
	$(BIN)/kwx demo

gas: compile
	$(BIN)/kwx gas

# Refreshes requirements.lock from the current venv (run after changing dependencies on purpose).
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^kwx-offchain' > requirements.lock

clean:
	rm -rf build reports .pytest_cache .hypothesis
