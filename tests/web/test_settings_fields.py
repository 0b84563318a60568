"""Settings → Custom fields through the real stack: list, add, edit, type change, archive."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_from

PAGE = "/settings/fields"


def audited(api: TestClient, record_id: str) -> list[str]:
    """The audit log's actions on one record, newest first."""
    response = api.get("/api/v1/audit", params={"record": record_id})
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["items"]]


def _field(api: TestClient, key: str, kind: str = "text", **more: object) -> dict:
    body = {"object_type": "person", "key": key, "label": key.title(), "field_type": kind, **more}
    response = api.post("/api/v1/custom-fields", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _person(api: TestClient, custom: dict) -> str:
    response = api.post("/api/v1/people", json={"first_name": "Val", "custom": custom})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_settings_opens_on_a_section_and_lists_custom_fields(
    signed_in: TestClient, api: TestClient
) -> None:
    _field(api, "nps", "number")
    assert signed_in.get("/settings").headers["location"].startswith("/settings/")
    html = signed_in.get(PAGE).text
    assert "Custom fields" in html and "<code>nps</code>" in html
    assert 'aria-current="page">Custom fields' in html


def test_add_a_field_with_a_derived_key_and_audit_it(
    signed_in: TestClient, api: TestClient
) -> None:
    token = csrf_from(signed_in.get(PAGE).text)
    response = signed_in.post(
        PAGE,
        data={
            "csrf_token": token,
            "object_type": "company",
            "label": "Contract tier",
            "field_type": "select",
            "options": "Gold\nSilver",
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{PAGE}?type=company"
    fields = api.get("/api/v1/custom-fields", params={"object_type": "company"}).json()
    made = next(f for f in fields if f["key"] == "contract_tier")
    assert made["options"] == ["Gold", "Silver"] and made["field_type"] == "select"
    assert audited(api, made["id"]), "the new field is audited"


def test_validation_messages_sit_next_to_the_field(signed_in: TestClient) -> None:
    token = csrf_from(signed_in.get(PAGE).text)
    response = signed_in.post(PAGE, data={"csrf_token": token, "label": "", "field_type": "select"})
    assert response.status_code == 422
    assert 'id="new-field-label-error">Give the field a name.' in response.text
    response = signed_in.post(
        PAGE, data={"csrf_token": token, "label": "Tier", "field_type": "select", "options": ""}
    )
    assert response.status_code == 422
    assert 'id="new-field-options-error">give at least one option' in response.text


def test_a_plain_member_is_refused(signed_in_as: Callable[[str], TestClient], api) -> None:  # type: ignore[no-untyped-def]
    field = _field(api, "refused")
    ben = signed_in_as("ben")
    assert ben.get(PAGE).status_code == 403
    assert ben.get(f"{PAGE}/{field['id']}").status_code == 403
    token = csrf_from(ben.get("/people").text)
    response = ben.post(PAGE, data={"csrf_token": token, "label": "X", "field_type": "text"})
    assert response.status_code == 403
    response = ben.post(f"{PAGE}/{field['id']}/archive", data={"csrf_token": token})
    assert response.status_code == 403


def test_a_post_without_the_csrf_token_is_refused(signed_in: TestClient, api) -> None:  # type: ignore[no-untyped-def]
    field = _field(api, "csrf_check")
    assert signed_in.post(PAGE, data={"label": "X", "field_type": "text"}).status_code == 403
    response = signed_in.post(f"{PAGE}/{field['id']}/archive", data={})
    assert response.status_code == 403
    assert api.get(f"/api/v1/custom-fields/{field['id']}").status_code == 200


def test_edit_the_label_and_refuse_removing_an_option_in_use(
    signed_in: TestClient, api: TestClient
) -> None:
    field = _field(api, "tier", "select", options=["Gold", "Silver", "Bronze"])
    _person(api, {"tier": "Gold"})
    _person(api, {"tier": "Gold"})
    edit = f"{PAGE}/{field['id']}"
    token = csrf_from(signed_in.get(edit).text)
    refused = signed_in.post(
        edit,
        data={
            "csrf_token": token,
            "label": "Tier",
            "options": "Silver\nBronze",
            "version": field["version"],
        },
    )
    assert refused.status_code == 422
    assert "“Gold” is still used by 2 people" in refused.text
    assert 'id="edit-field-options-error"' in refused.text
    saved = signed_in.post(
        edit,
        data={
            "csrf_token": token,
            "label": "Customer tier",
            "options": "Gold\nSilver",
            "version": field["version"],
        },
    )
    assert saved.status_code == 303
    body = api.get(f"/api/v1/custom-fields/{field['id']}").json()
    assert (body["label"], body["options"]) == ("Customer tier", ["Gold", "Silver"])


def test_a_type_change_that_would_lose_data_is_refused_with_the_reason(
    signed_in: TestClient, api: TestClient
) -> None:
    field = _field(api, "score_text")
    _person(api, {"score_text": "12"})
    bad = _person(api, {"score_text": "abc"})
    edit = f"{PAGE}/{field['id']}"
    token = csrf_from(signed_in.get(edit).text)
    refused = signed_in.post(f"{edit}/type", data={"csrf_token": token, "field_type": "number"})
    assert refused.status_code == 422
    assert "1 person has a value that is not numbers, e.g. &#39;abc&#39;" in refused.text
    assert 'id="type-field-field_type-error"' in refused.text
    api.patch(f"/api/v1/people/{bad}", json={"custom": {"score_text": "7"}})
    allowed = signed_in.post(f"{edit}/type", data={"csrf_token": token, "field_type": "number"})
    assert allowed.status_code == 303
    assert api.get(f"/api/v1/custom-fields/{field['id']}").json()["field_type"] == "number"
    assert api.get(f"/api/v1/people/{bad}").json()["custom"]["score_text"] == 7


def test_archive_hides_the_field_and_keeps_its_values_restore_brings_it_back(
    signed_in: TestClient, api: TestClient
) -> None:
    field = _field(api, "hobby")
    person = _person(api, {"hobby": "chess"})
    token = csrf_from(signed_in.get(PAGE).text)
    response = signed_in.post(f"{PAGE}/{field['id']}/archive", data={"csrf_token": token})
    assert response.status_code == 303
    assert "was archived; its values are kept" in signed_in.get(response.headers["location"]).text
    assert "<dt>Hobby</dt>" not in signed_in.get(f"/people/{person}").text
    assert 'value="hobby"' not in signed_in.get("/people").text  # not in the filter menu
    html = signed_in.get(PAGE).text
    assert "Archived" in html and f"{PAGE}/{field['id']}/restore" in html
    assert api.get(f"/api/v1/people/{person}").json()["custom"]["hobby"] == "chess"
    response = signed_in.post(f"{PAGE}/{field['id']}/restore", data={"csrf_token": token})
    assert response.status_code == 303
    assert len(audited(api, field["id"])) == 3  # created, archived, restored
    signed_in.get(response.headers["location"])
    assert "<dt>Hobby</dt><dd>chess</dd>" in signed_in.get(f"/people/{person}").text
