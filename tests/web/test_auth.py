"""Signing in and out, picking a workspace, and the cookie the browser gets."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from rapport.accounts import service as accounts
from rapport.accounts.models import User
from rapport.core import security
from rapport.core.db import Database
from rapport.core.permissions import Role
from rapport.web.ratelimit import MAX_FAILURES_PER_ACCOUNT
from tests.conftest import PASSWORD, Cast
from tests.web.conftest import csrf_from, sign_in


def _post_login(client: TestClient, email: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


class TestLoginPage:
    def test_shows_the_form_with_a_csrf_token_and_cookie(self, browser: TestClient) -> None:
        response = browser.get("/login")
        assert response.status_code == 200
        assert 'action="/login"' in response.text
        assert csrf_from(response.text)
        assert "rapport_csrf" in response.cookies
        assert "script-src 'self'" in response.headers["content-security-policy"]

    def test_a_foreign_next_url_becomes_home(self, browser: TestClient) -> None:
        response = browser.get("/login", params={"next": "//evil.example/steal"})
        assert 'name="next" value="/"' in response.text

    def test_signed_in_user_goes_straight_on(self, signed_in: TestClient) -> None:
        response = signed_in.get("/login", params={"next": "/companies"})
        assert response.status_code == 303
        assert response.headers["location"] == "/companies"


class TestSignIn:
    def test_right_password_sets_a_safe_session_cookie(
        self, browser: TestClient, cast: Cast
    ) -> None:
        response = _post_login(browser, cast.ada.email, PASSWORD)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith("rapport_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http in this test
        data = security.read_session(browser.cookies["rapport_session"])
        assert data is not None
        assert data["user"] == str(cast.ada.user_id)
        assert data["workspace"] == str(cast.acme)
        assert len(data["csrf"]) >= 20

    def test_cookie_is_secure_over_https(self, app, connection, cast: Cast) -> None:  # type: ignore[no-untyped-def]
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        response = _post_login(client, cast.ada.email, PASSWORD)
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith("rapport_session=")
        )
        assert "Secure" in cookie

    def test_goes_back_to_the_page_asked_for(self, browser: TestClient, cast: Cast) -> None:
        response = _post_login(browser, cast.ada.email, PASSWORD, next="/companies")
        assert response.headers["location"] == "/companies"

    def test_wrong_password_shows_the_form_again_with_a_message(
        self, browser: TestClient, cast: Cast
    ) -> None:
        response = _post_login(browser, cast.ada.email, "wrong password!")
        assert response.status_code == 200
        assert "Wrong email or password." in response.text
        assert f'value="{cast.ada.email}"' in response.text
        assert "rapport_session" not in browser.cookies

    def test_unknown_email_gets_the_same_message(self, browser: TestClient) -> None:
        response = _post_login(browser, "nobody@acme.test", "whatever it is")
        assert "Wrong email or password." in response.text

    def test_repeated_failures_are_throttled_even_with_the_right_password(
        self, browser: TestClient, cast: Cast
    ) -> None:
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            _post_login(browser, cast.ada.email, "wrong password!")
        response = _post_login(browser, cast.ada.email, PASSWORD)
        assert response.status_code == 200
        assert "Too many failed attempts" in response.text
        assert "rapport_session" not in browser.cookies

    def test_throttling_one_account_leaves_others_alone(
        self, browser: TestClient, cast: Cast
    ) -> None:
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            _post_login(browser, cast.ada.email, "wrong password!")
        assert _post_login(browser, cast.dev.email, PASSWORD).status_code == 303

    def test_without_csrf_token_is_rejected(self, browser: TestClient, cast: Cast) -> None:
        browser.get("/login")
        response = browser.post("/login", data={"email": cast.ada.email, "password": PASSWORD})
        assert response.status_code == 403
        assert "This form has expired" in response.text

    def test_with_another_browsers_token_is_rejected(
        self, app, browser: TestClient, cast: Cast
    ) -> None:  # type: ignore[no-untyped-def]
        other = TestClient(app, follow_redirects=False)
        token = csrf_from(other.get("/login").text)
        browser.get("/login")
        response = browser.post(
            "/login", data={"email": cast.ada.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 403


class TestSeveralWorkspaces:
    def _dev_joins_acme(self, database: Database, cast: Cast) -> None:
        with database.session(unscoped=True) as session:
            acme = accounts.get_workspace(session, str(cast.acme))
            accounts.create_user(
                session, acme, email=cast.dev.email, password=None, role=Role.MEMBER
            )
            session.commit()

    def test_user_picks_the_workspace_to_open(
        self, browser: TestClient, database: Database, cast: Cast
    ) -> None:
        self._dev_joins_acme(database, cast)
        page = _post_login(browser, cast.dev.email, PASSWORD)
        assert page.status_code == 200
        assert "Choose a workspace" in page.text
        assert "Acme" in page.text and "Globex" in page.text
        ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
        response = browser.post(
            "/login/workspace",
            data={
                "ticket": ticket,
                "workspace": str(cast.acme),
                "csrf_token": csrf_from(page.text),
            },
        )
        assert response.status_code == 303
        data = security.read_session(browser.cookies["rapport_session"])
        assert data is not None and data["workspace"] == str(cast.acme)

    def test_a_forged_ticket_is_refused(self, browser: TestClient, cast: Cast) -> None:
        token = csrf_from(browser.get("/login").text)
        response = browser.post(
            "/login/workspace",
            data={"ticket": "forged", "workspace": str(cast.acme), "csrf_token": token},
        )
        assert response.status_code == 200
        assert "please sign in again" in response.text
        assert "rapport_session" not in browser.cookies

    def test_a_workspace_the_user_is_not_in_is_refused(
        self, browser: TestClient, database: Database, cast: Cast
    ) -> None:
        self._dev_joins_acme(database, cast)
        page = _post_login(browser, cast.dev.email, PASSWORD)
        ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
        with database.session(unscoped=True) as session:
            other = accounts.create_workspace(session, "Initech")
            session.commit()
            other_id = other.id
        response = browser.post(
            "/login/workspace",
            data={"ticket": ticket, "workspace": str(other_id), "csrf_token": csrf_from(page.text)},
        )
        assert "not a member of that workspace" in response.text
        assert "rapport_session" not in browser.cookies


class TestSignOut:
    def test_clears_the_session_and_pages_need_sign_in_again(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/people").text)
        response = signed_in.post("/logout", data={"csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert "rapport_session" not in signed_in.cookies
        assert signed_in.get("/people").status_code == 303
        assert "signed out" in signed_in.get("/login").text  # the toast travelled

    def test_without_csrf_token_is_rejected(self, signed_in: TestClient) -> None:
        response = signed_in.post("/logout")
        assert response.status_code == 403
        assert signed_in.get("/people").status_code == 200

    def test_htmx_sign_out_answers_hx_redirect(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/people").text)
        response = signed_in.post("/logout", headers={"HX-Request": "true", "X-CSRF-Token": token})
        assert response.headers["hx-redirect"] == "/login"


def give_password(database: Database, user_id: uuid.UUID) -> None:
    """Only Ada and Dev have passwords in the cast; give another member one (rolled back)."""
    with database.session(unscoped=True) as session:
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash = security.hash_password(PASSWORD)
        session.commit()


def test_a_read_only_member_can_sign_in(
    browser: TestClient, database: Database, cast: Cast
) -> None:
    give_password(database, cast.cleo.user_id)
    sign_in(browser, cast.cleo.email)
    assert "Read only" in browser.get("/people").text
