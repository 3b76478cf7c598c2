# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
# `make demo` and `make test` install what they need: Debian packages (as root) and .venv/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: deps venv demo test lint bench clean umc-deps umc-dev deb

deps:
	@scripts/install-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

venv: deps
	@$(MAKE) --no-print-directory $(STAMP)

# Each demo alone in a PID namespace (tests/pidns.py, as `make test`): the simulated hosts'
# busy check reads /proc, and a real QEMU of another lab may run as UID 109 on this machine.
demo: venv
	$(BIN)/python tests/pidns.py $(BIN)/python demo/lab.py
	$(BIN)/python tests/pidns.py $(BIN)/python demo/host.py
	$(BIN)/python tests/pidns.py $(BIN)/python demo/domain.py
	$(BIN)/python tests/pidns.py $(BIN)/python demo/rolling.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	@# The UMC backend's package name has a hyphen: mypy takes it by name, not as files.
	$(BIN)/mypy -p libvirt-static-ids

UMC_DEV := umc-module/dev
UMC_NPM := $(UMC_DEV)/node_modules/.package-lock.json

$(UMC_NPM): $(UMC_DEV)/package.json $(UMC_DEV)/package-lock.json
	cd $(UMC_DEV) && npm ci --no-audit --no-fund
	@touch $@

umc-deps: venv
	@$(MAKE) --no-print-directory $(UMC_NPM)

# Serves the UMC module on the embedded demo domain until Ctrl-C.
umc-dev: umc-deps
	cd $(UMC_DEV) && exec $(CURDIR)/$(BIN)/python -m umcdev

# pytest alone in a PID namespace with its own /proc: see tests/pidns.py.
test: lint umc-deps
	$(BIN)/python tests/pidns.py $(BIN)/pytest

bench: venv
	$(BIN)/python bench/repair.py
	$(BIN)/python bench/survey.py
	$(BIN)/python bench/plan.py

# Both Debian packages, built from a copy of the tree with the system Python, then linted.
deb: deps
	python3 tests/packaging/debbuild.py artifacts/deb
	lintian --fail-on error,warning artifacts/deb/*.deb

clean:
	rm -rf $(VENV) build artifacts .pytest_cache .ruff_cache .mypy_cache .hypothesis
