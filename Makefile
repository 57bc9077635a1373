# jobqueue: `make run` starts everything on SQLite; `make test` runs every check on SQLite and PostgreSQL.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run venv test check test-sqlite test-postgres browser bench chaos soak clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) manage.py runlocal

check: venv
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m ruff check .

browser:
	@$(PY) scripts/ensure_chromium.py

test: venv check browser test-sqlite test-postgres

test-sqlite: venv
	env -u DATABASE_URL JOBQUEUE_TEST_SQLITE_PATH=$(CURDIR)/var/test.sqlite3 $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: venv
	@if $(PY) scripts/pg_available.py "$(PG_TEST_URL)"; then \
		DATABASE_URL="$(PG_TEST_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	elif [ "$$JOBQUEUE_REQUIRE_POSTGRES" = "1" ]; then \
		echo "PostgreSQL at $(PG_TEST_URL) is required (JOBQUEUE_REQUIRE_POSTGRES=1) but unreachable"; exit 1; \
	else \
		echo "PostgreSQL at $(PG_TEST_URL) is unreachable: the PostgreSQL run was not done (set PG_TEST_URL)"; \
	fi

bench: venv
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var staticfiles

CHAOS_DB ?= sqlite,postgres
SOAK_MINUTES ?= 10

# Full reliability runs with figures (docs/reliability.md): SIGKILL chaos, poison job, crash durability,
# idempotent submission under lost responses, lock storms. A few minutes per database.
chaos: venv
	PG_TEST_URL="$(PG_TEST_URL)" $(PY) tests/reliability/chaos.py --db $(CHAOS_DB) --scenarios 1,4,5,6,7

# Steady submission and processing for SOAK_MINUTES per database: memory, error rate, reconciliation.
soak: venv
	PG_TEST_URL="$(PG_TEST_URL)" $(PY) tests/reliability/chaos.py --db $(CHAOS_DB) --scenarios 8 --soak-minutes $(SOAK_MINUTES)
