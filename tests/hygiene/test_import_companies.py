"""Importing companies (CSV, JSON lines) through the API and the CLI: matching by id, external
id and domain, rejects by exact line, idempotent reruns, export → import round trips, and
workspace isolation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.hygiene.jobs_helper import drain_jobs

COMPANIES = (
    "Company Name;Domain;Industry;Employees;Country;City;Phone;CRM ID;Tags;Account Owner\n"
    "Initech;https://www.initech.com/about;Software;1,200;United States;Austin;"
    "(512) 555-0100;A-1;vip, software;ada@acme.test\n"
    "Globex;globex.example;Energy;many;Germany;Berlin;;A-2;;\n"  # line 3: bad size
    "Hooli;hooli.com;Tech;50;Narnia;;;A-3;;\n"  # line 4: bad country
    "Umbrella;umbrella.com;Pharma;5000;UK;London;+44 20 7946 0018;A-4;;nobody@acme.test\n"
    "Vandelay;vandelay.com;Import/Export;12;USA;Montréal;;A-5;;\n"
)


def _upload(client: TestClient, name: str, text: str, **form: object) -> dict[str, Any]:
    files = {"file": (name, text.encode(), "application/octet-stream")}
    response = client.post("/api/v1/imports", files=files, data={"object": "company", **form})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["object"], queued["status"]) == ("company", "queued")
    drain_jobs()
    job = client.get(f"/api/v1/imports/{queued['id']}").json()
    assert job["status"] == "done", job
    return job


def _companies(client: TestClient) -> list[dict[str, Any]]:
    items = client.get("/api/v1/companies", params={"limit": 200, "sort": "name"}).json()["items"]
    return [client.get(f"/api/v1/companies/{c['id']}").json() for c in items]


def _define(client: TestClient, key: str, field_type: str, **extra: Any) -> None:
    body = {"object_type": "company", "key": key, "label": key.title(), "field_type": field_type}
    response = client.post("/api/v1/custom-fields", json={**body, **extra})
    assert response.status_code == 201, response.text


def _rejects(client: TestClient, job: dict[str, Any]) -> list[tuple[str, str, str]]:
    text = client.get(f"/api/v1/imports/{job['id']}/rejects.csv").text
    return [(r["line"], r["column"], r["reason"]) for r in csv.DictReader(io.StringIO(text))]


def _comparable(companies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("id", "name", "domain", "website", "industry", "size", "phone", "address")
    out = []
    for c in companies:
        row = {k: c[k] for k in keep}
        row |= {"tags": sorted(t["name"] for t in c["tags"]), "custom": c["custom"]}
        row |= {"owner_id": c["owner_id"], "version": c["version"]}
        out.append(row)
    return out


class TestCompaniesImport:
    def test_good_rows_go_in_and_bad_rows_are_rejected_by_exact_line_and_column(
        self, api: TestClient
    ) -> None:
        job = _upload(api, "companies.csv", COMPANIES)
        assert (job["created"], job["updated"], job["rejected"]) == (2, 0, 3)
        assert (job["total_rows"], job["rows_done"], job["last_line"]) == (5, 5, 6)
        assert job["mapping"]["Company Name"] == "name" and job["mapping"]["Domain"] == "domain"
        assert job["mapping"]["Employees"] == "size"
        assert job["mapping"]["CRM ID"] == "external_id"
        assert job["mapping"]["Account Owner"] == "owner_email"
        rejects = _rejects(api, job)
        assert [(line, column) for line, column, _ in rejects] == [
            ("3", "Employees"),
            ("4", "Country"),
            ("5", "Account Owner"),
        ]
        assert "whole number" in rejects[0][2]
        assert "no member" in rejects[2][2]
        initech, vandelay = _companies(api)
        assert (initech["name"], initech["domain"], initech["size"]) == (
            "Initech",
            "initech.com",
            1200,
        )
        assert initech["phone"] == "+15125550100"
        assert initech["address"] == {"city": "Austin", "country": "US"}
        assert sorted(t["name"] for t in initech["tags"]) == ["software", "vip"]
        assert initech["owner_id"] is not None
        assert vandelay["address"]["country"] == "US"

    def test_reimport_is_idempotent_and_matches_by_external_id_then_domain(
        self, api: TestClient
    ) -> None:
        _upload(api, "companies.csv", COMPANIES)
        before = _comparable(_companies(api))
        again = _upload(api, "companies.csv", COMPANIES)
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        assert _comparable(_companies(api)) == before
        # An external id updates its company; a domain matches another one.
        change = (
            "external_id,name,industry,domain\n"
            "A-1,Initech,Consulting,\n"
            ",Vandelay Industries,,vandelay.com\n"
        )
        job = _upload(api, "change.csv", change)
        assert (job["created"], job["updated"], job["rejected"]) == (0, 2, 0)
        names = {c["name"]: c for c in _companies(api)}
        assert names["Initech"]["industry"] == "Consulting"
        assert names["Vandelay Industries"]["industry"] == "Import/Export"  # empty: unchanged
        assert set(names) == {"Initech", "Vandelay Industries"}

    def test_conflicting_keys_and_repeated_rows_are_rejected(self, api: TestClient) -> None:
        _upload(api, "companies.csv", COMPANIES)
        conflict = "external_id,domain,name\nA-1,vandelay.com,Initech\n"
        job = _upload(api, "conflict.csv", conflict)
        assert job["rejected"] == 1
        assert "different companies" in _rejects(api, job)[0][2]
        repeated = "domain,name\nacme.example,Acme\nacme.example,Acme Two\n"
        job = _upload(api, "repeat.csv", repeated)
        assert (job["created"], job["rejected"]) == (1, 1)
        assert _rejects(api, job)[0][:2] == ("3", "(record)")

    def test_export_then_import_changes_nothing_csv_and_jsonl(self, api: TestClient) -> None:
        _define(api, "tier", "select", options=["gold", "silver"])
        _define(api, "seats", "number")
        _define(api, "active", "boolean")
        _define(api, "arr", "money", currency="EUR")
        _upload(api, "companies.csv", COMPANIES)
        first = _companies(api)[0]
        custom = {"tier": "gold", "seats": 12, "active": True, "arr": "1500.5"}
        patched = api.patch(f"/api/v1/companies/{first['id']}", json={"custom": custom})
        assert patched.status_code == 200, patched.text
        before = _comparable(_companies(api))
        for fmt in ("csv", "jsonl"):
            export = api.get(f"/api/v1/exports/companies.{fmt}")
            assert export.status_code == 200, export.text
            job = _upload(api, f"companies.{fmt}", export.text)
            assert (job["created"], job["updated"], job["rejected"]) == (0, 0, 0), (
                fmt,
                api.get(f"/api/v1/imports/{job['id']}/rejects.csv").text,
            )
            assert job["unchanged"] == 2
            assert _comparable(_companies(api)) == before
        rows = list(csv.DictReader(io.StringIO(api.get("/api/v1/exports/companies.csv").text)))
        assert rows[0]["custom.arr"] == "1500.50 EUR" and rows[0]["external_id"] == "A-1"
        line = json.loads(api.get("/api/v1/exports/companies.jsonl").text.splitlines()[0])
        assert line["custom"]["tier"] == "gold" and line["tags"] == ["software", "vip"]

    def test_jsonl_rows_with_custom_objects_and_bad_lines(self, api: TestClient) -> None:
        _define(api, "tier", "select", options=["gold", "silver"])
        lines = [
            json.dumps({"name": "Acme", "domain": "acme.example", "custom": {"tier": "gold"}}),
            "not json",
            json.dumps({"name": "Beta", "custom": {"tier": "bronze"}}),
            json.dumps({"name": "Gamma", "size": 10, "tags": ["a", "b"]}),
        ]
        job = _upload(api, "c.jsonl", "\n".join(lines) + "\n")
        assert (job["created"], job["rejected"]) == (2, 2)
        assert [(r[0], r[1]) for r in _rejects(api, job)] == [
            ("2", "(record)"),
            ("3", "custom.tier"),
        ]

    def test_mapping_override_and_a_file_without_a_name_is_refused(self, api: TestClient) -> None:
        body = "Firma,Notes\nAcme,hello\n"
        files = {"file": ("x.csv", b"colour,size\nred,9\n", "text/csv")}
        refused = api.post("/api/v1/imports", files=files, data={"object": "company"})
        assert refused.status_code == 400
        job = _upload(api, "x.csv", "Org,Notes\nAcme,hello\n", map=["Org=name"])
        assert job["created"] == 1 and job["mapping"] == {"Org": "name"}
        job = _upload(api, "y.csv", body)
        assert job["mapping"] == {"Firma": "name"} and job["unchanged"] == 1

    def test_other_workspaces_neither_match_nor_see_the_companies(
        self, api: TestClient, api_as
    ) -> None:  # type: ignore[no-untyped-def]
        job = _upload(api, "companies.csv", COMPANIES)
        dev = api_as("dev")
        assert dev.get(f"/api/v1/imports/{job['id']}").status_code == 404
        assert dev.get(f"/api/v1/imports/{job['id']}/rejects.csv").status_code == 404
        ownerless = COMPANIES.replace("ada@acme.test", "").replace("nobody@acme.test", "")
        theirs = _upload(dev, "companies.csv", ownerless)
        assert (theirs["created"], theirs["updated"]) == (3, 0)  # nothing of Acme's matched
        export = dev.get("/api/v1/exports/companies.csv").text
        assert export.count("Initech") == 1
        # An Acme id in Globex's file is another workspace's id: never an update of Acme's
        # company; the row is a new Globex company with an id of its own.
        acme_id = _companies(api)[0]["id"]
        stolen = _upload(dev, "s.csv", f"id,name\n{acme_id},Stolen\n")
        assert (stolen["created"], stolen["updated"], stolen["rejected"]) == (1, 0, 0)
        assert _companies(api)[0]["name"] == "Initech"
        theirs_now = {c["name"]: c["id"] for c in _companies(dev)}
        assert theirs_now["Stolen"] != acme_id


class TestCompaniesCli:
    def test_import_companies_with_progress_then_rerun_changes_nothing(
        self, tmp_path: Path, connection, cast
    ) -> None:  # type: ignore[no-untyped-def]
        from rapport.cli import app

        path = tmp_path / "companies.csv"
        path.write_text(COMPANIES, encoding="cp1252")
        runner = CliRunner()
        args = ["import", "--companies", str(path), "-w", str(cast.acme)]
        preview = runner.invoke(app, args)
        assert preview.exit_code == 0, preview.output
        assert "2 rows are valid" in preview.output.replace("\x1b", "")
        done = runner.invoke(app, [*args, "--apply"])
        assert done.exit_code == 3, done.output  # finished, with three rows rejected
        again = runner.invoke(app, [*args, "--apply"])
        assert again.exit_code == 3, again.output
        assert "line 4, Country: unknown country 'Narnia'" in again.stderr
        from rapport.core.context import system_context
        from rapport.core.db import transaction
        from rapport.hygiene.service import importing

        with transaction(cast.acme) as session:
            jobs = importing.list_jobs(system_context(session, cast.acme))
        assert [(j.object, j.created, j.unchanged, j.rejected) for j in jobs[:2]] == [
            ("company", 0, 2, 3),
            ("company", 2, 0, 3),
        ]


class TestResume:
    def test_an_interrupted_import_resumes_after_its_last_committed_batch(
        self, tmp_path: Path, connection, cast
    ) -> None:  # type: ignore[no-untyped-def]
        import pytest

        from rapport.core.context import system_context
        from rapport.core.db import transaction
        from rapport.hygiene.service import importing, runner

        path = tmp_path / "companies.csv"
        path.write_text(COMPANIES.replace("nobody@acme.test", "ada@acme.test"))
        job_id = runner.start_file(cast.acme, path, "csv", {}, object="company")

        def crash(line: int) -> None:
            raise KeyboardInterrupt(f"killed after line {line}")

        with pytest.raises(KeyboardInterrupt):
            runner.run_file(cast.acme, job_id, batch_size=2, progress=crash)
        with transaction(cast.acme) as session:
            job = importing.get_job(system_context(session, cast.acme), job_id)
            assert (job.status, job.last_line, job.rows_done) == ("running", 3, 2)
        done = runner.run_file(cast.acme, job_id, batch_size=2)
        assert (done.status, done.last_line, done.rows_done) == ("done", 6, 5)
        assert (done.created, done.rejected) == (3, 2)
        with transaction(cast.acme) as session:
            from sqlalchemy import func, select

            from rapport.hub.models import Company

            assert session.scalar(select(func.count()).select_from(Company)) == 3
