# The two commands that do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# PostgreSQL tests use testcontainers when a Docker engine is reachable, else this server: development
# machines and CI run one locally. With neither, they skip with the reason (CI makes them fail).
OPENEHR_TEST_POSTGRES_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && \
	echo postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
export OPENEHR_TEST_POSTGRES_URL

.PHONY: install run test lint bench schemas openapi contracts can-i-deploy conformance clean

# Installs what is missing: the virtual environment is rebuilt only when pyproject.toml changes.
install: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/python -m deploy.run $(if $(SEED),--seed $(SEED),)

test: install lint
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench $(BENCH)

# Regenerates the committed JSON Schemas from the committed OPTs (a test fails when they drift).
schemas: install
	$(BIN)/python -m archetypes build-schemas

# Regenerates the committed OpenAPI documents from the apps (a test fails when they drift).
openapi: install
	$(BIN)/python -m contracts.openapi write

# The vendor conformance kit against a running module: make conformance MODULE=medication
# BASE_URL=http://127.0.0.1:8083 DEMOGRAPHICS_URL=http://127.0.0.1:8081 [REPORT=dir] [KIT_ARGS=--allow-skip]
conformance: install
	@test -n "$(MODULE)" -a -n "$(BASE_URL)" || (echo "usage: make conformance MODULE=... BASE_URL=... [DEMOGRAPHICS_URL=...] [REPORT=dir]" && exit 2)
	$(BIN)/python -m contracts.kit --module $(MODULE) --base-url $(BASE_URL) \
		$(if $(DEMOGRAPHICS_URL),--demographics-url $(DEMOGRAPHICS_URL),) $(if $(REPORT),--report $(REPORT),) $(KIT_ARGS)

# Consumer tests (rewrite contracts/pacts/), provider verification of every module as a real process
# (results appended to contracts/verifications/), then the matrix. Commit both folders.
contracts: install
	$(BIN)/python -m contracts.pact consumers
	$(BIN)/python -m contracts.pact verify
	$(BIN)/python -m contracts.pact matrix

# `make can-i-deploy MODULE=medication VERSION=0.1.0+abc123` (VERSION defaults to this checkout's).
can-i-deploy: install
	$(BIN)/python -m contracts.can_i_deploy --module $(MODULE) $(if $(VERSION),--version $(VERSION),)

clean:
	rm -rf $(VENV) data .pytest_cache
