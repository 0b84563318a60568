"""A lead form may send the visitor on to a page of its own site after a plain HTML post
(issue 14, lead forms): the address is http(s) and on one of the form's allowed sites, or it
is refused with a message next to the field; a JSON post still gets its JSON answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.sales.service.leads import FORM_LIMIT
from tests.web.conftest import csrf_from

SITE = "https://www.acme.test"
PAGE = "/settings/lead-forms"


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    FORM_LIMIT.reset()
    yield
    FORM_LIMIT.reset()


def make_form(api: TestClient, **extra: Any) -> Any:
    return api.post(
        "/api/v1/lead-forms", json={"name": "Contact", "allowed_origins": [SITE], **extra}
    )


@pytest.mark.parametrize(
    ("redirect", "said"),
    [
        ("https://evil.example/thanks", "must be on one of the allowed sites"),
        ("javascript:alert(1)", "full http or https address"),
        ("/thanks", "full http or https address"),
    ],
)
def test_a_redirect_off_the_allowed_sites_is_refused(
    api: TestClient, redirect: str, said: str
) -> None:
    response = make_form(api, redirect_url=redirect)
    assert response.status_code == 422 and said in response.text


def test_an_html_post_goes_on_to_the_page_and_json_gets_its_answer(
    api: TestClient, anon: TestClient
) -> None:
    made = make_form(api, redirect_url=SITE + "/thanks?from=form")
    assert made.status_code == 201, made.text
    form = made.json()
    assert form["redirect_url"] == SITE + "/thanks?from=form"
    url = f"/api/v1/forms/{form['key']}/submit"
    posted = anon.post(url, data={"email": "lena@prospect.example.org"},
                       headers={"Origin": SITE}, follow_redirects=False)  # fmt: skip
    assert posted.status_code == 303
    assert posted.headers["location"] == SITE + "/thanks?from=form"
    assert posted.headers["access-control-allow-origin"] == SITE
    people = api.get("/api/v1/people", params={"email": "lena@prospect.example.org"}).json()
    assert len(people["items"]) == 1
    as_json = anon.post(url, json={"email": "max@prospect.example.org"}, headers={"Origin": SITE})
    assert as_json.status_code == 202 and as_json.json()["status"] == "captured"
    without = make_form(api).json()
    plain_url = f"/api/v1/forms/{without['key']}/submit"
    plain = anon.post(plain_url, data={"email": "ola@prospect.example.org"}, follow_redirects=False)
    assert plain.status_code == 202


def test_the_settings_page_saves_it_and_says_what_is_wrong(
    signed_in: TestClient, api: TestClient
) -> None:
    token = csrf_from(signed_in.get(PAGE).text)
    base = {"csrf_token": token, "name": "Webinar", "allowed_origins": SITE}
    refused = signed_in.post(PAGE, data={**base, "redirect_url": "https://other.test/x"})
    assert refused.status_code == 422
    assert "must be on one of the allowed sites" in refused.text
    saved = signed_in.post(PAGE, data={**base, "redirect_url": SITE + "/merci"})
    assert saved.status_code == 303, saved.text
    (form,) = [f for f in api.get("/api/v1/lead-forms").json() if f["name"] == "Webinar"]
    assert form["redirect_url"] == SITE + "/merci"
    edit = signed_in.get(saved.headers["location"]).text
    assert f'value="{SITE}/merci"' in edit
