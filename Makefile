# One task runner: CI calls `make test` (through .ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO := data/corpus data/demo

.PHONY: install run demo test lint bench clean

install: $(STAMP)

# Every dependency, transitive ones included, is pinned in requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Loads the bundled demo corpus once (files already ingested are skipped), then serves.
demo: install
	$(BIN)/omicsoracle ingest --skip-seen $(DEMO)

run: demo
	$(BIN)/omicsoracle serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/omicsoracle bench ingest
	$(BIN)/omicsoracle bench search

clean:
	rm -rf $(VENV) var bench/out .pytest_cache .mypy_cache .ruff_cache
