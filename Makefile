# dxmon — two commands for a new user: `make demo` (the whole stack with demo traffic) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install up down status test lint demo bench bench-history reliability dashboards clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

## Start Kafka, PostgreSQL, Prometheus, Alertmanager, then the schema and topics, then the on-call receiver and the three
## services under supervisord (restarted when they die; `make status` shows restarts).
up: install
	deploy/local/stack.sh up --infra-only
	$(BIN)/dx db migrate
	$(BIN)/dx topics ensure
	deploy/local/stack.sh up

down:
	deploy/local/stack.sh down

status:
	deploy/local/stack.sh status

## The whole test suite against real services it starts, and stops again (also when tests fail).
test: install
	deploy/local/run-tests.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services tests dx testing

demo: install
	deploy/local/demo.sh

## Performance figures (bench/README.md) from real service processes; BENCH_ARGS=--quick for a short run; ends with ONE JSON line.
bench: install
	deploy/local/with-stack.sh $(BIN)/python -m bench.run $(BENCH_ARGS)

## Read side with years of history (bench/README.md, "History scale"): 2021-01-01 until now, dashboards' SQL, the
## alerter's full evaluation, dx status, dx report, table sizes; BENCH_ARGS=--units-dir bench/data/national after
## `python -m bench.national` for the synthetic national size. Ends with ONE JSON line.
bench-history: install
	deploy/local/with-stack.sh $(BIN)/python -m bench.history $(BENCH_ARGS)

## Fault tests, hostile input, security, then a soak (DX_SOAK_SECONDS, default 600); ends with ONE JSON line of figures.
reliability: install
	rm -f .run/reliability/results.jsonl
	DX_SOAK_SECONDS=$${DX_SOAK_SECONDS:-600} deploy/local/with-stack.sh $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/reliability; code=$$?; $(BIN)/python -m tests.reliability.report; exit $$code

dashboards: install
	$(BIN)/dx dashboards build

clean: down
	rm -rf .run
