# Backorder Desk — the commands a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Links in the printed login and in e-mails point at the demo server (unless SITE_URL is set).
export SITE_URL ?= http://127.0.0.1:$(PORT)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo serve worker test test-postgres test-deep bench lint check-deploy reset

help:
	@echo "make demo     set everything up (venv, install, migrate, demo data, logins) and run server + worker"
	@echo "make test     run the test suite (SQLite; set DATABASE_URL for PostgreSQL)"
	@echo "make test-deep  the hypothesis properties with 10x their examples on random seeds"
	@echo "make install  create .venv and install the pinned dependencies"
	@echo "make bench    run the benchmarks (PostgreSQL; see docs/performance.md)"
	@echo "make reset    delete the local SQLite database"

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --no-input -v0
	@if $(PY) manage.py shell --no-imports -c "import sys; from inventory.models import SKU; sys.exit(0 if SKU.objects.exists() else 1)" 2>/dev/null; \
		then echo "Demo data already loaded (make reset to start over)."; \
		else $(PY) manage.py seed_demo; fi
	$(PY) manage.py setup_schedules
	$(PY) manage.py demo_logins
	@echo "Starting the django-q2 workers and the web server on http://127.0.0.1:$(PORT)/admin/ (Ctrl-C stops them)."
	@trap 'kill 0' EXIT INT TERM; \
		$(PY) manage.py workers & \
		$(PY) manage.py runserver 127.0.0.1:$(PORT)

serve: install
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

worker: install
	$(PY) manage.py workers

# The suite runs on every core (pytest-xdist), in 4 processes at most: each has its own test
# database and Redis databases (config/settings_test.py). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses=4

test: install
	$(PYTEST) $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/backorder_desk} $(PYTEST) $(PYTEST_ARGS)

# The hypothesis properties with PROPERTIES_DEPTH times their examples on random seeds
# (tests/depth.py): a hunt for rare counterexamples, not part of CI. Set DATABASE_URL for PostgreSQL.
PROPERTIES_DEPTH ?= 10
test-deep: install
	PROPERTIES_DEPTH=$(PROPERTIES_DEPTH) $(PY) -m pytest -p no:cacheprovider tests/promises/test_engine_properties.py \
		tests/promises/test_allocate_new.py tests/intake/test_incremental_property.py tests/workflow/test_line_sequences.py

bench: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/backorder_desk_bench} $(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check .

check-deploy: install
	DEBUG=False SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9') \
		ALLOWED_HOSTS=desk.example.com $(PY) manage.py check --deploy --fail-level WARNING

reset:
	rm -f var/backorder-desk.sqlite3 var/backorder-desk.sqlite3-wal var/backorder-desk.sqlite3-shm
