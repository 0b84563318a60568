"""Settings → Lead forms through the real stack: add, edit, snippet, delete with confirmation."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_from
from tests.web.test_settings_fields import audited

PAGE = "/settings/lead-forms"


def _forms(api: TestClient) -> list[dict]:
    return list(api.get("/api/v1/lead-forms").json())


def test_add_a_form_see_its_snippet_and_post_a_lead_through_it(
    signed_in: TestClient, api: TestClient, anon: TestClient
) -> None:
    token = csrf_from(signed_in.get(PAGE).text)
    made = signed_in.post(
        PAGE,
        data={
            "csrf_token": token,
            "name": "Contact us",
            "allowed_origins": "https://www.example.com",
            "source": "website",
            "fields": ["first_name", "phone"],
        },
    )
    assert made.status_code == 303, made.text
    form = next(f for f in _forms(api) if f["name"] == "Contact us")
    assert (form["allowed_origins"], form["fields"]) == (
        ["https://www.example.com"],
        ["first_name", "phone"],
    )
    page = signed_in.get(made.headers["location"]).text
    snippet = html_lib.unescape(
        re.search(r'<textarea id="snippet"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    )  # type: ignore[union-attr]
    assert f'action="http://testserver/api/v1/forms/{form["key"]}/submit"' in snippet
    assert 'name="phone"' in snippet and 'name="last_name"' not in snippet
    assert 'data-copy="snippet"' in page
    posted = anon.post(
        f"/api/v1/forms/{form['key']}/submit",
        data={"email": "lead@example.com", "first_name": "Lea"},
        headers={"Origin": "https://www.example.com"},
    )
    assert posted.status_code == 202, posted.text
    assert audited(api, form["id"]) == ["lead_form.created"]


def test_allowed_origins_are_validated_next_to_the_field(signed_in: TestClient) -> None:
    token = csrf_from(signed_in.get(PAGE).text)
    refused = signed_in.post(
        PAGE, data={"csrf_token": token, "name": "Bad", "allowed_origins": "example.com/contact"}
    )
    assert refused.status_code == 422
    assert (
        'id="new-form-allowed_origins-error">&#39;example.com/contact&#39; is not an origin'
        in refused.text
    )
    refused = signed_in.post(PAGE, data={"csrf_token": token, "name": ""})
    assert 'id="new-form-name-error">Give the form a name.' in refused.text


def test_edit_keeps_the_key_and_delete_asks_first(signed_in: TestClient, api: TestClient) -> None:
    response = api.post("/api/v1/lead-forms", json={"name": "Webinar"})
    form = response.json()
    edit = f"{PAGE}/{form['id']}"
    token = csrf_from(signed_in.get(edit).text)
    saved = signed_in.post(
        edit,
        data={
            "csrf_token": token,
            "name": "Webinar May",
            "allowed_origins": "https://a.example\nhttps://b.example",
            "fields": ["message"],
            "version": form["version"],
        },
    )
    assert saved.status_code == 303
    after = next(f for f in _forms(api) if f["id"] == form["id"])
    assert after["name"] == "Webinar May" and after["key"] == form["key"]
    assert after["allowed_origins"] == ["https://a.example", "https://b.example"]
    assert "lead_form.updated" in audited(api, form["id"])
    confirm = signed_in.get(f"{edit}/delete").text
    assert "Delete “Webinar May”?" in confirm
    deleted = signed_in.post(f"{edit}/delete", data={"csrf_token": csrf_from(confirm)})
    assert deleted.status_code == 303
    assert not next(f for f in _forms(api) if f["id"] == form["id"])["is_active"]
    assert "Webinar May" not in signed_in.get(PAGE).text.split("Add a form")[0].split("Forms")[-1]


def test_members_are_refused_and_csrf_is_checked(
    signed_in_as: Callable[[str], TestClient], signed_in: TestClient, api: TestClient
) -> None:
    form = api.post("/api/v1/lead-forms", json={"name": "Guarded"}).json()
    ben = signed_in_as("ben")
    assert ben.get(PAGE).status_code == 403
    assert ben.get(f"{PAGE}/{form['id']}").status_code == 403
    token = csrf_from(ben.get("/people").text)
    assert ben.post(PAGE, data={"csrf_token": token, "name": "Mine"}).status_code == 403
    assert ben.post(f"{PAGE}/{form['id']}/delete", data={"csrf_token": token}).status_code == 403
    assert signed_in.post(f"{PAGE}/{form['id']}/delete", data={}).status_code == 403
    assert next(f for f in _forms(api) if f["id"] == form["id"])["is_active"]
