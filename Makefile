# The two commands of the quick start. Each bootstraps .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

## make run: SQLite in ./instance, jobs in-process, demo data, http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/counterdesk init
	$(BIN)/counterdesk demo
	$(BIN)/counterdesk run --host $(HOST) --port $(PORT)

## make test: the whole suite (real Redis, PostgreSQL and Chromium where installed)
test: $(VENV)/.installed-dev
	@$(BIN)/python -m pytest -n auto $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

## make bench: the benchmarks in bench/ (see bench/README.md)
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache
