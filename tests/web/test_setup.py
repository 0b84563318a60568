"""First run: while no workspace has an owner, /setup creates one and signs them in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, update

from rapport.accounts.models import Membership, User
from tests.conftest import PASSWORD, Cast
from tests.web.conftest import csrf_from

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def no_owner(connection: Connection) -> Iterator[None]:
    """Demote every owner (inside the test's transaction, rolled back afterwards)."""
    connection.execute(update(Membership).where(Membership.role == "owner").values(role="admin"))
    yield


def _setup(client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/setup").text)
    return client.post("/setup", data={"csrf_token": token, **fields})


class TestWhenAnOwnerExists:
    def test_setup_sends_you_to_sign_in(self, browser: TestClient) -> None:
        response = browser.get("/setup")
        assert response.status_code == 303
        assert response.headers["location"] == "/login"

    def test_posting_the_form_changes_nothing(self, browser: TestClient, cast: Cast) -> None:
        token = csrf_from(browser.get("/login").text)
        response = browser.post(
            "/setup",
            data={
                "csrf_token": token,
                "name": "Eve",
                "email": "eve@evil.example.com",
                "password": NEW_PASSWORD,
            },
        )
        assert response.status_code == 303
        assert "rapport_session" not in browser.cookies


@pytest.mark.usefixtures("no_owner")
class TestFirstRun:
    def test_sign_in_sends_you_to_setup(self, browser: TestClient) -> None:
        response = browser.get("/login")
        assert response.status_code == 303
        assert response.headers["location"] == "/setup"

    def test_setup_offers_the_workspace_that_exists(self, browser: TestClient) -> None:
        html = browser.get("/setup").text
        assert "Set up Rapport" in html
        assert "Acme" in html  # the oldest workspace without an owner
        assert 'name="workspace_name"' not in html

    def test_creates_the_owner_and_signs_them_in(
        self, browser: TestClient, connection: Connection, cast: Cast
    ) -> None:
        response = _setup(
            browser, name="Olivia", email="olivia@acme.example.com", password=NEW_PASSWORD
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        page = browser.get("/people")
        assert page.status_code == 200
        assert "Welcome to Rapport, Olivia" in page.text
        role = connection.execute(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(User.email == "olivia@acme.example.com")
        ).scalar_one()
        assert role == "owner"
        assert browser.get("/setup").status_code == 303  # done: no second owner this way

    def test_field_errors_are_shown_next_to_the_fields(self, browser: TestClient) -> None:
        response = _setup(browser, name="Olivia", email="olivia@acme.example.com", password="short")
        assert response.status_code == 200
        assert 'id="password-error"' in response.text
        assert "at least 10 characters" in response.text
        assert 'value="olivia@acme.example.com"' in response.text
        assert "rapport_session" not in browser.cookies

    def test_a_bad_email_is_reported(self, browser: TestClient) -> None:
        response = _setup(browser, name="Olivia", email="not-an-email", password=NEW_PASSWORD)
        assert 'id="email-error"' in response.text

    def test_an_existing_account_needs_its_own_password(
        self, browser: TestClient, cast: Cast
    ) -> None:
        response = _setup(browser, name="Mallory", email=cast.dev.email, password=NEW_PASSWORD)
        assert "enter its password" in response.text
        assert "rapport_session" not in browser.cookies

    def test_an_existing_account_with_its_password_becomes_owner(
        self, browser: TestClient, cast: Cast
    ) -> None:
        response = _setup(browser, name="Dev", email=cast.dev.email, password=PASSWORD)
        assert response.status_code == 303

    def test_without_csrf_token_is_rejected(self, browser: TestClient) -> None:
        browser.get("/setup")
        response = browser.post(
            "/setup", data={"name": "O", "email": "o@acme.example.com", "password": NEW_PASSWORD}
        )
        assert response.status_code == 403
