"""A deal's fields edited in place on its page: each field saves alone, a change from another
tab to the same field is a conflict that shows both values, nothing is silently overwritten."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Cast
from tests.web.conftest import csrf_from
from tests.web.test_deals_pages import add_deal, stages

HTMX = {"HX-Request": "true"}


@pytest.fixture
def deal(api: TestClient) -> dict[str, Any]:
    return add_deal(api, "Observatory upgrade", amount="12500")


def _editor(client: TestClient, deal: dict[str, Any], name: str) -> tuple[str, str, str]:
    """(csrf token, version, original) of a field's editor as a tab opens it."""
    page = client.get(f"/deals/{deal['id']}").text
    html = client.get(f"/deals/{deal['id']}/fields/{name}", headers=HTMX).text
    version = html.split('name="version" value="')[1].split('"')[0]
    original = html.split('name="original" value="')[1].split('"')[0]
    return csrf_from(page), version, original


def _save(
    client: TestClient, deal: dict[str, Any], name: str, value: str, opened: tuple[str, str, str]
) -> Any:
    token, version, original = opened
    return client.post(
        f"/deals/{deal['id']}/fields/{name}",
        data={"csrf_token": token, "value": value, "version": version, "original": original},
        headers=HTMX,
    )


def test_the_page_lists_every_field_with_an_edit_button(
    signed_in: TestClient, deal: dict[str, Any]
) -> None:
    html = signed_in.get(f"/deals/{deal['id']}").text
    for name in ("title", "amount", "currency", "expected_close_date", "pipeline", "stage",
                 "owner", "company", "person"):  # fmt: skip
        assert f'hx-get="/deals/{deal["id"]}/fields/{name}"' in html


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("title", "Telescope upgrade", "title", "Telescope upgrade"),
        ("amount", "13,000.50", "amount", "13000.50"),
        ("currency", "usd", "currency", "USD"),
        ("expected_close_date", "2031-05-01", "expected_close_date", "2031-05-01"),
    ],
)
def test_a_field_saves_and_the_page_follows(
    signed_in: TestClient,
    api: TestClient,
    deal: dict[str, Any],
    name: str,
    value: str,
    field: str,
    expected: str,
) -> None:
    response = _save(signed_in, deal, name, value, _editor(signed_in, deal, name))
    assert response.status_code == 200
    assert 'id="deal-details"' in response.text
    assert 'id="deal-summary" hx-swap-oob="true"' in response.text  # figures follow
    assert api.get(f"/api/v1/deals/{deal['id']}").json()[field] == expected


def test_owner_company_contact_and_stage(
    signed_in: TestClient, api: TestClient, deal: dict[str, Any], cast: Cast
) -> None:
    company = api.post("/api/v1/companies", json={"name": "Palomar Ltd"}).json()
    person = api.post(
        "/api/v1/people",
        json={"first_name": "Vera", "last_name": "Rubin", "email": "vera@palomar.example.com"},
    ).json()
    options = signed_in.get("/people/options", params={"value": "vera rub"}).text
    assert "Vera Rubin &lt;vera@palomar.example.com&gt;" in options
    assert "Palomar Ltd" in signed_in.get("/companies/options", params={"value": "Palo"}).text
    for name, value in (
        ("owner", str(cast.ben.user_id)),
        ("company", "Palomar Ltd"),
        ("person", "Vera Rubin <vera@palomar.example.com>"),
        ("stage", stages(api)["Proposal"]),
    ):
        assert (
            _save(signed_in, deal, name, value, _editor(signed_in, deal, name)).status_code == 200
        )
    saved = api.get(f"/api/v1/deals/{deal['id']}").json()
    assert saved["owner_id"] == str(cast.ben.user_id)
    assert saved["company_id"] == company["id"]
    assert saved["person_id"] == person["id"]
    assert saved["stage_id"] == stages(api)["Proposal"]


def test_the_pipeline_changes_with_a_stage_of_another_pipeline(
    signed_in: TestClient, api: TestClient, deal: dict[str, Any]
) -> None:
    other = api.post(
        "/api/v1/pipelines",
        json={"name": "Renewals", "stages": [{"name": "Due", "probability": 40},
              {"name": "Won", "probability": 100, "is_won": True}]},
    ).json()  # fmt: skip
    due = other["stages"][0]["id"]
    editor = signed_in.get(f"/deals/{deal['id']}/fields/pipeline", headers=HTMX).text
    assert '<optgroup label="Renewals">' in editor
    assert (
        _save(signed_in, deal, "pipeline", due, _editor(signed_in, deal, "pipeline")).status_code
        == 200
    )
    saved = api.get(f"/api/v1/deals/{deal['id']}").json()
    assert (saved["pipeline_id"], saved["stage_id"]) == (other["id"], due)


def test_an_invalid_value_comes_back_next_to_the_field(
    signed_in: TestClient, api: TestClient, deal: dict[str, Any]
) -> None:
    for name, value, message in (
        ("amount", "lots", "Enter a number"),
        ("title", "  ", "Give the deal a title."),
        ("company", "Nobody Inc", "No company is called “Nobody Inc”"),
        ("person", "Nobody Here", "Nobody is called “Nobody Here”"),
        ("currency", "EURO", "currency"),
    ):
        response = _save(signed_in, deal, name, value, _editor(signed_in, deal, name))
        assert response.status_code == 200
        assert response.headers["HX-Retarget"] == f"#deal-field-{name}"
        assert 'class="field-error"' in response.text and message in response.text
    saved = api.get(f"/api/v1/deals/{deal['id']}").json()
    assert (saved["title"], saved["amount"]) == ("Observatory upgrade", "12500.00")
    plain = signed_in.post(
        f"/deals/{deal['id']}/fields/amount",
        data={"csrf_token": _editor(signed_in, deal, "amount")[0], "value": "x",
              "version": str(saved["version"]), "original": "12500.00"},
    )  # fmt: skip
    assert plain.status_code == 422


def test_the_same_field_changed_in_another_tab_is_a_conflict(
    signed_in: TestClient, api: TestClient, deal: dict[str, Any]
) -> None:
    first = _editor(signed_in, deal, "amount")
    second = _editor(signed_in, deal, "amount")
    assert _save(signed_in, deal, "amount", "15000", first).status_code == 200
    response = _save(signed_in, deal, "amount", "9000", second)
    assert response.status_code == 200
    assert response.headers["X-Rapport-Refused"] == "conflict"
    assert response.headers["HX-Retarget"] == "#deal-field-amount"
    html = response.text
    assert "Someone else changed amount while you were editing" in html
    assert "15,000 EUR" in html and "data-yours>9000<" in html
    assert "Keep mine" in html and "Take theirs" in html
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["amount"] == "15000.00"
    # Keep mine: the editor now carries the version and value it showed
    version = html.split('name="version" value="')[1].split('"')[0]
    original = html.split('name="original" value="')[1].split('"')[0]
    kept = _save(signed_in, deal, "amount", "9000", (first[0], version, original))
    assert kept.status_code == 200 and "X-Rapport-Refused" not in kept.headers
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["amount"] == "9000.00"
    # a plain form (no JavaScript) gets a 409
    stale = signed_in.post(
        f"/deals/{deal['id']}/fields/amount",
        data={"csrf_token": first[0], "value": "1", "version": first[1], "original": first[2]},
    )
    assert stale.status_code == 409


def test_another_field_changed_meanwhile_is_not_a_conflict(
    signed_in: TestClient, api: TestClient, deal: dict[str, Any]
) -> None:
    amount = _editor(signed_in, deal, "amount")
    assert (
        _save(signed_in, deal, "title", "Renamed", _editor(signed_in, deal, "title")).status_code
        == 200
    )
    response = _save(signed_in, deal, "amount", "777", amount)
    assert "X-Rapport-Refused" not in response.headers
    saved = api.get(f"/api/v1/deals/{deal['id']}").json()
    assert (saved["title"], saved["amount"]) == ("Renamed", "777.00")


def test_permissions_csrf_and_unknown_fields(
    signed_in: TestClient,
    signed_in_as: Callable[[str], TestClient],
    api: TestClient,
    deal: dict[str, Any],
) -> None:
    opened = _editor(signed_in, deal, "amount")
    no_token = signed_in.post(
        f"/deals/{deal['id']}/fields/amount",
        data={"value": "1", "version": opened[1], "original": opened[2]}, headers=HTMX,
    )  # fmt: skip
    assert no_token.status_code == 403
    assert signed_in.get(f"/deals/{deal['id']}/fields/secret", headers=HTMX).status_code == 404
    cleo = signed_in_as("cleo")
    page = cleo.get(f"/deals/{deal['id']}").text
    assert f"/deals/{deal['id']}/fields/" not in page
    assert cleo.get(f"/deals/{deal['id']}/fields/amount", headers=HTMX).status_code == 403
    refused = cleo.post(
        f"/deals/{deal['id']}/fields/amount",
        data={"csrf_token": csrf_from(page), "value": "1", "version": opened[1],
              "original": opened[2]},
        headers=HTMX,
    )  # fmt: skip
    assert refused.status_code == 403
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["amount"] == "12500.00"
