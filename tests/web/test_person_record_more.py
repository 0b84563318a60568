"""The person page's custom fields, company link, tags, communication preferences, timeline
by kind, purchases, and delete with undo."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_from
from tests.web.test_people import add

HTMX = {"HX-Request": "true"}


@pytest.fixture
def fields(api: TestClient) -> None:
    for body in (
        {"object_type": "person", "key": "nps", "label": "Last NPS", "field_type": "number"},
        {"object_type": "person", "key": "plan", "label": "Plan", "field_type": "select",
         "options": ["free", "pro"]},
        {"object_type": "person", "key": "renewal", "label": "Renewal", "field_type": "date"},
        {"object_type": "person", "key": "vip", "label": "VIP", "field_type": "boolean"},
        {"object_type": "person", "key": "topics", "label": "Topics",
         "field_type": "multiselect", "options": ["ai", "ml", "db"]},
    ):  # fmt: skip
        assert api.post("/api/v1/custom-fields", json=body).status_code == 201


@pytest.fixture
def grace(api: TestClient) -> dict[str, Any]:
    return add(api, "Grace", "Hopper", email="grace@navy.example.com")


def edit(client: TestClient, person: dict[str, Any], **fields: Any) -> Any:
    page = client.get(f"/people/{person['id']}", params={"edit": "true"}).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    data = {
        "csrf_token": csrf_from(page),
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "email": person["email"] or "",
        "lifecycle_stage": person["lifecycle_stage"],
        "version": version.group(1),
        **fields,
    }
    return client.post(f"/people/{person['id']}", data=data, headers=HTMX)


class TestCustomFields:
    def test_typed_inputs_on_the_edit_form(
        self, signed_in: TestClient, fields: None, grace: dict[str, Any]
    ) -> None:
        html = signed_in.get(f"/people/{grace['id']}", params={"edit": "true"}).text
        assert 'id="edit-custom-renewal" name="custom.renewal" value="" type="date"' in html
        assert '<select id="edit-custom-plan" name="custom.plan"' in html
        assert 'name="custom.topics" value="ml"' in html
        assert 'inputmode="decimal"' in html

    def test_saving_custom_fields(
        self, signed_in: TestClient, api: TestClient, fields: None, grace: dict[str, Any]
    ) -> None:
        response = edit(signed_in, grace, **{"custom.nps": "9", "custom.plan": "pro",
                        "custom.renewal": "2027-01-31", "custom.vip": "true",
                        "custom.topics.present": "1", "custom.topics": ["ai", "db"]})  # fmt: skip
        assert response.status_code == 200
        assert "Saved." in response.text
        custom = api.get(f"/api/v1/people/{grace['id']}").json()["custom"]
        assert custom == {"nps": 9, "plan": "pro", "renewal": "2027-01-31", "vip": True,
                          "topics": ["ai", "db"]}  # fmt: skip
        html = signed_in.get(f"/people/{grace['id']}").text
        assert "<dt>Last NPS</dt><dd>9</dd>" in html and "<dt>Topics</dt><dd>ai, db</dd>" in html
        # An empty input clears the value; an untouched group stays.
        edit(signed_in, grace, **{"custom.nps": "", "custom.topics.present": "1"})
        custom = api.get(f"/api/v1/people/{grace['id']}").json()["custom"]
        assert "nps" not in custom and "topics" not in custom and custom["plan"] == "pro"

    def test_invalid_value_shows_next_to_its_field_and_saves_nothing(
        self, signed_in: TestClient, api: TestClient, fields: None, grace: dict[str, Any]
    ) -> None:
        response = edit(signed_in, grace, job_title="Admiral", **{"custom.nps": "lots"})
        assert 'id="edit-custom-nps-error"' in response.text
        assert "is not a number" in response.text
        assert 'value="lots"' in response.text  # what was typed stays
        got = api.get(f"/api/v1/people/{grace['id']}").json()
        assert got["job_title"] is None and got["custom"] == {}


class TestCompanyLink:
    def test_link_by_name_and_unlink(
        self, signed_in: TestClient, api: TestClient, grace: dict[str, Any]
    ) -> None:
        navy = api.post("/api/v1/companies", json={"name": "US Navy"}).json()
        edit(signed_in, grace, company="US Navy")
        assert api.get(f"/api/v1/people/{grace['id']}").json()["company_id"] == navy["id"]
        assert f'href="/companies/{navy["id"]}"' in signed_in.get(f"/people/{grace['id']}").text
        edit(signed_in, grace, company="")
        assert api.get(f"/api/v1/people/{grace['id']}").json()["company_id"] is None

    def test_unknown_company_is_a_field_message(
        self, signed_in: TestClient, grace: dict[str, Any]
    ) -> None:
        response = edit(signed_in, grace, company="Nowhere Inc")
        assert 'id="f-company-error"' in response.text and "No company is called" in response.text

    def test_company_options_suggest_names(self, signed_in: TestClient, api: TestClient) -> None:
        api.post("/api/v1/companies", json={"name": "Navy Yard"})
        api.post("/api/v1/companies", json={"name": "Army"})
        html = signed_in.get("/companies/options", params={"company": "Nav"}, headers=HTMX).text
        assert '<option value="Navy Yard">' in html and "Army" not in html


class TestTags:
    def test_add_and_remove_in_place(
        self, signed_in: TestClient, api: TestClient, grace: dict[str, Any]
    ) -> None:
        token = csrf_from(signed_in.get(f"/people/{grace['id']}").text)
        response = signed_in.post(f"/people/{grace['id']}/tags",
                                  data={"csrf_token": token, "name": "cobol, pioneer"},
                                  headers=HTMX)  # fmt: skip
        assert response.text.lstrip().startswith('<section id="person-details"')
        assert 'aria-label="Remove the tag cobol"' in response.text
        names = {t["name"] for t in api.get(f"/api/v1/people/{grace['id']}").json()["tags"]}
        assert names == {"cobol", "pioneer"}
        signed_in.post(f"/people/{grace['id']}/tags/remove",
                       data={"csrf_token": token, "name": "cobol"}, headers=HTMX)  # fmt: skip
        names = {t["name"] for t in api.get(f"/api/v1/people/{grace['id']}").json()["tags"]}
        assert names == {"pioneer"}

    def test_read_only_cannot_tag(
        self, signed_in_as: Callable[[str], TestClient], grace: dict[str, Any]
    ) -> None:
        cleo = signed_in_as("cleo")
        page = cleo.get(f"/people/{grace['id']}").text
        assert "Add tag" not in page
        response = cleo.post(f"/people/{grace['id']}/tags",
                             data={"csrf_token": csrf_from(page), "name": "x"})  # fmt: skip
        assert response.status_code == 403


class TestCommunication:
    def test_consent_and_preferences_are_saved(
        self, signed_in: TestClient, api: TestClient, grace: dict[str, Any]
    ) -> None:
        page = signed_in.get(f"/people/{grace['id']}").text
        assert '<label for="pref-email">Email</label>' in page
        response = signed_in.post(
            f"/people/{grace['id']}/communication",
            data={"csrf_token": csrf_from(page), "consent_status": "granted", "email": "opted_in",
                  "sms": "opted_out", "version": str(grace["version"])},
            headers=HTMX,
        )  # fmt: skip
        assert response.text.lstrip().startswith('<section id="person-communication"')
        assert "Communication preferences saved." in response.text
        got = api.get(f"/api/v1/people/{grace['id']}").json()
        assert got["consent_status"] == "granted"
        assert got["preferences"]["email"] == "opted_in"
        assert got["preferences"]["sms"] == "opted_out"

    def test_a_stale_form_saves_nothing(
        self, signed_in: TestClient, api: TestClient, grace: dict[str, Any]
    ) -> None:
        page = signed_in.get(f"/people/{grace['id']}").text
        api.patch(f"/api/v1/people/{grace['id']}", json={"job_title": "Admiral"})
        response = signed_in.post(
            f"/people/{grace['id']}/communication",
            data={"csrf_token": csrf_from(page), "consent_status": "withdrawn",
                  "version": str(grace["version"])},
            headers=HTMX,
        )  # fmt: skip
        assert "Someone else changed this person" in response.text
        assert api.get(f"/api/v1/people/{grace['id']}").json()["consent_status"] == "unknown"

    def test_read_only_sees_but_cannot_change(
        self, signed_in_as: Callable[[str], TestClient], grace: dict[str, Any]
    ) -> None:
        cleo = signed_in_as("cleo")
        page = cleo.get(f"/people/{grace['id']}").text
        assert "Save preferences" not in page and "<dt>Consent</dt>" in page
        data = {"csrf_token": csrf_from(page), "consent_status": "granted"}
        response = cleo.post(f"/people/{grace['id']}/communication", data=data)
        assert response.status_code == 403


class TestTimelineAndPurchases:
    def test_record_a_purchase_and_filter_by_kind(
        self, signed_in: TestClient, grace: dict[str, Any]
    ) -> None:
        token = csrf_from(signed_in.get(f"/people/{grace['id']}").text)
        response = signed_in.post(
            f"/people/{grace['id']}/activities",
            data={"csrf_token": token, "kind": "purchase", "subject": "Compiler licence",
                  "amount": "1,299.50", "currency": "usd"},
            headers=HTMX,
        )  # fmt: skip
        assert "Purchase logged." in response.text and "1,299.50 USD" in response.text
        note = {"csrf_token": token, "kind": "note", "subject": "Met at the yard"}
        signed_in.post(f"/people/{grace['id']}/activities", data=note)
        params = {"part": "timeline", "kind": "purchase"}
        only = signed_in.get(f"/people/{grace['id']}", params=params, headers=HTMX).text
        assert "Compiler licence" in only and "Met at the yard" not in only
        assert '<option value="purchase" selected>' in only
        page = signed_in.get(f"/people/{grace['id']}").text
        assert "1,299.50 USD" in page  # the 360° spend

    def test_a_purchase_without_amount_is_refused(
        self, signed_in: TestClient, grace: dict[str, Any]
    ) -> None:
        token = csrf_from(signed_in.get(f"/people/{grace['id']}").text)
        response = signed_in.post(
            f"/people/{grace['id']}/activities",
            data={"csrf_token": token, "kind": "purchase", "subject": "x", "currency": "EUR"},
            headers=HTMX,
        )
        assert "A purchase needs an amount." in response.text
        assert "Nothing here yet" in response.text

    def test_an_unknown_kind_filter_shows_everything(
        self, signed_in: TestClient, grace: dict[str, Any]
    ) -> None:
        response = signed_in.get(f"/people/{grace['id']}", params={"kind": "nonsense"})
        assert response.status_code == 200


class TestDeleteWithUndo:
    def test_delete_then_undo(
        self, signed_in: TestClient, api: TestClient, grace: dict[str, Any]
    ) -> None:
        page = signed_in.get(f"/people/{grace['id']}").text
        assert f'action="/people/{grace["id"]}/delete"' in page
        response = signed_in.post(f"/people/{grace['id']}/delete",
                                  data={"csrf_token": csrf_from(page)})  # fmt: skip
        assert response.headers["location"] == "/people"
        listing = signed_in.get("/people").text
        assert "Grace Hopper was moved to the bin." in listing
        assert f'action="/people/{grace["id"]}/restore"' in listing
        assert signed_in.get(f"/people/{grace['id']}").status_code == 404
        response = signed_in.post(f"/people/{grace['id']}/restore",
                                  data={"csrf_token": csrf_from(listing)})  # fmt: skip
        assert response.headers["location"] == f"/people/{grace['id']}"
        assert api.get(f"/api/v1/people/{grace['id']}").status_code == 200

    def test_member_cannot_delete(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient, grace: dict[str, Any]
    ) -> None:
        ben = signed_in_as("ben")
        page = ben.get(f"/people/{grace['id']}").text
        assert "/delete" not in page
        response = ben.post(f"/people/{grace['id']}/delete", data={"csrf_token": csrf_from(page)})
        assert response.status_code == 403
        assert api.get(f"/api/v1/people/{grace['id']}").status_code == 200

    def test_without_csrf_nothing_is_deleted(
        self, signed_in: TestClient, api: TestClient, grace: dict[str, Any]
    ) -> None:
        assert signed_in.post(f"/people/{grace['id']}/delete").status_code == 403
        assert api.get(f"/api/v1/people/{grace['id']}").status_code == 200
