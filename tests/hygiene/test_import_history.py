"""Bringing a team's history from another CRM: deals and activities (notes, calls, emails,
meetings, purchases at their past dates) through the one import pipeline — rejects by line,
a repeated source id stored once, and a rerun of the same file changing nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rapport.cli import app
from tests.hygiene.jobs_helper import drain_jobs

ACTIVITIES = (
    "Type,Date,Subject,Notes,Contact Email,Activity ID,Amount,Currency\n"
    'Call,2023-04-02T10:15:00Z,Intro call,"Talked about the roll-out,\nthen pricing",'
    "grace@example.com,H-1,,\n"  # lines 2-3: a note that spans two lines
    "Meeting,2023-05-10,Kick-off,On site,grace@example.com,H-2,,\n"
    "Email,2023-06-01 08:00,Proposal sent,,nobody@example.com,H-3,,\n"  # line 5: unknown
    "Purchase,2023-07-01,First order,,grace@example.com,H-4,1200.50,EUR\n"
    "Note,2023-07-02,Follow-up,Same as above,grace@example.com,H-4,,\n"  # line 7: H-4 again
    "Call,2999-01-01,From the future,,grace@example.com,H-5,,\n"  # line 8: not yet happened
    "Note,2022-12-31,No id of its own,kept once,grace@example.com,,,\n"
)
DEALS = (
    "Deal Name;Value;Currency;Stage;Close Date;Contact Email;Company;Owner\n"
    "Roll-out;12 000;EUR;Won;2023-07-01;grace@example.com;Initech;ada@acme.test\n"
    "Renewal;5000;EUR;Proposal;2024-01-31;grace@example.com;;\n"
    "Ghost;100;EUR;;2023-01-01;nobody@example.com;;\n"  # line 4: unknown person
    "Odd;lots;EUR;Nowhere;2023-01-01;;;\n"  # line 5: bad amount and unknown stage
    "Roll-out;12 000;EUR;Won;2023-07-01;grace@example.com;Initech;ada@acme.test\n"  # repeat
)

WITH_IDS = (
    "Deal ID,Deal Name,Value,Currency,Contact Email,Company\n"
    "D-1,Support plan,500,EUR,grace@example.com,Initech\n"
    "D-2,Support plan,700,EUR,grace@example.com,Initech\n"  # same names, another deal
    "D-3,Roll-out,12000,EUR,grace@example.com,\n"
    "D-1,Support plan,500,EUR,grace@example.com,Initech\n"  # line 5: D-1 again
)


def _seed(api: TestClient) -> str:
    person = api.post(
        "/api/v1/people",
        json={"first_name": "Grace", "last_name": "Hopper",
              "emails": [{"email": "grace@example.com"}]},
    )  # fmt: skip
    assert person.status_code == 201, person.text
    company = api.post("/api/v1/companies", json={"name": "Initech", "domain": "initech.com"})
    assert company.status_code == 201, company.text
    return str(person.json()["id"])


def _upload(api: TestClient, name: str, text: str, obj: str) -> dict[str, Any]:
    files = {"file": (name, text.encode(), "text/csv")}
    response = api.post("/api/v1/imports", files=files, data={"object": obj})
    assert response.status_code == 202, response.text
    assert response.json()["object"] == obj
    drain_jobs()
    job = api.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert job["status"] == "done", job
    return job


def _rejects(api: TestClient, job: dict[str, Any]) -> list[tuple[int, str, str]]:
    text = api.get(f"/api/v1/imports/{job['id']}/rejects.csv").text
    return [(int(r["line"]), r["column"], r["reason"]) for r in csv.DictReader(io.StringIO(text))]


def _deals(api: TestClient) -> list[dict[str, Any]]:
    page = api.get("/api/v1/deals", params={"limit": 50})
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


def _timeline(api: TestClient, person_id: str) -> list[dict[str, Any]]:
    page = api.get(f"/api/v1/people/{person_id}/timeline", params={"limit": 100})
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


class TestActivitiesImport:
    def test_history_goes_on_the_timeline_at_its_dates_once(self, api: TestClient) -> None:
        person_id = _seed(api)
        job = _upload(api, "history.csv", ACTIVITIES, "activity")
        assert (job["created"], job["unchanged"], job["rejected"]) == (4, 1, 2), job
        rejects = _rejects(api, job)
        assert [(line, column) for line, column, _ in rejects] == [
            (5, "Contact Email"),
            (8, "Date"),
        ]
        assert "no person with this email" in rejects[0][2]
        items = _timeline(api, person_id)
        by_subject = {a["subject"]: a for a in items}
        assert set(by_subject) >= {"Intro call", "Kick-off", "First order", "No id of its own"}
        assert "Follow-up" not in by_subject  # its source id (H-4) was already taken
        call = by_subject["Intro call"]
        assert call["kind"] == "call"
        assert call["occurred_at"].startswith("2023-04-02T10:15")
        assert call["body"] == "Talked about the roll-out,\nthen pricing"
        assert by_subject["Kick-off"]["occurred_at"].startswith("2023-05-10T00:00")
        purchase = by_subject["First order"]
        assert (purchase["kind"], purchase["currency"]) == ("purchase", "EUR")
        assert purchase["external_id"] == "H-4"

        again = _upload(api, "history.csv", ACTIVITIES, "activity")
        assert (again["created"], again["unchanged"], again["rejected"]) == (0, 5, 2), again
        assert len(_timeline(api, person_id)) == len(items)


class TestDealsImport:
    def test_deals_by_names_with_rejects_by_line_and_an_idempotent_rerun(
        self, api: TestClient
    ) -> None:
        person_id = _seed(api)
        job = _upload(api, "deals.csv", DEALS, "deal")
        assert (job["created"], job["rejected"]) == (2, 3), job
        rejects = _rejects(api, job)
        assert [(line, column) for line, column, _ in rejects] == [
            (4, "Contact Email"),
            (5, "Value"),
            (5, "Stage"),
            (6, "(record)"),
        ]
        assert rejects[-1][2] == "repeats line 2"
        deals = api.get("/api/v1/deals", params={"limit": 50}).json()["items"]
        by_title = {d["title"]: d for d in deals}
        assert set(by_title) == {"Roll-out", "Renewal"}
        won = by_title["Roll-out"]
        assert (won["status"], won["amount"], won["currency"]) == ("won", "12000.00", "EUR")
        assert won["person_id"] == person_id and won["company_id"] is not None
        assert won["expected_close_date"] == "2023-07-01"
        assert won["closed_at"].startswith("2023-07-01")
        assert by_title["Renewal"]["status"] == "open"

        again = _upload(api, "deals.csv", DEALS, "deal")
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2), again
        assert len(api.get("/api/v1/deals", params={"limit": 50}).json()["items"]) == 2

    def test_deals_are_matched_by_their_external_id_on_every_import(self, api: TestClient) -> None:
        """Two deals of one title stay two (their ids tell them apart); importing the file
        again creates nothing; a deal renamed in the other CRM is updated, not doubled."""
        person_id = _seed(api)
        first = _upload(api, "deals.csv", WITH_IDS, "deal")
        assert (first["created"], first["rejected"]) == (3, 1), first
        assert _rejects(api, first) == [(5, "(record)", "repeats line 2")]
        deals = _deals(api)
        assert sorted(d["external_id"] for d in deals) == ["D-1", "D-2", "D-3"]
        by_id = {d["external_id"]: d for d in deals}
        assert by_id["D-1"]["title"] == by_id["D-2"]["title"] == "Support plan"
        assert by_id["D-1"]["person_id"] == by_id["D-2"]["person_id"] == person_id

        again = _upload(api, "deals.csv", WITH_IDS, "deal")
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3), again
        assert {d["id"] for d in _deals(api)} == {d["id"] for d in deals}

        renamed = WITH_IDS.replace("D-3,Roll-out,12000", "D-3,Roll-out phase 2,15000")
        changed = _upload(api, "deals.csv", renamed, "deal")
        assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
        after = {d["external_id"]: d for d in _deals(api)}
        assert len(after) == 3 and after["D-3"]["id"] == by_id["D-3"]["id"]
        assert (after["D-3"]["title"], after["D-3"]["amount"]) == ("Roll-out phase 2", "15000.00")

        assert api.delete(f"/api/v1/deals/{by_id['D-2']['id']}").status_code == 200
        binned = _upload(api, "deals.csv", WITH_IDS, "deal")
        assert (binned["created"], binned["rejected"]) == (0, 2), binned
        assert (3, "Deal ID") in [(line, column) for line, column, _ in _rejects(api, binned)]

    def test_deals_imported_without_ids_take_them_on_the_next_import(self, api: TestClient) -> None:
        _seed(api)
        rows = ("Roll-out,12000,EUR,grace@example.com", "Renewal,5000,EUR,grace@example.com")
        header = "Deal Name,Value,Currency,Contact Email\n"
        _upload(api, "deals.csv", header + "\n".join(rows) + "\n", "deal")
        before = {d["title"]: d["id"] for d in _deals(api)}
        ids = "".join(f"R-{n},{row}\n" for n, row in enumerate(rows, 1))
        job = _upload(api, "deals.csv", "Deal ID," + header + ids, "deal")
        assert (job["created"], job["updated"]) == (0, 2), job
        after = _deals(api)
        assert {d["title"]: d["id"] for d in after} == before
        assert {d["title"]: d["external_id"] for d in after} == {
            "Roll-out": "R-1",
            "Renewal": "R-2",
        }

    def test_an_unknown_object_is_refused(self, api: TestClient) -> None:
        files = {"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}
        response = api.post("/api/v1/imports", files=files, data={"object": "spaceships"})
        assert response.status_code == 400, response.text


def test_cli_imports_activities_and_exits_3_on_rejects(
    api: TestClient, tmp_path: Path, cast: Any
) -> None:
    _seed(api)
    path = tmp_path / "history.csv"
    path.write_text(ACTIVITIES)
    args = ["import", str(path), "-w", str(cast.acme), "--object", "activities", "--json"]
    preview = CliRunner().invoke(app, args)
    assert preview.exit_code == 0, preview.output
    assert '"valid": 5' in preview.stdout, preview.stdout
    applied = CliRunner().invoke(app, [*args, "--apply"])
    assert applied.exit_code == 3, applied.output
    assert '"created": 4' in applied.stdout, applied.stdout
    again = CliRunner().invoke(app, [*args, "--apply"])
    assert '"created": 0' in again.stdout and '"unchanged": 5' in again.stdout, again.stdout


def test_leads_import_as_a_background_job_is_rerun_safe(api: TestClient) -> None:
    text = "E-Mail,Name,UTM Source\nlin@example.com,Lin Wu,fair\nbad-email,Nobody,\n"
    job = _upload(api, "leads.csv", text, "lead")
    assert (job["created"], job["rejected"]) == (1, 1), job
    assert [(line, column) for line, column, _ in _rejects(api, job)] == [(3, "E-Mail")]
    again = _upload(api, "leads.csv", text, "lead")
    assert (again["created"], again["unchanged"], again["rejected"]) == (0, 1, 1), again
