"""``rapport user list|set-role|deactivate|reactivate|set-password`` and ``rapport token
list|revoke`` against the test database (rolled back after each test)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from typer.testing import CliRunner

from rapport.cli import app
from tests.conftest import Cast
from tests.web.conftest import sign_in


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args), input=stdin)
    return done.exit_code, done.stdout, done.stderr


def test_user_list_shows_one_workspace_or_all(connection: Connection, cast: Cast) -> None:
    code, out, _ = _run("user", "list", "-w", "acme", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert {r["email"] for r in rows} >= {cast.ada.email, cast.ben.email}
    assert cast.dev.email not in {r["email"] for r in rows}
    assert {r["role"] for r in rows if r["email"] == cast.ben.email} == {"member"}
    code, out, _ = _run("user", "list", "--json")
    assert cast.dev.email in {r["email"] for r in json.loads(out)}
    code, out, _ = _run("user", "list", "-w", "acme")
    assert code == 0 and "ben@acme.test" in out


def test_set_role_and_the_last_owner(connection: Connection, cast: Cast) -> None:
    code, out, _ = _run("user", "set-role", cast.ben.email, "manager", "-w", "acme", "--json")
    assert code == 0 and json.loads(out)["role"] == "manager"
    code, out, err = _run("user", "set-role", cast.ada.email, "admin", "-w", "acme")
    assert code == 1 and "last owner" in err


def test_deactivate_refuses_the_members_token_then_reactivate(
    connection: Connection,
    cast: Cast,
    api_as,  # type: ignore[no-untyped-def]
) -> None:
    ben: TestClient = api_as("ben")
    assert ben.get("/api/v1/me").status_code == 200
    code, out, _ = _run("user", "deactivate", cast.ben.email, "-w", "acme", "--json")
    assert code == 0 and json.loads(out)["status"] == "deactivated"
    assert ben.get("/api/v1/me").status_code == 401
    code, out, _ = _run("user", "reactivate", cast.ben.email, "-w", "acme")
    assert code == 0
    assert ben.get("/api/v1/me").status_code == 200


def test_set_password_from_stdin(connection: Connection, cast: Cast, anon: TestClient) -> None:
    code, _, err = _run("user", "set-password", cast.ben.email, "--password-stdin",
                        stdin="short\n")  # fmt: skip
    assert code == 1 and "at least 10 characters" in err
    code, _, err = _run("user", "set-password", cast.ben.email, "--password-stdin",
                        stdin="a fresh long password\n")  # fmt: skip
    assert code == 0, err
    page = anon.get("/login")
    assert page.status_code == 200
    sign_in(TestClient(anon.app, follow_redirects=False), cast.ben.email, "a fresh long password")


def test_token_list_and_revoke_by_prefix(connection: Connection, cast: Cast, api_as) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = _run("token", "list", "-w", "acme", "--json")
    assert code == 0
    tokens = json.loads(out)
    assert "token" not in tokens[0] and "token_hash" not in tokens[0]
    bens = next(t for t in tokens if t["email"] == cast.ben.email)
    code, out, err = _run("token", "revoke", bens["prefix"])
    assert code == 0, err
    assert api_as("ben").get("/api/v1/me").status_code == 401
    code, _, err = _run("token", "revoke", "rpt_nothing")
    assert code == 1 and "No token" in err
