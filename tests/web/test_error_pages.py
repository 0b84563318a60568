"""Error pages of the web app are HTML inside the shell; the API keeps problem documents."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from rapport.app import create_app
from rapport.web.session import Page
from tests.conftest import Cast
from tests.web.conftest import csrf_from, sign_in


def test_unknown_record_is_an_html_404_in_the_shell(signed_in: TestClient) -> None:
    response = signed_in.get(f"/people/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text
    assert 'aria-label="Main"' in response.text  # the navigation is there
    assert "Go to the start page" in response.text


def test_unknown_url_is_an_html_404_with_the_shell_when_signed_in(signed_in: TestClient) -> None:
    response = signed_in.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert 'aria-label="Main"' in response.text


def test_unknown_url_signed_out_is_a_bare_html_404(browser: TestClient) -> None:
    response = browser.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert 'aria-label="Main"' not in response.text


def test_malformed_id_is_a_404_page(signed_in: TestClient) -> None:
    response = signed_in.get("/people/not-a-uuid")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


def test_forbidden_is_an_html_403(signed_in_as: Callable[[str], TestClient]) -> None:
    client = signed_in_as("cleo")
    response = client.get("/people/new")
    assert response.status_code == 403
    assert "Not allowed" in response.text
    assert "text/html" in response.headers["content-type"]


def test_csrf_failure_is_an_html_page_that_saves_nothing(signed_in: TestClient) -> None:
    response = signed_in.post(
        "/people/new",
        data={"first_name": "Forged", "csrf_token": "wrong"},
        headers={"referer": "http://testserver/people/new"},
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert 'href="/people/new"' in response.text
    assert "Forged" not in signed_in.get("/people").text


def test_csrf_back_link_never_leaves_the_site(signed_in: TestClient) -> None:
    response = signed_in.post(
        "/people/new", data={"csrf_token": "wrong"}, headers={"referer": "https://evil.example/x"}
    )
    assert response.status_code == 403
    assert "evil.example" not in response.text


def test_htmx_requests_keep_the_problem_document(signed_in: TestClient) -> None:
    token = csrf_from(signed_in.get("/people").text)
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    response = signed_in.get(f"/people/{uuid.uuid4()}", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_api_errors_stay_problem_documents(api: TestClient) -> None:
    response = api.get(f"/api/v1/people/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert api.get("/api/v1/nothing").headers["content-type"] == "application/problem+json"


def test_a_bug_is_an_html_500_without_details(cast: Cast, connection: Connection) -> None:
    app = create_app(check_schema=False)
    router = APIRouter()

    @router.get("/boom-for-test")
    def boom(page: Page) -> None:
        raise RuntimeError("secret internals")

    app.router.routes.insert(0, router.routes[0])  # before the web app's own routes
    client = sign_in(TestClient(app, raise_server_exceptions=False, follow_redirects=False),
                     cast.ada.email)  # fmt: skip
    response = client.get("/boom-for-test")
    assert response.status_code == 500, response.text[-3000:]
    assert "Something went wrong" in response.text
    assert "secret internals" not in response.text
    assert 'aria-label="Main"' in response.text
