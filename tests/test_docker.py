"""The container files: compose.yaml starts the product (app, worker, one-shot migrate,
PostgreSQL 15, Redis) with secrets from the environment, and the Dockerfile installs the way
`make setup` does. No Docker daemon in CI: compose.yaml is read with PyYAML and checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("migrate", "app", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def test_the_product_and_its_services_are_all_there(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {"postgres", "redis", "migrate", "app", "worker"}
    assert services(compose)["postgres"]["image"] == "postgres:15"
    assert services(compose)["redis"]["image"].startswith("redis:")
    for name in APP_SERVICES:
        assert services(compose)[name]["build"] == "."


def test_each_rapport_service_runs_its_command(compose: dict[str, Any]) -> None:
    assert services(compose)["migrate"]["command"] == ["migrate"]
    assert services(compose)["app"]["command"][:3] == ["serve", "--host", "0.0.0.0"]
    assert services(compose)["worker"]["command"] == ["worker"]
    assert services(compose)["migrate"]["restart"] == "no"  # one-shot


def test_the_app_and_worker_share_database_broker_and_uploads(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = services(compose)[name]["environment"]
        assert env["RAPPORT_DATABASE_URL"].startswith("postgresql+psycopg://rapport:")
        assert env["RAPPORT_DATABASE_URL"].endswith("@postgres:5432/rapport")
        assert env["RAPPORT_BROKER_URL"] == "redis://redis:6379/0"
        mount = f"imports:{env['RAPPORT_IMPORT_DIR']}"
        assert any(v.startswith(mount) for v in services(compose)[name]["volumes"])


def test_secrets_come_from_the_environment_never_from_the_file(compose: dict[str, Any]) -> None:
    required = re.compile(r"\$\{(?P<name>[A-Z_]+):\?[^}]*\}")
    for name in APP_SERVICES:
        env = services(compose)[name]["environment"]
        secret = required.fullmatch(env["RAPPORT_SECRET_KEY"])
        assert secret is not None and secret["name"] == "RAPPORT_SECRET_KEY"
        assert "${POSTGRES_PASSWORD:?" in env["RAPPORT_DATABASE_URL"]
    password = services(compose)["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert required.fullmatch(password)


def test_startup_waits_for_healthy_services_and_the_migration(compose: dict[str, Any]) -> None:
    for name in ("postgres", "redis"):
        assert services(compose)[name]["healthcheck"]["test"]
    assert services(compose)["migrate"]["depends_on"]["postgres"]["condition"] == (
        "service_healthy"
    )
    for name in ("app", "worker"):
        depends = services(compose)[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(services(compose)["app"]["healthcheck"]["test"])


def test_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    assert {"pgdata", "redisdata", "imports"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services(compose)["postgres"]["volumes"]


def test_the_image_installs_as_make_setup_does(dockerfile: str) -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --frozen" in makefile and "bash scripts/assets.sh" in makefile
    assert "RUN uv sync --frozen --no-dev" in dockerfile
    assert "RUN bash scripts/assets.sh" in dockerfile
    assert "pip install --no-cache-dir uv" in dockerfile
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)


def test_the_image_runs_serve_as_a_user_with_a_readiness_check(dockerfile: str) -> None:
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/readyz", dockerfile, re.M)
    assert 'ENTRYPOINT ["rapport"]' in dockerfile
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile


def test_the_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".venv", "node_modules", ".git", "*.db"):
        assert entry in ignored
