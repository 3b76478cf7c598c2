# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
# `make demo` and `make test` install what they need: Debian packages (as root) and .venv/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: deps venv demo test lint bench clean

deps:
	@scripts/install-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

venv: deps
	@$(MAKE) --no-print-directory $(STAMP)

demo: venv
	$(BIN)/python demo/host.py
	$(BIN)/python demo/domain.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: venv
	$(BIN)/python bench/repair.py
	$(BIN)/python bench/survey.py

clean:
	rm -rf $(VENV) build artifacts .pytest_cache .ruff_cache .hypothesis
