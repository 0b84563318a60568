"""A person's record page: the 360° view, editing in place, and logging interactions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Cast
from tests.web.conftest import csrf_from, sign_in
from tests.web.test_auth import give_password
from tests.web.test_people import add

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ada(api: TestClient) -> dict[str, Any]:
    person = add(api, "Ada", "Lovelace", email="ada@analytical.example.com", job_title="Analyst")
    api.post(
        "/api/v1/activities",
        json={"kind": "purchase", "person_id": person["id"], "amount": "120.50",
              "currency": "EUR", "subject": "Engine parts"},
    )  # fmt: skip
    api.post(
        "/api/v1/activities",
        json={"kind": "email", "direction": "inbound", "person_id": person["id"],
              "subject": "About the engine"},
    )  # fmt: skip
    return person


def _edit(client: TestClient, person: dict[str, Any], **fields: Any):  # type: ignore[no-untyped-def]
    headers = fields.pop("headers", {})
    page = client.get(f"/people/{person['id']}", params={"edit": "true"}).text
    data = {
        "csrf_token": csrf_from(page),
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "email": person["email"] or "",
        "lifecycle_stage": person["lifecycle_stage"],
        "version": str(person["version"]),
        **fields,
    }
    return client.post(f"/people/{person['id']}", data=data, headers=headers)


class TestRecordPage:
    def test_shows_key_facts_summary_and_timeline(
        self, signed_in: TestClient, ada: dict[str, Any]
    ) -> None:
        response = signed_in.get(f"/people/{ada['id']}")
        assert response.status_code == 200
        html = response.text
        assert "<h1>Ada Lovelace</h1>" in html
        assert "Analyst" in html and "ada@analytical.example.com" in html
        assert "120.50 EUR" in html  # spend, from the timeline
        assert "Engine parts" in html and "About the engine" in html

    def test_timeline_filters_by_channel(self, signed_in: TestClient, ada: dict[str, Any]) -> None:
        html = signed_in.get(
            f"/people/{ada['id']}", params={"part": "timeline", "channel": "email"}, headers=HTMX
        ).text
        assert html.lstrip().startswith('<section id="timeline"')
        assert "About the engine" in html and "Engine parts" not in html

    def test_unknown_person_is_404(self, signed_in: TestClient) -> None:
        assert signed_in.get(f"/people/{uuid.uuid4()}").status_code == 404

    def test_another_workspace_gets_404(
        self, browser: TestClient, cast: Cast, ada: dict[str, Any]
    ) -> None:
        sign_in(browser, cast.dev.email)
        assert browser.get(f"/people/{ada['id']}").status_code == 404


class TestEditInPlace:
    def test_saving_changes_the_person(self, signed_in: TestClient, ada: dict[str, Any]) -> None:
        response = _edit(signed_in, ada, job_title="Mathematician")
        assert response.status_code == 303
        html = signed_in.get(f"/people/{ada['id']}").text
        assert "Mathematician" in html and "Saved." in html

    def test_htmx_save_answers_the_details_with_a_toast(
        self, signed_in: TestClient, ada: dict[str, Any]
    ) -> None:
        response = _edit(signed_in, ada, job_title="Countess", headers=HTMX)
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<section id="person-details"')
        assert "Countess" in response.text
        assert 'hx-swap-oob="beforeend"' in response.text and "Saved." in response.text

    def test_a_stale_form_is_refused_and_says_so(
        self, signed_in: TestClient, api: TestClient, ada: dict[str, Any]
    ) -> None:
        changed = api.patch(f"/api/v1/people/{ada['id']}", json={"job_title": "Engineer"})
        assert changed.status_code == 200
        response = _edit(signed_in, ada, job_title="Poet")  # still version 1
        assert response.status_code == 200
        assert "Someone else changed this person" in response.text
        assert api.get(f"/api/v1/people/{ada['id']}").json()["job_title"] == "Engineer"

    def test_invalid_fields_are_shown_next_to_them(
        self, signed_in: TestClient, ada: dict[str, Any]
    ) -> None:
        response = _edit(signed_in, ada, email="nope")
        assert 'id="f-email-error"' in response.text

    def test_read_only_members_get_no_edit_button(
        self,
        browser: TestClient,
        database,
        cast: Cast,
        ada: dict[str, Any],  # type: ignore[no-untyped-def]
    ) -> None:
        give_password(database, cast.cleo.user_id)
        sign_in(browser, cast.cleo.email)
        html = browser.get(f"/people/{ada['id']}").text
        assert "Ada Lovelace" in html
        assert "?edit=true" not in html and "Log it" not in html
        assert _edit(browser, ada, job_title="x").status_code == 403


class TestQuickLog:
    def test_a_logged_call_appears_on_the_timeline(
        self, signed_in: TestClient, ada: dict[str, Any]
    ) -> None:
        token = csrf_from(signed_in.get(f"/people/{ada['id']}").text)
        response = signed_in.post(
            f"/people/{ada['id']}/activities",
            data={"csrf_token": token, "kind": "call", "subject": "Discussed the engine"},
            headers=HTMX,
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<section id="timeline"')
        assert "Discussed the engine" in response.text
        assert "Call logged." in response.text

    def test_without_csrf_token_is_rejected(
        self, signed_in: TestClient, ada: dict[str, Any]
    ) -> None:
        response = signed_in.post(f"/people/{ada['id']}/activities", data={"kind": "note"})
        assert response.status_code == 403
