"""CSRF: cookie-authenticated writes must echo the session's token; bearer tokens need not."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rapport.core import security
from tests.web.conftest import csrf_from, sign_in


def _session_token(client: TestClient) -> str:
    data = security.read_session(client.cookies["rapport_session"])
    assert data is not None
    return str(data["csrf"])


class TestHtmlForms:
    def test_token_in_the_header_is_accepted(self, signed_in: TestClient) -> None:
        token = _session_token(signed_in)
        assert signed_in.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303

    def test_token_in_the_form_is_accepted(self, signed_in: TestClient) -> None:
        token = csrf_from(signed_in.get("/people").text)
        assert signed_in.post("/logout", data={"csrf_token": token}).status_code == 303

    def test_a_wrong_token_is_rejected(self, signed_in: TestClient) -> None:
        response = signed_in.post("/logout", data={"csrf_token": "guess"})
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "This form has expired" in response.text

    def test_a_json_body_cannot_smuggle_the_token(self, signed_in: TestClient) -> None:
        token = _session_token(signed_in)
        assert signed_in.post("/logout", json={"csrf_token": token}).status_code == 403

    def test_the_page_token_is_the_session_token(self, signed_in: TestClient) -> None:
        assert csrf_from(signed_in.get("/people").text) == _session_token(signed_in)

    def test_signing_in_rotates_the_token(self, browser: TestClient, cast) -> None:  # type: ignore[no-untyped-def]
        before = csrf_from(browser.get("/login").text)
        sign_in(browser, cast.ada.email)
        assert _session_token(browser) != before
        assert "rapport_csrf" not in browser.cookies


class TestJsonApiWithTheSessionCookie:
    def test_reads_need_no_token(self, signed_in: TestClient) -> None:
        response = signed_in.get("/api/v1/me")
        assert response.status_code == 200
        assert response.json()["role"] == "owner"

    def test_writes_without_the_header_are_rejected(self, signed_in: TestClient) -> None:
        response = signed_in.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"]})
        assert response.status_code == 403
        assert response.json()["type"].endswith("/csrf-rejected")

    def test_writes_with_the_header_go_through(self, signed_in: TestClient) -> None:
        response = signed_in.post(
            "/api/v1/tokens",
            json={"name": "x", "scopes": ["read"]},
            headers={"X-CSRF-Token": _session_token(signed_in)},
        )
        assert response.status_code == 201

    def test_bearer_tokens_need_no_csrf_header(self, api: TestClient) -> None:
        response = api.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"]})
        assert response.status_code == 201
