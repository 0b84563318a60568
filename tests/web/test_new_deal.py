"""The new-deal form: company and contact pickers, an owner, a pipeline whose stages follow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Cast
from tests.web.conftest import csrf_from

HTMX = {"HX-Request": "true"}


def _post(client: TestClient, **fields: str) -> Any:
    token = csrf_from(client.get("/deals/new").text)
    data = {"title": "Picked deal", "amount": "100", "currency": "EUR", **fields}
    return client.post("/deals/new", data={**data, "csrf_token": token})


def test_the_form_offers_pipeline_owner_company_and_contact(
    signed_in: TestClient, api: TestClient, cast: Cast
) -> None:
    other = api.post(
        "/api/v1/pipelines",
        json={"name": "Renewals", "stages": [{"name": "Due soon", "probability": 40}]},
    ).json()
    html = signed_in.get("/deals/new").text
    for name in ('name="pipeline"', 'name="owner_id"', 'name="company"', 'name="person"'):
        assert name in html
    assert f'<option value="{cast.ada.user_id}" selected>' in html  # owner: you
    assert 'hx-get="/deals/new/stages"' in html and 'hx-get="/people/options"' in html
    stages = signed_in.get("/deals/new/stages", params={"pipeline": other["id"]}, headers=HTMX)
    assert "Due soon (40%)" in stages.text and "<html" not in stages.text


def test_a_deal_with_company_contact_owner_and_another_pipeline(
    signed_in: TestClient, api: TestClient, cast: Cast
) -> None:
    other = api.post(
        "/api/v1/pipelines",
        json={"name": "Renewals", "stages": [{"name": "Due soon", "probability": 40}]},
    ).json()
    company = api.post("/api/v1/companies", json={"name": "Hubble Optics"}).json()
    person = api.post(
        "/api/v1/people",
        json={"first_name": "Edwin", "last_name": "Hubble", "email": "edwin@hubble.example.com"},
    ).json()
    response = _post(
        signed_in,
        pipeline=other["id"],
        stage_id=other["stages"][0]["id"],
        company="Hubble Optics",
        person="Edwin Hubble <edwin@hubble.example.com>",
        owner_id=str(cast.ben.user_id),
    )
    assert response.status_code == 303, response.text
    deal = api.get(response.headers["location"].replace("/deals/", "/api/v1/deals/")).json()
    assert deal["pipeline_id"] == other["id"] and deal["stage_id"] == other["stages"][0]["id"]
    assert deal["company_id"] == company["id"] and deal["person_id"] == person["id"]
    assert deal["owner_id"] == str(cast.ben.user_id)


def test_unknown_picks_come_back_next_to_their_fields(signed_in: TestClient) -> None:
    response = _post(signed_in, company="Nowhere Inc", person="Nobody", owner_id="x" * 36)
    assert response.status_code == 200
    html = response.text
    assert 'id="company-error"' in html and "No company is called “Nowhere Inc”" in html
    assert 'id="person-error"' in html and "Nobody is called “Nobody”" in html
    assert 'id="owner_id-error"' in html
    assert 'value="Nowhere Inc"' in html  # what was typed stays


def test_read_only_and_csrf(
    signed_in: TestClient, signed_in_as: Callable[[str], TestClient]
) -> None:
    cleo = signed_in_as("cleo")
    assert cleo.get("/deals/new/stages").status_code == 403
    no_token = signed_in.post("/deals/new", data={"title": "x", "currency": "EUR"})
    assert no_token.status_code == 403


def test_the_form_starts_in_the_workspaces_currency(signed_in: TestClient, api: TestClient) -> None:
    assert api.patch("/api/v1/workspace/settings", json={"currency": "GBP"}).status_code == 200
    html = signed_in.get("/deals/new").text
    assert 'value="GBP"' in html and 'value="EUR"' not in html
