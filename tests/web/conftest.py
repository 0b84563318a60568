"""Browser-less tests of the web app: a TestClient that keeps cookies, and signing in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from rapport.web.ratelimit import login_throttle
from tests.conftest import PASSWORD, Cast

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_from(html: str) -> str:
    """The CSRF token a page embeds (hidden input or meta tag)."""
    match = CSRF_INPUT.search(html) or CSRF_META.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    login_throttle.reset()
    yield
    login_throttle.reset()


@pytest.fixture
def browser(app, connection: Connection) -> TestClient:  # type: ignore[no-untyped-def]
    """A signed-out browser: keeps cookies, does not follow redirects."""
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def signed_in(browser: TestClient, cast: Cast) -> TestClient:
    """Ada, the owner of Acme, signed in through the login form."""
    return sign_in(browser, cast.ada.email)


@pytest.fixture
def page_token(signed_in: TestClient) -> Callable[[str], str]:
    """The CSRF token of a page the signed-in browser loads."""
    return lambda path: csrf_from(signed_in.get(path).text)


@pytest.fixture
def signed_in_as(app, connection: Connection, cast: Cast) -> Callable[[str], TestClient]:  # type: ignore[no-untyped-def]
    """``signed_in_as("cleo")``: a browser of its own signed in as that cast member (given a
    password for the test; rolled back with everything else)."""
    from rapport.accounts.models import User
    from rapport.core import security
    from rapport.core.db import get_database

    def sign_in_as(name: str) -> TestClient:
        member = getattr(cast, name)
        with get_database().session(unscoped=True) as session:
            user = session.get(User, member.user_id)
            assert user is not None
            user.password_hash = security.hash_password(PASSWORD)
            session.commit()
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        return sign_in(client, member.email)

    return sign_in_as
