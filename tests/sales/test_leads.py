"""Lead capture: the public form (honeypot, unknown key, CORS, rate limit) and the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.sales.service.leads import FORM_LIMIT

Api = Callable[[str], TestClient]
SITE = "https://www.acme.test"


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    FORM_LIMIT.reset()
    yield
    FORM_LIMIT.reset()


@pytest.fixture
def form(api: TestClient) -> dict[str, Any]:
    response = api.post(
        "/api/v1/lead-forms",
        json={"name": "Contact us", "allowed_origins": [SITE + "/"], "source": "website"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _submit(anon: TestClient, form: dict[str, Any], **body: Any) -> Any:
    url = f"/api/v1/forms/{form['key']}/submit"
    data = {"email": "lena@prospect.example.org", "first_name": "Lena", **body}
    return anon.post(url, json=data, headers={"Origin": SITE})


def _people(api: TestClient, email: str) -> list[dict[str, Any]]:
    return list(api.get("/api/v1/people", params={"email": email}).json()["items"])


class TestPublicForm:
    def test_submission_creates_a_person_with_source_utm_and_timeline(
        self, anon: TestClient, api: TestClient, form: dict[str, Any]
    ) -> None:
        response = _submit(anon, form, utm_source="google", utm_campaign="spring", message="Hi")
        assert response.status_code == 202, response.text
        assert response.headers["access-control-allow-origin"] == SITE
        body = response.json()
        assert body["status"] == "captured" and body["created"]
        person = api.get(f"/api/v1/people/{body['person_id']}").json()
        assert (person["email"], person["first_name"], person["source"]) == (
            "lena@prospect.example.org", "Lena", "website"
        )  # fmt: skip
        timeline = api.get(f"/api/v1/people/{body['person_id']}/timeline").json()["items"]
        note = timeline[0]
        assert (note["kind"], note["channel"], note["subject"]) == (
            "note", "web", "Form submitted: Contact us"
        )  # fmt: skip
        assert note["meta"]["utm_campaign"] == "spring"

    def test_second_submission_updates_the_same_person(
        self, anon: TestClient, api: TestClient, form: dict[str, Any]
    ) -> None:
        first = _submit(anon, form).json()
        again = _submit(anon, form, email="LENA@prospect.example.org", job_title="CTO").json()
        assert again["person_id"] == first["person_id"] and not again["created"]
        assert len(_people(api, "lena@prospect.example.org")) == 1
        assert api.get(f"/api/v1/people/{first['person_id']}").json()["job_title"] == "CTO"

    def test_html_form_post_is_accepted(self, anon: TestClient, form: dict[str, Any]) -> None:
        response = anon.post(
            f"/api/v1/forms/{form['key']}/submit",
            data={"email": "html@prospect.example.org", "first_name": "Hal"},
        )
        assert response.status_code == 202 and response.json()["status"] == "captured"

    def test_honeypot_answers_202_and_stores_nothing(
        self, anon: TestClient, api: TestClient, form: dict[str, Any]
    ) -> None:
        response = _submit(anon, form, email="bot@spam.example.com", website="http://spam.test")
        assert response.status_code == 202
        assert response.json()["status"] == "ignored"
        assert _people(api, "bot@spam.example.com") == []

    def test_unknown_form_key_is_404(self, anon: TestClient) -> None:
        response = anon.post("/api/v1/forms/nope/submit", json={"email": "a@b.example.com"})
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    def test_bad_email_is_422_and_nothing_is_written(
        self, anon: TestClient, api: TestClient, form: dict[str, Any]
    ) -> None:
        response = _submit(anon, form, email="not-an-email")
        assert response.status_code == 422
        assert api.get("/api/v1/people").json()["items"] == []

    def test_origin_not_allowed_is_403(self, anon: TestClient, form: dict[str, Any]) -> None:
        response = anon.post(
            f"/api/v1/forms/{form['key']}/submit",
            json={"email": "x@y.example.com"},
            headers={"Origin": "https://evil.test"},
        )
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers

    def test_preflight_allows_only_configured_origins(
        self, anon: TestClient, form: dict[str, Any]
    ) -> None:
        url = f"/api/v1/forms/{form['key']}/submit"
        ok = anon.options(url, headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == SITE
        assert "POST" in ok.headers["access-control-allow-methods"]
        evil = anon.options(url, headers={"Origin": "https://evil.test"})
        assert evil.status_code == 204 and "access-control-allow-origin" not in evil.headers
        assert anon.options("/api/v1/forms/nope/submit").status_code == 404

    def test_rate_limit_is_429_with_retry_after(
        self, anon: TestClient, form: dict[str, Any]
    ) -> None:
        for i in range(FORM_LIMIT.capacity):
            assert _submit(anon, form, email=f"l{i}@p.example.com").status_code == 202
        limited = _submit(anon, form, email="late@p.example.com")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["type"].endswith("rate-limited")

    def test_retired_form_key_stops_working(
        self, anon: TestClient, api: TestClient, form: dict[str, Any]
    ) -> None:
        assert api.delete(f"/api/v1/lead-forms/{form['id']}").status_code == 204
        assert _submit(anon, form).status_code == 404


class TestApiCreate:
    def test_member_captures_a_lead(self, api_as: Api, api: TestClient) -> None:
        response = api_as("ben").post(
            "/api/v1/leads", json={"email": "api@lead.example.com", "utm_source": "partner"}
        )
        assert response.status_code == 201, response.text
        person = api.get(f"/api/v1/people/{response.json()['person_id']}").json()
        assert person["source"] == "api"

    def test_read_only_cannot(self, api_as: Api) -> None:
        response = api_as("cleo").post("/api/v1/leads", json={"email": "c@lead.example.com"})
        assert response.status_code == 403

    def test_forms_are_admin_configuration(self, api_as: Api) -> None:
        assert api_as("ben").post("/api/v1/lead-forms", json={"name": "x"}).status_code == 403

    def test_bad_origin_in_configuration_is_422(self, api: TestClient) -> None:
        body = {"name": "x", "allowed_origins": ["www.acme.test/contact"]}
        assert api.post("/api/v1/lead-forms", json=body).status_code == 422
