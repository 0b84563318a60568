# Two commands for a newcomer: `make run` (the app on SQLite with demo data) and `make test`.
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DB ?= sqlite:///./rapport.db
export RAPPORT_DATABASE_URL ?= $(DB)
# Python caches compiled modules in __pycache__ unless told not to; a machine that says not to
# (PYTHONDONTWRITEBYTECODE) would compile every module again in every process: twice the start
# time of `rapport`, the server and each test worker.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup run demo test lint format clean

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet & sync=$$!; bash scripts/assets.sh && wait $$sync  # side by side

run: setup
	$(UV) run rapport serve --host 127.0.0.1 --port 8000 --demo-if-new

demo: setup
	$(UV) run rapport demo

lint: setup
	$(UV) run ruff check src tests bench migrations tools
	$(UV) run ruff format --check src tests bench migrations tools
	$(UV) run mypy
	PYTHONPATH=tools $(UV) run lint-imports  # the import contract (pyproject.toml, tools/contracts.py)

test: setup
	bash scripts/ci-services.sh  # the job tests use the real Redis and RabbitMQ
	$(UV) run pytest -p xdist -n 2

format: setup
	$(UV) run ruff check --fix src tests bench migrations tools
	$(UV) run ruff format src tests bench migrations tools

clean:
	rm -f rapport.db rapport.db-wal rapport.db-shm
