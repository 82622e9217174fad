# Every target installs what it needs first (uv through pip, then the workspace).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PORT ?= 8000
# The programs (program=Debian package) a target needs beyond Python: installed with apt-get when
# missing, or the target stops with one line saying what to run (.ci/install-missing).
INSTALL_MISSING := $(SHELL) .ci/install-missing
STACK_NEEDS := nginx=nginx
TEST_NEEDS := nginx=nginx kubectl=kubernetes-client chromium=chromium npm=npm
BENCH_NEEDS := wrk=wrk nginx=nginx

.PHONY: help bootstrap dev stack up down test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

bootstrap: ## install uv (when missing) and the locked workspace into .venv
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --quiet

dev: bootstrap ## run all five services in one process on :$(PORT) (embedded PostgreSQL unless DATABASE_URL)
	PORT=$(PORT) $(UV) run python gateway/devserver.py

stack: bootstrap ## each service its own uvicorn process, real nginx on :$(PORT) (SERVICE_PORTS=free or name=port,...)
	@$(INSTALL_MISSING) $(STACK_NEEDS)
	PORT=$(PORT) $(UV) run python -m gateway.stack

up: ## docker compose: postgres, minio, migrations, the five services, nginx on :8000
	docker compose up --build

down: ## stop and remove the compose containers (volumes stay; docker compose down -v drops them)
	docker compose down

test: bootstrap ## run the whole suite against a real PostgreSQL (TEST_DATABASE_URL or an embedded server)
	@$(INSTALL_MISSING) $(TEST_NEEDS)
	$(UV) run pytest

lint: bootstrap ## ruff (check + format --check), mypy and vulture (dead code)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy libs/common/src services/*/src gateway
	$(UV) run vulture

format: bootstrap ## apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: bootstrap ## run every benchmark (installs wrk and nginx with apt-get when missing) and write bench/REPORT.md
	@$(INSTALL_MISSING) $(BENCH_NEEDS)
	$(UV) run --locked --group bench python -m bench  # the bench group adds Splink, for matching's comparison

clean: ## remove the embedded database and caches (.data/ holds the dev database)
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
