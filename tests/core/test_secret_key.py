"""The session key is never public: init generates one per database, serve refuses a known one.

Through real ``rapport init`` + ``rapport serve`` processes, on SQLite or PostgreSQL following
RAPPORT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

from rapport.core import instance
from rapport.core.config import get_settings
from tests.live import OWNER_EMAIL, OWNER_PASSWORD, Server, serve, start_server
from tests.web.conftest import csrf_from

RAPPORT = Path(sys.executable).parent / "rapport"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server made by ``rapport init`` with no RAPPORT_SECRET_KEY at all."""
    server = start_server(tmp_path_factory.mktemp("keyless"), with_owner=True, generated_key=True)
    yield server
    server.stop()
    server.drop_database()


def _stored_key(server: Server) -> str:
    engine = create_engine(server.env["RAPPORT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return str(
                conn.scalar(text("SELECT value FROM instance_settings WHERE name = 'secret_key'"))
            )
    finally:
        engine.dispose()


def _owner_ids(server: Server) -> tuple[str, str]:
    me = httpx.get(
        server.url + "/api/v1/me", headers={"Authorization": f"Bearer {server.token()}"}
    ).json()
    return me["user_id"], me["workspace_id"]


def _cookie(key: str, user_id: str, workspace_id: str) -> dict[str, str]:
    value = URLSafeTimedSerializer(key, salt="rapport-session").dumps(
        {"user": user_id, "workspace": workspace_id, "csrf": "forged"}
    )
    return {"rapport_session": value}


def _sign_in(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=server.url, follow_redirects=False)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    return client


class TestGeneratedKey:
    def test_init_stores_a_random_key_of_its_own(self, generated: Server) -> None:
        key = _stored_key(generated)
        assert key != instance.PUBLIC_DEFAULT_KEY
        assert len(key) >= 64  # token_urlsafe(48)

    def test_a_cookie_forged_with_the_public_default_is_refused(self, generated: Server) -> None:
        user_id, workspace_id = _owner_ids(generated)
        forged = _cookie(instance.PUBLIC_DEFAULT_KEY, user_id, workspace_id)
        api = httpx.get(generated.url + "/api/v1/me", cookies=forged)
        assert api.status_code == 401
        assert api.headers["content-type"].startswith("application/problem+json")
        page = httpx.get(generated.url + "/", cookies=forged, follow_redirects=False)
        assert page.status_code in (302, 303, 307)
        assert page.headers["location"].startswith("/login")
        # The same payload under the database's own key is accepted: the refusal is the key's.
        genuine = _cookie(_stored_key(generated), user_id, workspace_id)
        assert httpx.get(generated.url + "/api/v1/me", cookies=genuine).status_code == 200

    def test_a_session_signed_before_a_restart_is_valid_after_it(self, generated: Server) -> None:
        browser = _sign_in(generated)
        user_id, _workspace_id = _owner_ids(generated)
        assert browser.get("/api/v1/me").json()["user_id"] == user_id
        key_before = _stored_key(generated)
        generated.stop()
        restarted = serve(generated.env, generated.log, generated.drop_database)
        generated.url, generated.process = restarted.url, restarted.process
        browser.base_url = httpx.URL(restarted.url)
        me = browser.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["user_id"] == user_id
        assert _stored_key(generated) == key_before
        browser.close()


def _serve_briefly(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``rapport serve`` that must exit by itself; one that starts is stopped after 20 s."""
    try:
        return subprocess.run(
            [str(RAPPORT), "serve", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"serve started instead of refusing: {exc.stderr!r}") from exc


class TestServeRefusesAKnownKey:
    @pytest.mark.parametrize(
        ("key", "says"),
        [
            (instance.PUBLIC_DEFAULT_KEY, "public default"),
            ("", "is empty"),
            ("short-key", "too short"),
        ],
    )
    def test_serve_exits_with_a_reason(self, live_server: Server, key: str, says: str) -> None:
        done = _serve_briefly({**live_server.env, "RAPPORT_SECRET_KEY": key})
        assert done.returncode == 1
        assert says in done.stderr
        assert "refusing to start" in done.stderr

    def test_dev_mode_serves_with_a_loud_warning(self, live_server: Server, tmp_path: Path) -> None:
        env = {
            **live_server.env,
            "RAPPORT_SECRET_KEY": instance.PUBLIC_DEFAULT_KEY,
            "RAPPORT_DEV_MODE": "true",
        }
        dev = serve(env, tmp_path / "dev.log", lambda: None)
        try:
            assert httpx.get(dev.url + "/readyz").status_code == 200
            user_id, workspace_id = _owner_ids(live_server)
            cookie = _cookie(instance.PUBLIC_DEFAULT_KEY, user_id, workspace_id)
            assert httpx.get(dev.url + "/api/v1/me", cookies=cookie).status_code == 200
        finally:
            dev.stop()
        assert "DEVELOPMENT MODE" in dev.log.read_text()


class TestSessionKeyInProcess:
    """Every path that signs or reads a session asks ``session_secret_key``."""

    @pytest.fixture
    def settings_env(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
        get_settings.cache_clear()
        yield monkeypatch
        monkeypatch.undo()
        get_settings.cache_clear()

    def test_public_default_is_refused_even_when_set_explicitly(
        self, settings_env: pytest.MonkeyPatch
    ) -> None:
        settings_env.setenv("RAPPORT_SECRET_KEY", instance.PUBLIC_DEFAULT_KEY)
        with pytest.raises(instance.InsecureSecretKey, match="public default"):
            instance.session_secret_key()

    def test_an_explicit_key_wins_over_the_database(self, settings_env: pytest.MonkeyPatch) -> None:
        explicit = "x" * 40
        settings_env.setenv("RAPPORT_SECRET_KEY", explicit)
        assert instance.session_secret_key() == explicit

    def test_the_database_key_is_used_when_none_is_set(
        self, database: object, settings_env: pytest.MonkeyPatch
    ) -> None:
        settings_env.delenv("RAPPORT_SECRET_KEY", raising=False)
        key = instance.session_secret_key()
        assert key != instance.PUBLIC_DEFAULT_KEY
        assert len(key) >= 64

    def test_dev_mode_lets_the_public_default_through(
        self, settings_env: pytest.MonkeyPatch
    ) -> None:
        settings_env.setenv("RAPPORT_SECRET_KEY", instance.PUBLIC_DEFAULT_KEY)
        settings_env.setenv("RAPPORT_DEV_MODE", "true")
        assert instance.session_secret_key() == instance.PUBLIC_DEFAULT_KEY
