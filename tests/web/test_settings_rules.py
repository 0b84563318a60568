"""Settings → Lead routing and Lead scoring through the real stack, and the dry run."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Cast
from tests.web.conftest import csrf_from
from tests.web.test_settings_fields import audited

ROUTING = "/settings/routing"
SCORING = "/settings/scoring"


def _person(api: TestClient, **body: object) -> str:
    response = api.post("/api/v1/people", json={"first_name": "Dora", "last_name": "Dry", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_add_edit_reorder_and_delete_routing_rules(
    signed_in: TestClient, api: TestClient, cast: Cast
) -> None:
    token = csrf_from(signed_in.get(ROUTING).text)
    refused = signed_in.post(
        ROUTING,
        data={
            "csrf_token": token,
            "name": "DACH",
            "kind": "territory",
            "countries": "",
            "target": f"user:{cast.ben.user_id}",
        },
    )
    assert refused.status_code == 422
    assert 'id="new-routing-countries-error">Give at least one country' in refused.text
    bad_country = signed_in.post(
        ROUTING,
        data={
            "csrf_token": token,
            "name": "DACH",
            "kind": "territory",
            "countries": "Atlantis",
            "target": f"user:{cast.ben.user_id}",
        },
    )
    assert bad_country.status_code == 422
    assert 'id="new-routing-countries-error"' in bad_country.text
    for name, countries, who in (("DACH", "DE, AT", cast.ben), ("France", "FR", cast.max)):
        made = signed_in.post(
            ROUTING,
            data={
                "csrf_token": token,
                "name": name,
                "kind": "territory",
                "countries": countries,
                "target": f"user:{who.user_id}",
                "is_active": "1",
            },
        )
        assert made.status_code == 303, made.text
    rules = api.get("/api/v1/routing/rules").json()
    assert [r["name"] for r in rules] == ["DACH", "France"]
    france = rules[1]["id"]
    up = signed_in.post(f"{ROUTING}/{france}/move", data={"csrf_token": token, "direction": "up"})
    assert up.status_code == 303
    assert [r["name"] for r in api.get("/api/v1/routing/rules").json()] == ["France", "DACH"]
    order = [rules[0]["id"], france]
    assert (
        signed_in.post(f"{ROUTING}-order", data={"csrf_token": token, "order": order}).status_code
        == 303
    )
    assert [r["name"] for r in api.get("/api/v1/routing/rules").json()] == ["DACH", "France"]
    edit = signed_in.post(
        f"{ROUTING}/{france}",
        data={
            "csrf_token": token,
            "name": "France+",
            "countries": "FR, BE",
            "target": f"user:{cast.max.user_id}",
            "is_active": "1",
        },
    )
    assert edit.status_code == 303
    body = next(r for r in api.get("/api/v1/routing/rules").json() if r["id"] == france)
    assert (body["name"], body["params"]["countries"]) == ("France+", ["BE", "FR"])
    assert (
        signed_in.post(f"{ROUTING}/{france}/delete", data={"csrf_token": token}).status_code == 303
    )
    assert [r["name"] for r in api.get("/api/v1/routing/rules").json()] == ["DACH"]
    assert len(audited(api, france)) >= 3


def test_the_dry_run_shows_the_rule_that_fires_and_the_score_and_changes_nothing(
    signed_in: TestClient, api: TestClient, cast: Cast
) -> None:
    token = csrf_from(signed_in.get(ROUTING).text)
    signed_in.post(
        ROUTING,
        data={
            "csrf_token": token,
            "name": "Nordics",
            "kind": "territory",
            "countries": "SE",
            "target": f"user:{cast.max.user_id}",
            "is_active": "1",
        },
    )
    signed_in.post(
        ROUTING,
        data={
            "csrf_token": token,
            "name": "Germany",
            "kind": "territory",
            "countries": "DE",
            "target": f"user:{cast.ben.user_id}",
            "is_active": "1",
        },
    )
    scoring_token = csrf_from(signed_in.get(SCORING).text)
    made = signed_in.post(
        SCORING,
        data={
            "csrf_token": scoring_token,
            "name": "Decision maker",
            "kind": "job_title_contains",
            "text": "CEO",
            "points": "25",
            "is_active": "1",
        },
    )
    assert made.status_code == 303, made.text
    person = _person(api, job_title="CEO", addresses=[{"country": "DE"}])
    found = signed_in.get(ROUTING, params={"q": "Dora"}).text
    assert f"person={person}" in found
    html = signed_in.get(ROUTING, params={"person": person}).text
    assert "Routed by “Germany”" in html and "Ben" in html
    assert "country DE" in html
    assert "Nordics: no — country DE is not in SE" in html
    assert "Score: 25" in html and "Decision maker: +25 points" in html
    assert api.get(f"/api/v1/people/{person}").json()["owner_id"] is None  # nothing changed
    assert signed_in.get(SCORING, params={"person": person}).text.count("Routed by") == 1


def test_scoring_rules_add_edit_validate_reorder_delete(
    signed_in: TestClient, api: TestClient
) -> None:
    token = csrf_from(signed_in.get(SCORING).text)
    refused = signed_in.post(
        SCORING,
        data={"csrf_token": token, "name": "Big", "kind": "company_size_between", "points": "5000"},
    )
    assert refused.status_code == 422
    assert 'id="new-scoring-min-error">Give a smallest size' in refused.text
    refused = signed_in.post(
        SCORING,
        data={
            "csrf_token": token,
            "name": "Big",
            "kind": "company_size_between",
            "min": "100",
            "points": "5000",
        },
    )
    assert 'id="new-scoring-points-error">Points are a whole number' in refused.text
    for name, text in (("CEO", "CEO"), ("CTO", "CTO")):
        made = signed_in.post(
            SCORING,
            data={
                "csrf_token": token,
                "name": name,
                "kind": "job_title_contains",
                "text": text,
                "points": "10",
                "is_active": "1",
            },
        )
        assert made.status_code == 303
    rules = api.get("/api/v1/scoring/rules").json()
    ids = [r["id"] for r in rules if r["name"] in ("CEO", "CTO")]
    assert (
        signed_in.post(
            f"{SCORING}/{ids[1]}/move", data={"csrf_token": token, "direction": "up"}
        ).status_code
        == 303
    )
    html = signed_in.get(SCORING).text
    assert html.index(f'id="rule-{ids[1]}"') < html.index(f'id="rule-{ids[0]}"')
    saved = signed_in.post(
        f"{SCORING}/{ids[0]}",
        data={"csrf_token": token, "name": "Chief", "text": "Chief", "points": "15"},
    )
    assert saved.status_code == 303
    body = next(r for r in api.get("/api/v1/scoring/rules").json() if r["id"] == ids[0])
    assert (body["name"], body["params"], body["points"], body["is_active"]) == (
        "Chief",
        {"text": "Chief"},
        15,
        False,
    )
    assert (
        signed_in.post(f"{SCORING}/{ids[0]}/delete", data={"csrf_token": token}).status_code == 303
    )
    assert ids[0] not in [r["id"] for r in api.get("/api/v1/scoring/rules").json()]
    assert len(audited(api, ids[0])) >= 3


def test_members_are_refused_and_csrf_is_checked(
    signed_in_as: Callable[[str], TestClient], signed_in: TestClient, api: TestClient
) -> None:
    ben = signed_in_as("ben")
    for path in (ROUTING, SCORING):
        assert ben.get(path).status_code == 403
    token = csrf_from(ben.get("/people").text)
    assert (
        ben.post(
            ROUTING, data={"csrf_token": token, "name": "X", "kind": "company_owner"}
        ).status_code
        == 403
    )
    assert (
        ben.post(
            SCORING,
            data={
                "csrf_token": token,
                "name": "X",
                "kind": "industry_equals",
                "industry": "x",
                "points": "1",
            },
        ).status_code
        == 403
    )
    assert signed_in.post(ROUTING, data={"name": "X", "kind": "company_owner"}).status_code == 403
    assert signed_in.post(SCORING, data={"name": "X"}).status_code == 403
    assert api.get("/api/v1/routing/rules").json() == []
