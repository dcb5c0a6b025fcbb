# The one task runner. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON := .venv/bin/python
DEMO_ENV := PORTAL_DEMO=true PORTAL_ENV=development
TEST_ENV := PORTAL_ENV=test
# Two cores on our machines: one pytest worker per core.
PYTEST_WORKERS ?= 2

.PHONY: demo test lint format messages makemessages services system-deps node-deps bench bench-access bench-auth bench-reporting worker beat help

help:
	@echo "make demo   installe, migre une base SQLite, charge la région de démonstration et sert http://127.0.0.1:8000"
	@echo "make test   installe ce qu'il faut, démarre PostgreSQL et Redis, lance ruff, mypy et toute la suite"
	@echo "make lint   ruff (lint + format) et mypy"
	@echo "make bench-access  banc de la décision d'accès sur la région semée (BENCH_ARGS=\"--scale 0.01\" : rapide)"
	@echo "make bench-auth    banc de charge de tokens/validate sous gunicorn face à une vue triviale (même BENCH_ARGS)"
	@echo "make bench-reporting  tableaux de bord et rapport financeur depuis les agrégats, face aux tables brutes (même BENCH_ARGS)"

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	uv sync --locked
	@touch $@

messages: .venv/.synced
	.venv/bin/pybabel compile --domain django --directory locale --statistics

makemessages: .venv/.synced
	$(DEMO_ENV) $(PYTHON) manage.py makemessages --locale en --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*'

demo: .venv/.synced messages
	$(DEMO_ENV) $(PYTHON) manage.py migrate --no-input
	$(DEMO_ENV) $(PYTHON) manage.py seed_demo
	@echo "Portail de démonstration : http://127.0.0.1:8000 (comptes dans README.md, mot de passe portail-demo-2026)"
	$(DEMO_ENV) $(PYTHON) manage.py runserver 127.0.0.1:8000

system-deps:
	scripts/system-deps.sh

# The test OpenID Connect provider (Pro Santé Connect imitation) and its npm packages.
node-deps: tests/practitioners/oidc/node_modules/.package-lock.json
tests/practitioners/oidc/node_modules/.package-lock.json: tests/practitioners/oidc/package.json tests/practitioners/oidc/package-lock.json
	cd tests/practitioners/oidc && npm ci --no-audit --no-fund --loglevel=error

services:
	scripts/services.sh

lint: .venv/.synced
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	$(TEST_ENV) .venv/bin/mypy

format: .venv/.synced
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

test: .venv/.synced system-deps node-deps services messages lint
	$(TEST_ENV) .venv/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup

# Archive sync against a real Orthanc; `make bench BENCH_ARGS="--count 2000"` for a quick run.
bench: .venv/.synced system-deps services
	$(TEST_ENV) PORTAL_TEST_DATABASE=bench_portal $(PYTHON) bench/sync_orthanc.py $(BENCH_ARGS)

# The access decision at regional scale (seeds its database once); `BENCH_ARGS="--scale 0.01"`.
bench-access: .venv/.synced system-deps services
	$(TEST_ENV) $(PYTHON) bench/access_scale.py $(BENCH_ARGS)

# The archive's authorization web service under load (gunicorn, wrk), on bench-access's database.
bench-auth: .venv/.synced system-deps services
	$(TEST_ENV) $(PYTHON) bench/orthanc_auth_load.py $(BENCH_ARGS)

# Dashboards and the funder report from the rollups, against the raw tables, on bench-access's region.
bench-reporting: .venv/.synced system-deps services
	$(TEST_ENV) $(PYTHON) bench/reporting_scale.py $(BENCH_ARGS)

worker: .venv/.synced
	$(PYTHON) -m celery -A portal worker --loglevel INFO --max-tasks-per-child 50

beat: .venv/.synced
	$(PYTHON) -m celery -A portal beat --loglevel INFO --schedule var/celerybeat-schedule
