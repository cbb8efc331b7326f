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

.PHONY: setup compile test test-contracts test-offchain demo gas lock clean

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

# Makes `source .venv/bin/activate && brownie test` work in a new shell: anvil and the solc shim on
# the venv's PATH, SOLCX_BINARY_PATH pointing at the shim folder.
$(VENV)/.toolchain: $(VENV)/.installed node_modules/.installed toolchain/solc-shim.js
	ln -sf $(CURDIR)/node_modules/.bin/anvil $(BIN)/anvil
	ln -sf $(CURDIR)/node_modules/.bin/ganache $(BIN)/ganache
	ln -sf $(SOLCX_DIR)/solc-v$(SOLC_VERSION) $(BIN)/solc
	grep -q SOLCX_BINARY_PATH $(BIN)/activate || echo 'export SOLCX_BINARY_PATH="$(SOLCX_DIR)"' >> $(BIN)/activate
	@touch $@

compile: setup
	$(BIN)/brownie compile

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
