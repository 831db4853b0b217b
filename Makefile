# Two commands do all the set-up: `make lab` and `make test`. Both are safe to run again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
FIRST_NOTEBOOK := notebooks/00_start_here.ipynb
LAB_ARGS ?=
# `make bench BENCH_AGAINST=<commit>` also races the broker pipeline against that commit's.
BENCH_AGAINST ?=
# Jupyter refuses to run as root unless told; containers and some CI machines are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help install lab test test-fast test-kafka-lessons lint notebooks site bench kafka kafka-cluster kafka-stop clean

help:
	@echo "make lab    - set up .venv if needed and open JupyterLab on the first lesson"
	@echo "make test   - set up .venv if needed, then ruff, mypy, make site, the tests and every notebook"
	@echo "make test-fast - ruff, then the tests that need no Kafka, browser or notebook (under 2 minutes)"
	@echo "make test-kafka-lessons - run every lesson on a real Kafka broker (EDA_BROKER=kafka)"
	@echo "make site   - build the course as a static site in site/ (open site/index.html; no notebook"
	@echo "              is run: the committed outputs are shown)"
	@echo "make bench  - run the benchmarks (figures are printed as JSON; BENCH_AGAINST=<commit>"
	@echo "              also races the broker pipeline against that commit's)"
	@echo "make kafka  - start a local Kafka broker on 127.0.0.1:9092 (make kafka-stop stops it)"
	@echo "make kafka-cluster - start a local cluster of three Kafka nodes (make kafka-stop stops it)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "eda-notebooks needs Python 3.11 or newer; run: make PYTHON=python3.11 ...")'
	@echo "==> creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing eda-notebooks and its dependencies into $(VENV)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# JupyterLab defaults for this environment only (not the user's own settings): no news pop-up,
# no update check.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): jupyter/overrides.json | $(STAMP)
	@mkdir -p $(dir $@)
	cp jupyter/overrides.json $@

# The [site] extra (Sphinx, MyST-NB, the book theme), installed by `make site` only. The build
# imports neither eda_lib nor the notebooks' dependencies, so a fresh clone installs just these.
SITE_STAMP := $(VENV)/.site-installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
$(SITE_STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing the [site] extra (Sphinx, MyST-NB, the book theme) into $(VENV)"
	$(BIN)/python -m pip install --quiet $$($(BIN)/python site_src/build.py --requirements)
	@rm -f $(VENV)/.site-installed-*
	@touch $(SITE_STAMP)

install: $(STAMP) $(LAB_OVERRIDES)
	@echo "==> $(VENV) is up to date"

lab: install
	@echo "==> opening JupyterLab on $(FIRST_NOTEBOOK) (127.0.0.1 only; the URL below carries your login token)"
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) $(ROOT_FLAG) $(LAB_ARGS) $(FIRST_NOTEBOOK)

lint: install
	@echo "==> ruff"
	$(BIN)/ruff check .
	@echo "==> mypy --strict on eda_lib (also proves both brokers implement the Broker protocol)"
	$(BIN)/mypy

# The site is built first: tests/site opens it in Chromium (about a minute for every page).
test: lint site
	@echo "==> pytest: unit, contract, property, Kafka and browser tests, then every notebook under nbval"
	@echo "    (the Kafka tests start a local broker, fetching its jars with Maven on first use)"
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg -m "not kafka_lessons"

test-fast: install
	@echo "==> ruff"
	$(BIN)/ruff check .
	@echo "==> pytest: every test that needs no Kafka, browser or notebook (the notebooks are not run)"
	$(BIN)/python -m pytest tests \
		-m "not kafka and not cluster and not secure and not browser and not site and not kafka_lessons"

test-kafka-lessons: install
	@echo "==> every lesson, one after another, on a real Kafka broker (EDA_BROKER=kafka);"
	@echo "    this checks that each runs and its assertions hold, not that its output is the same"
	$(BIN)/python -m pytest tests/lessons/test_notebooks_on_kafka.py -m kafka_lessons

# The widget manager and require.js come from the npm registry on the first build (cached in
# build/site-cache/); then only the pages whose notebook or doc changed are built again.
site: $(SITE_STAMP)
	@echo "==> building the course as a static site in site/ from the committed notebooks and docs/"
	$(BIN)/python site_src/build.py

notebooks: install
	@echo "==> re-executing every notebook in place (commit the result)"
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace notebooks/*.ipynb

bench: install
	$(BIN)/python benchmarks/codec.py
	$(BIN)/python benchmarks/broker_throughput.py $(if $(BENCH_AGAINST),--against $(BENCH_AGAINST))
	$(BIN)/python benchmarks/peer_faststream.py
	$(BIN)/python benchmarks/kafka_throughput.py
	$(BIN)/python benchmarks/kafka_adapter.py
	$(BIN)/python benchmarks/failure_lab_redraw.py
	$(BIN)/python benchmarks/event_store.py
	$(BIN)/python benchmarks/windowed_count.py
	$(BIN)/python benchmarks/acks_trials.py

kafka: install
	@echo "==> starting a local Kafka broker (jars fetched with Maven into ~/.cache on first use)"
	$(BIN)/python -m eda_lib.kafka_local start

kafka-cluster: install
	@echo "==> starting a local cluster of three Kafka nodes (status, kill N, restart N: see README)"
	$(BIN)/python -m eda_lib.kafka_local start --brokers 3

kafka-stop: install
	$(BIN)/python -m eda_lib.kafka_local stop

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site build/site-src build/site-cache \
		build/site-html build/jupyter_execute
