# One task runner: CI calls `make test` (through .ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO := data/corpus data/demo

.PHONY: install browser run demo test lint bench loadtest clean

install: $(STAMP)

# Every dependency, transitive ones included, is pinned in requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser download would
# need the internet at test time). Installed once, when missing.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
		else sudo apt-get install -y chromium || { sudo apt-get update && sudo apt-get install -y chromium; }; fi; }

# Loads the bundled demo corpus once (files already ingested are skipped), then serves.
demo: install
	$(BIN)/omicsoracle ingest --skip-seen $(DEMO)

run: demo
	$(BIN)/omicsoracle serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: lint browser
	$(BIN)/pytest

bench: install
	$(BIN)/omicsoracle bench ingest
	$(BIN)/omicsoracle bench search
	$(BIN)/omicsoracle bench suggest
	$(BIN)/omicsoracle bench api
	$(BIN)/omicsoracle bench bus
	$(BIN)/python -m bench.extraction_eval
	$(BIN)/python -m bench.annotation_bench
	$(BIN)/omicsoracle bench de
	$(BIN)/omicsoracle bench sync
	$(BIN)/omicsoracle bench scale --size small

# Capacity (wrk) and realism (Locust) runs on the 10x corpus, SQLite + L1 cache, then
# PostgreSQL + Redis; the first run builds the data (minutes). Quick trial:
# make loadtest LOADTEST_ARGS="--scale 1 --duration 15"
LOADTEST_ARGS ?=
# The capacity run drives the server with wrk (Debian's package), installed when missing.
WRK := /usr/bin/wrk
loadtest: install
	@test -x $(WRK) || { \
		echo "installing Debian's wrk for the load test"; \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
		else sudo apt-get install -y wrk || { sudo apt-get update && sudo apt-get install -y wrk; }; fi; }
	$(BIN)/python -m bench.loadtest.run --backend sqlite --runs capacity,realism --scale 10 $(LOADTEST_ARGS)
	$(BIN)/python -m bench.loadtest.run --backend postgres --runs capacity,realism --scale 10 $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) var bench/out test-artifacts .pytest_cache .mypy_cache .ruff_cache
