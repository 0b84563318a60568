"""Duplicate companies: scan (legal suffixes, phonetic names, phones), merge moving people,
deals, activities and tags, and an undo that restores every link."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from rapport.core.db import Database
from rapport.hygiene.models import CompanyMerge
from rapport.hygiene.service import matching

Api = Callable[[str], TestClient]


def _company(api: TestClient, **body: Any) -> str:
    response = api.post("/api/v1/companies", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _world(api: TestClient) -> dict[str, str]:
    acme = _company(api, name="Acme Corp", domain="acme.example", phone="+1 415 555 0100",
                    tags=["Customer"])  # fmt: skip
    twin = _company(api, name="ACME Incorporated", phone="(415) 555-0100", industry="Rockets",
                    tags=["Partner"])  # fmt: skip
    other = _company(api, name="Globex Ltd", domain="globex.example", phone="+1 212 555 0111")
    person = api.post("/api/v1/people", json={"first_name": "Wile", "last_name": "Coyote",
                                              "company_id": twin}).json()["id"]  # fmt: skip
    pipeline = api.post("/api/v1/pipelines", json={"name": "Companies"}).json()
    deal = api.post(
        "/api/v1/deals",
        json={
            "title": "Rocket skates",
            "currency": "USD",
            "pipeline_id": pipeline["id"],
            "company_id": twin,
        },
    )
    activity = api.post("/api/v1/activities", json={"kind": "call", "subject": "Order",
                                                    "company_id": twin})  # fmt: skip
    assert deal.status_code == 201 and activity.status_code == 201, (deal.text, activity.text)
    return {"acme": acme, "twin": twin, "other": other, "person": person,
            "deal": deal.json()["id"], "activity": activity.json()["id"]}  # fmt: skip


def test_names_lose_legal_suffixes() -> None:
    assert matching.company_name("The ACME Corp., Inc.") == "acme"
    assert matching.company_name("Acme Incorporated") == "acme"
    assert matching.company_name("Limited") == "limited"


def test_scan_finds_the_twin_and_remembers_decisions(api: TestClient, api_as: Api) -> None:
    w = _world(api)
    scan = api.post("/api/v1/company-duplicates/scan", json={}).json()
    assert scan["new"] == 1
    pairs = api.get("/api/v1/company-duplicates").json()["items"]
    assert {pairs[0]["company_a"], pairs[0]["company_b"]} == {w["acme"], w["twin"]}
    assert pairs[0]["reasons"]["name"] == "exact" and pairs[0]["reasons"]["phone"] == "exact"
    assert api_as("dev").get("/api/v1/company-duplicates").json()["items"] == []
    decided = api.post(f"/api/v1/company-duplicates/{pairs[0]['id']}/decision",
                       json={"decision": "not_duplicate"})  # fmt: skip
    assert decided.status_code == 200
    again = api.post("/api/v1/company-duplicates/scan", json={}).json()
    assert again["new"] == 0 and again["remembered"] == 1
    assert api.get("/api/v1/company-duplicates").json()["items"] == []


def _state(api: TestClient, w: dict[str, str]) -> dict[str, Any]:
    return {
        "person": api.get(f"/api/v1/people/{w['person']}").json()["company_id"],
        "deal": api.get(f"/api/v1/deals/{w['deal']}").json()["company_id"],
        "activity": api.get(f"/api/v1/activities/{w['activity']}").json()["company_id"],
        "acme": api.get(f"/api/v1/companies/{w['acme']}").json(),
        "twin": api.get(f"/api/v1/companies/{w['twin']}").status_code,
    }


def test_merge_moves_every_link_and_undo_restores_them(api: TestClient) -> None:
    w = _world(api)
    before = _state(api, w)
    response = api.post("/api/v1/company-merges",
                        json={"survivor_id": w["acme"], "merged_id": w["twin"]})  # fmt: skip
    assert response.status_code == 201, response.text
    merged = _state(api, w)
    assert merged["person"] == merged["deal"] == merged["activity"] == w["acme"]
    assert merged["twin"] == 404
    assert merged["acme"]["industry"] == "Rockets"  # an empty field filled from the twin
    assert {t["name"] for t in merged["acme"]["tags"]} == {"Customer", "Partner"}
    audit = api.get("/api/v1/audit", params={"record": w["acme"]}).json()["items"]
    assert "company.merged" in {a["action"] for a in audit}
    undo = api.post(f"/api/v1/company-merges/{response.json()['id']}/undo")
    assert undo.status_code == 200, undo.text
    after = _state(api, w)
    assert after["person"] == after["deal"] == after["activity"] == w["twin"]
    assert after["twin"] == 200
    assert after["acme"]["industry"] is None
    assert {t["name"] for t in after["acme"]["tags"]} == {"Customer"}
    twin = api.get(f"/api/v1/companies/{w['twin']}").json()
    assert {t["name"] for t in twin["tags"]} == {"Partner"}
    assert before["person"] == after["person"]
    again = api.post(f"/api/v1/company-merges/{response.json()['id']}/undo")
    assert again.status_code == 409


def test_cli_dedupe_companies(api: TestClient, acme: Any) -> None:
    from typer.testing import CliRunner

    from rapport.cli import app

    w = _world(api)
    out = CliRunner().invoke(app, ["dedupe", "-w", str(acme), "--companies", "--apply"])
    assert out.exit_code == 0, out.output
    assert api.get(f"/api/v1/people/{w['person']}").json()["company_id"] == w["acme"]


def test_a_company_merge_made_before_the_links_registry_undoes_from_its_old_snapshot(
    api: TestClient, database: Database, acme: uuid.UUID
) -> None:
    """The old snapshot keys (people, deals, activities, tags, tags_added) still undo."""
    w = _world(api)
    response = api.post("/api/v1/company-merges",
                        json={"survivor_id": w["acme"], "merged_id": w["twin"]})  # fmt: skip
    assert response.status_code == 201, response.text
    with database.session(acme) as session:
        row = session.get(CompanyMerge, uuid.UUID(response.json()["id"]))
        assert row is not None
        moved = row.snapshot["links"]["links"]
        ids = {k: [i for (i,) in moved[k]["moved"]] for k in ("people", "deals", "activities")}
        added = [t for (t,) in moved["tags"]["moved"]]
        everyone = added + [r["tag_id"] for r in moved["tags"]["dropped"]]
        row.snapshot = {"survivor": row.snapshot["survivor"], **ids, "tags": everyone,
                        "tags_added": added}  # fmt: skip
        session.commit()

    undo = api.post(f"/api/v1/company-merges/{response.json()['id']}/undo")
    assert undo.status_code == 200, undo.text
    after = _state(api, w)
    assert after["person"] == after["deal"] == after["activity"] == w["twin"]
    assert {t["name"] for t in after["acme"]["tags"]} == {"Customer"}
    twin = api.get(f"/api/v1/companies/{w['twin']}").json()
    assert {t["name"] for t in twin["tags"]} == {"Partner"}
