# Siaga 112 — the newcomer's two commands are `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SIAGA_CONFORMANCE_DIR ?= $(abspath ../shared/conformance)

.PHONY: install run test test-sqlite test-postgres bench drill ha-up ha-down lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/siaga db upgrade
	$(BIN)/siaga demo load
	$(BIN)/siaga serve

test: install
	bash tools/system_deps.sh chromium tilemaker --lib weasyprint sip-tester kamailio kamailio-extra-modules kamailio-json-modules kamailio-websocket-modules kamailio-tls-modules prometheus rtpengine-daemon rtpengine-recording-daemon espeak-ng
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/run_tests.py

test-sqlite: install
	$(BIN)/python tools/run_tests.py --only sqlite

test-postgres: install
	$(BIN)/python tools/run_tests.py --only postgresql

bench: install
	bash tools/system_deps.sh wrk chromium tilemaker --lib weasyprint sip-tester kamailio kamailio-extra-modules kamailio-json-modules kamailio-websocket-modules kamailio-tls-modules rtpengine-daemon espeak-ng
	$(BIN)/python benchmarks/run_all.py

# The two-node failover cluster (Patroni + etcd + PostgreSQL, on loopback) and its fault drills (docs/deployment.md).
HA_DEPS := --lib patroni etcd-server pgbackrest 'postgresql-15|postgresql-17' sip-tester kamailio kamailio-extra-modules kamailio-json-modules

ha-up: install
	bash tools/system_deps.sh $(HA_DEPS)
	$(BIN)/python tools/ha/cluster.py up

ha-down:
	$(BIN)/python tools/ha/cluster.py down

# The drills run once (tools/ha/drill.py, its JSON lines shown) and tests/drill holds each to its targets.
drill: install
	bash tools/system_deps.sh $(HA_DEPS)
	SIAGA_DRILL=1 $(BIN)/python -m pytest -p no:cacheprovider -q -s tests/drill

lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) var .pytest_cache
