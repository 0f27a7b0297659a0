# HDUCE developer entry points.
#
#   make run            install deps, migrate the database, start everything in one process
#   make demo           add a small demo clinic to the database (DEMO_PASSWORD=demo-password-1)
#   make test           unit + integration + e2e + deploy + browser tests (see tests/conftest.py for services)
#   make lint           ruff, ruff format --check, mypy, import-linter
#   make bench          speed figures beside /health on PostgreSQL + Redis (SCENARIOS=booking,list QUICK=1)
#   make fuzz           Schemathesis, every check and phase, as admin/doctor/patient on PostgreSQL + Redis
#   make broker-kafka   start the Kafka-compatible test broker (tansu) on 127.0.0.1:19092
#   make broker-kafka-stop
#
# Only `python3` is needed up front: uv is installed on demand.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# `pip install --user` puts uv in ~/.local/bin, which is not always on PATH.
export PATH := $(HOME)/.local/bin:$(PATH)

# uv on PATH (or in ~/.local/bin), else the uv that pip installed as a module of
# python3 (e.g. when its scripts directory is not on PATH). Recursive on purpose:
# re-evaluated after the `uv` target may have installed it. Override with UV=...
UV_ON_PATH = $(shell PATH="$(HOME)/.local/bin:$$PATH" command -v uv 2>/dev/null)
UV = $(or $(UV_ON_PATH),$(if $(shell python3 -m uv --version 2>/dev/null),python3 -m uv,uv))
RUN = $(UV) run --frozen
PYTEST_ARGS ?=
DEMO_PASSWORD ?= demo-password-1
TEST_PATHS := tests/unit tests/integration tests/e2e tests/deploy tests/browser

.PHONY: help uv setup run demo test lint format bench fuzz broker-kafka broker-kafka-stop clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

# (No $(UV) in this recipe: make expands a whole recipe before running it.)
uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || { \
		echo "uv not found; installing it with pip"; \
		python3 -m pip install --user --quiet uv \
		|| python3 -m pip install --quiet uv \
		|| python3 -m pip install --user --quiet --break-system-packages uv; \
	}
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || { \
		echo "error: uv is installed but neither on PATH nor runnable as python3 -m uv" >&2; \
		exit 1; \
	}

# Install the locked environment (.venv) exactly as uv.lock says, dev tools included.
setup: uv
	$(UV) sync --frozen

# `hduce serve` applies pending migrations itself before serving.
run: setup
	$(RUN) hduce serve

# Every demo account signs in with DEMO_PASSWORD; `make demo DEMO_PASSWORD=...` to choose it.
demo: setup
	$(RUN) hduce seed-demo --password '$(DEMO_PASSWORD)'

test: setup
	$(RUN) pytest $(TEST_PATHS) $(PYTEST_ARGS)

# Every check runs even when an earlier one fails; the target fails if any did.
LINT_CHECKS := \
	"ruff check src tests bench" \
	"ruff format --check src tests" \
	"mypy" \
	"lint-imports"

lint: setup
	@status=0; \
	for check in $(LINT_CHECKS); do \
		echo "$(RUN) $$check"; \
		$(RUN) $$check || { status=1; echo "FAILED: $$check" >&2; }; \
	done; \
	exit $$status

# Figures are printed and written to bench/results/, never asserted (bench/README.md).
# SCENARIOS=booking,list runs a subset, QUICK=1 short runs on small data,
# BENCH_ARGS="--label baseline --note '...'" anything else bench/run.py takes.
SCENARIOS ?=
QUICK ?=
BENCH_ARGS ?=
bench: setup
	$(RUN) python bench/run.py $(if $(SCENARIOS),--scenarios '$(SCENARIOS)') $(if $(filter 1 yes true,$(QUICK)),--quick) $(BENCH_ARGS)

# API conformance (bench/schemathesis_run.py): a throwaway database on the PostgreSQL
# of HDUCE_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432) and the Redis of
# HDUCE_TEST_REDIS_URL; FUZZ_EXAMPLES per operation and phase, FUZZ_ROLES=admin,patient.
FUZZ_EXAMPLES ?= 50
FUZZ_ROLES ?= admin,doctor,patient
fuzz: setup
	$(RUN) python bench/schemathesis_run.py --max-examples $(FUZZ_EXAMPLES) --roles '$(FUZZ_ROLES)'

format: setup
	$(RUN) ruff check --fix src tests bench
	$(RUN) ruff format src tests

broker-kafka: setup
	scripts/kafka-test-broker.sh start

broker-kafka-stop:
	scripts/kafka-test-broker.sh stop

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .import_linter_cache var/tansu.log
