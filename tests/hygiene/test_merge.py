"""Merging people moves every link to the survivor; undo puts everything back exactly."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

from fastapi.testclient import TestClient

from rapport.core.db import Database
from rapport.hygiene.models import Merge


def _person(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/people", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _note(api: TestClient, person_id: str) -> str:
    body = {"kind": "note", "subject": "hello", "person_id": person_id}
    return str(api.post("/api/v1/activities", json=body).json()["id"])


def _state(api: TestClient, person_id: str) -> dict[str, Any]:
    p = api.get(f"/api/v1/people/{person_id}").json()
    return {
        k: p[k] for k in ("first_name", "last_name", "job_title", "email", "phone", "external_id")
    } | {
        "emails": sorted((e["email"], e["primary"]) for e in p["emails"]),
        "phones": sorted((x["number"], x["primary"]) for x in p["phones"]),
        "tags": sorted(t["name"] for t in p["tags"]),
    }


class TestMerge:
    def test_merge_moves_links_and_undo_restores_both_people_exactly(self, api: TestClient) -> None:
        a = _person(api, first_name="Ada", last_name="Lovelace", email="ada@one.org", tags=["vip"])
        b = _person(
            api,
            first_name="Ada",
            last_name="Lovelace",
            emails=[{"email": "ada@two.org"}, {"email": "al@three.org"}],
            phone="+14155552671",
            job_title="Analyst",
            external_id="X-1",
            tags=["vip", "newsletter"],
        )
        note_a, note_b = _note(api, a["id"]), _note(api, b["id"])
        before_a, before_b = _state(api, a["id"]), _state(api, b["id"])

        response = api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": b["id"]})
        assert response.status_code == 201, response.text
        merged = _state(api, a["id"])
        assert [e for e, _ in merged["emails"]] == ["ada@one.org", "ada@two.org", "al@three.org"]
        assert dict(merged["emails"])["ada@one.org"] is True  # the survivor keeps its primary
        assert merged["phones"] == [("+14155552671", True)]
        assert merged["tags"] == ["newsletter", "vip"]
        assert (merged["job_title"], merged["external_id"]) == ("Analyst", "X-1")
        assert api.get(f"/api/v1/activities/{note_b}").json()["person_id"] == a["id"]
        assert api.get(f"/api/v1/people/{b['id']}").status_code == 404

        undo = api.post(f"/api/v1/merges/{response.json()['id']}/undo")
        assert undo.status_code == 200, undo.text
        assert _state(api, a["id"]) == before_a
        assert _state(api, b["id"]) == before_b
        assert api.get(f"/api/v1/activities/{note_b}").json()["person_id"] == b["id"]
        assert api.get(f"/api/v1/activities/{note_a}").json()["person_id"] == a["id"]
        again = api.post(f"/api/v1/merges/{response.json()['id']}/undo")
        assert again.status_code == 409

    def test_per_field_choice_and_survivor_rule(self, api: TestClient) -> None:
        a = _person(api, first_name="Grace", job_title="Admiral")
        b = _person(api, first_name="Gracie", job_title="Rear Admiral", source="web")
        body = {
            "survivor_id": a["id"],
            "merged_id": b["id"],
            "rule": "survivor",
            "fields": {"first_name": "merged"},
        }
        assert api.post("/api/v1/merges", json=body).status_code == 201
        p = api.get(f"/api/v1/people/{a['id']}").json()
        assert (p["first_name"], p["job_title"], p["source"]) == ("Gracie", "Admiral", None)

    def test_merge_is_audited(self, api: TestClient) -> None:
        a, b = _person(api, first_name="A"), _person(api, first_name="B", job_title="CTO")
        api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": b["id"]})
        audit = api.get("/api/v1/audit", params={"record": a["id"]}).json()["items"]
        merged = [e for e in audit if e["action"] == "person.merged"]
        assert merged and merged[0]["changes"]["job_title"] == {"old": None, "new": "CTO"}

    def test_bad_merges_are_refused_clearly(self, api: TestClient, api_as) -> None:  # type: ignore[no-untyped-def]
        a, b = _person(api, first_name="A"), _person(api, first_name="B")
        same = api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": a["id"]})
        assert same.status_code == 422
        body = {"survivor_id": a["id"], "merged_id": b["id"]}
        assert api_as("ben").post("/api/v1/merges", json=body).status_code == 403
        assert api_as("dev").post("/api/v1/merges", json=body).status_code == 404
        done = api.post("/api/v1/merges", json=body).json()
        assert api_as("dev").post(f"/api/v1/merges/{done['id']}/undo").status_code == 404


def test_every_process_that_merges_knows_the_other_domains_links() -> None:
    """A CLI or job worker never imports the sales API, yet its merges must move deals and
    tasks: the links come from the domain registry, which the CLI installs on import (as the
    app does), and a process that did not install it cannot merge at all."""
    code = (
        "from rapport.core import links\n"
        "try:\n"
        "    links.links_to('person')\n"
        "except RuntimeError:\n"
        "    print('refused')\n"
        "import rapport.cli\n"
        "print(sorted(link.key for link in links.links_to('person')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [
        "refused", "['activities', 'deals', 'emails', 'phones', 'tags', 'tasks']"
    ]  # fmt: skip


def test_consent_and_channel_preferences_follow_the_merge_and_come_back_on_undo(
    api: TestClient,
) -> None:
    """The later consent decision wins; an opt-out on either record holds for the survivor."""
    a = _person(api, first_name="Mary", email="mary@one.org",
                preferences={"email": "opted_in", "post": "opted_in"})  # fmt: skip
    b = _person(api, first_name="Mary", email="mary@two.org", consent_status="granted",
                preferences={"email": "opted_out", "sms": "opted_in"})  # fmt: skip
    before = api.get(f"/api/v1/people/{a['id']}").json()
    response = api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": b["id"]})
    assert response.status_code == 201, response.text
    merged = api.get(f"/api/v1/people/{a['id']}").json()
    assert merged["consent_status"] == "granted"
    assert merged["preferences"] == {"email": "opted_out", "post": "opted_in", "sms": "opted_in"}
    assert api.post(f"/api/v1/merges/{response.json()['id']}/undo").status_code == 200
    back = api.get(f"/api/v1/people/{a['id']}").json()
    assert (back["consent_status"], back["preferences"]) == (
        before["consent_status"], before["preferences"]
    )  # fmt: skip


def test_a_merge_made_before_the_links_registry_is_undone_from_its_old_snapshot(
    api: TestClient, database: Database, acme: uuid.UUID
) -> None:
    """Merges stored with the old snapshot keys (emails, phones, tags, activities, the sales
    hook's deals and tasks) still undo exactly after the upgrade."""
    a = _person(api, first_name="Ada", last_name="Lovelace", email="ada@one.org", tags=["vip"])
    b = _person(api, first_name="Ada", emails=[{"email": "ada@two.org"}, {"email": "al@three.org"}],
                tags=["vip", "newsletter"])  # fmt: skip
    note_b = _note(api, b["id"])
    before_a, before_b = _state(api, a["id"]), _state(api, b["id"])
    response = api.post("/api/v1/merges", json={"survivor_id": a["id"], "merged_id": b["id"]})
    assert response.status_code == 201, response.text
    with database.session(acme) as session:
        row = session.get(Merge, uuid.UUID(response.json()["id"]))
        assert row is not None
        moved = row.snapshot["links"]["links"]
        added = [t for (t,) in moved["tags"]["moved"]]
        row.snapshot = {
            "survivor": row.snapshot["survivor"],
            "emails": moved["emails"],
            "phones": moved["phones"],
            "tags_of_merged": added + [r["tag_id"] for r in moved["tags"]["dropped"]],
            "tags_added": added,
            "activities": [i for (i,) in moved["activities"]["moved"]],
            "hooks": {"sales": {"deals": [], "tasks": [], "merged_id": b["id"]}},
        }
        session.commit()

    undo = api.post(f"/api/v1/merges/{response.json()['id']}/undo")
    assert undo.status_code == 200, undo.text
    assert _state(api, a["id"]) == before_a
    assert _state(api, b["id"]) == before_b
    assert api.get(f"/api/v1/activities/{note_b}").json()["person_id"] == b["id"]
