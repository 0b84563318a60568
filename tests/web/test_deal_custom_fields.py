"""Custom fields on deals: defined in Settings, set through the API and the deal page, shown
there, and a filter of the deal list."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.sales.factories import make_deal, make_pipeline
from tests.web.conftest import csrf_from


def _deal_field(api: TestClient, key: str, kind: str, **more: object) -> dict:
    body = {"object_type": "deal", "key": key, "label": key.title(), "field_type": kind, **more}
    response = api.post("/api/v1/custom-fields", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_settings_list_deal_fields_and_add_one(signed_in: TestClient, api: TestClient) -> None:
    html = signed_in.get("/settings/fields", params={"type": "deal"}).text
    assert 'aria-current="page">Deals' in html
    made = signed_in.post(
        "/settings/fields",
        data={
            "csrf_token": csrf_from(html),
            "object_type": "deal",
            "label": "Region",
            "field_type": "text",
        },
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/settings/fields?type=deal"
    keys = [f["key"] for f in api.get("/api/v1/custom-fields?object_type=deal").json()]
    assert "region" in keys


def test_deal_custom_values_are_validated_stored_and_filtered(api: TestClient) -> None:
    _deal_field(api, "seats", "number")
    pipeline = make_pipeline(api)
    refused = api.post(
        "/api/v1/deals",
        json={
            "title": "Bad",
            "currency": "EUR",
            "pipeline_id": pipeline["id"],
            "custom": {"seats": "many"},
        },
    )
    assert refused.status_code == 422
    assert "custom" in refused.text and "not a number" in refused.text
    big = make_deal(api, pipeline, title="Big", custom={"seats": 120})
    make_deal(api, pipeline, title="Small", custom={"seats": 5})
    assert big["custom"] == {"seats": 120}
    found = api.get(
        "/api/v1/deals", params={"filter": '{"field": "cf.seats", "op": "gte", "value": 100}'}
    ).json()
    assert [d["title"] for d in found["items"]] == ["Big"]
    patched = api.patch(f"/api/v1/deals/{big['id']}", json={"custom": {"seats": None}})
    assert patched.status_code == 200 and patched.json()["custom"] == {}


def test_the_deal_page_shows_and_sets_custom_fields(
    signed_in: TestClient, api: TestClient, signed_in_as: Callable[[str], TestClient]
) -> None:
    _deal_field(api, "tier", "select", options=["Gold", "Silver"])
    deal = make_deal(api, make_pipeline(api), custom={"tier": "Gold"})
    html = signed_in.get(f"/deals/{deal['id']}").text
    assert "<dt>Tier</dt><dd>Gold</dd>" in html
    token = csrf_from(html)
    bad = signed_in.post(
        f"/deals/{deal['id']}/custom",
        data={"csrf_token": token, "custom.tier": "Bronze", "version": deal["version"]},
    )
    assert bad.status_code == 422
    assert 'id="deal-cf-tier-error"' in bad.text and "Bronze" in bad.text
    ok = signed_in.post(
        f"/deals/{deal['id']}/custom",
        data={"csrf_token": token, "custom.tier": "Silver", "version": deal["version"]},
    )
    assert ok.status_code == 303
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["custom"] == {"tier": "Silver"}
    assert (
        signed_in.post(f"/deals/{deal['id']}/custom", data={"custom.tier": ""}).status_code == 403
    )
    cleo = signed_in_as("cleo")  # read-only: sees the values, may not set them
    page = cleo.get(f"/deals/{deal['id']}").text
    assert "<dt>Tier</dt><dd>Silver</dd>" in page and "Edit fields" not in page
    response = cleo.post(
        f"/deals/{deal['id']}/custom", data={"csrf_token": csrf_from(page), "custom.tier": "Gold"}
    )
    assert response.status_code == 403


def test_a_deal_field_type_change_counts_deals(signed_in: TestClient, api: TestClient) -> None:
    field = _deal_field(api, "code", "text")
    make_deal(api, make_pipeline(api), custom={"code": "A7"})
    edit = f"/settings/fields/{field['id']}"
    refused = signed_in.post(
        f"{edit}/type",
        data={"csrf_token": csrf_from(signed_in.get(edit).text), "field_type": "number"},
    )
    assert refused.status_code == 422
    assert "1 deal has a value that is not numbers, e.g. &#39;A7&#39;" in refused.text


def test_the_deal_list_filters_on_a_deal_custom_field(
    signed_in: TestClient, api: TestClient
) -> None:
    _deal_field(api, "seats", "number")
    pipeline = make_pipeline(api)
    make_deal(api, pipeline, title="Many seats", custom={"seats": 300})
    make_deal(api, pipeline, title="Few seats", custom={"seats": 3})
    html = signed_in.get("/deals/list").text
    assert '<option value="seats"' in html  # the popover offers the deal field
    page = signed_in.get(
        "/deals/list",
        params={"pipeline": pipeline["id"], "cf": "seats", "cfop": "gte", "cfv": "100"},
    ).text
    assert "Many seats" in page and "Few seats" not in page
    wrong = signed_in.get("/deals/list", params={"cf": "seats", "cfop": "gte", "cfv": "lots"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.text
