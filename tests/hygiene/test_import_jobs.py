"""Background imports with progress, and saved header mappings (API and CLI)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.hygiene.jobs_helper import drain_jobs

GERMAN = (
    "Vorname;Nachname;E-Mail Adresse;Notizen\n"
    "Karl;Weber;karl@example.de;VIP\n"
    "Greta;Schmidt;greta@example.de;\n"
)


def _queue(client: TestClient, name: str, body: str, **form: object) -> dict:
    files = {"file": (name, body.encode(), "text/csv")}
    response = client.post("/api/v1/imports", files=files, data=form)
    assert response.status_code == 202, response.text
    return response.json()


def _job(client: TestClient, job_id: str) -> dict:
    """The job after the queued work has run (as a worker would)."""
    drain_jobs()
    return client.get(f"/api/v1/imports/{job_id}").json()


class TestBackgroundImport:
    def test_queued_job_reports_totals_then_progress_counts_and_history(
        self, api: TestClient
    ) -> None:
        body = "email,first_name\na@example.com,A\nbad,B\nc@example.com,C\nd@example.com,D\n"
        queued = _queue(api, "p.csv", body)
        assert (queued["status"], queued["total_rows"], queued["rows_done"]) == ("queued", 4, 0)
        job = _job(api, queued["id"])
        assert job["status"] == "done" and job["finished_at"]
        assert (job["rows_done"], job["last_line"], job["total_rows"]) == (4, 5, 4)
        assert (job["created"], job["updated"], job["unchanged"], job["rejected"]) == (3, 0, 0, 1)
        rejects = list(
            csv.reader(io.StringIO(api.get(f"/api/v1/imports/{job['id']}/rejects.csv").text))
        )
        assert rejects[1][:3] == ["3", "email", "bad"]
        history = api.get("/api/v1/imports").json()
        assert history[0]["id"] == job["id"]

    def test_a_file_with_no_name_or_email_column_is_refused_before_queueing(
        self, api: TestClient
    ) -> None:
        files = {"file": ("x.csv", b"colour,size\nred,9\n", "text/csv")}
        assert api.post("/api/v1/imports", files=files).status_code == 400
        assert api.get("/api/v1/imports").json() == []

    def test_other_workspaces_do_not_see_the_history(self, api: TestClient, api_as) -> None:  # type: ignore[no-untyped-def]
        _queue(api, "p.csv", "email\nq@example.com\n")
        assert api_as("dev").get("/api/v1/imports").json() == []


class TestSavedMappings:
    def test_crud_and_an_import_that_applies_a_saved_mapping_under_explicit_overrides(
        self, api: TestClient, api_as
    ) -> None:  # type: ignore[no-untyped-def]
        fields = {"Vorname": "first_name", "E-Mail Adresse": "email", "Notizen": "ignore"}
        fields["Kundennummer"] = "external_id"  # not in every file: tolerated
        created = api.post("/api/v1/import-mappings", json={"name": "German CRM", "fields": fields})
        assert created.status_code == 201, created.text
        mapping = created.json()
        again = api.post("/api/v1/import-mappings", json={"name": "German CRM", "fields": fields})
        assert again.status_code == 409
        bad = api.post("/api/v1/import-mappings", json={"name": "X", "fields": {"a": "shoe"}})
        assert bad.status_code == 422

        job = _job(api, _queue(api, "de.csv", GERMAN, mapping="German CRM")["id"])
        assert job["created"] == 2
        assert "Notizen" not in job["mapping"] and job["mapping"]["Nachname"] == "last_name"
        karl = api.get("/api/v1/people", params={"email": "karl@example.de"}).json()["items"][0]
        assert (karl["first_name"], karl["last_name"], karl["job_title"]) == ("Karl", "Weber", None)

        # an explicit override beats the saved mapping: the notes become job titles
        job = _job(
            api, _queue(api, "de.csv", GERMAN, mapping="German CRM", map="Notizen=job_title")["id"]
        )
        assert (job["updated"], job["unchanged"]) == (1, 1)
        karl = api.get(f"/api/v1/people/{karl['id']}").json()
        assert karl["job_title"] == "VIP"

        renamed = api.put(
            f"/api/v1/import-mappings/{mapping['id']}",
            json={"name": "Deutsch", "fields": fields},
        )
        assert renamed.json()["name"] == "Deutsch"
        assert [m["name"] for m in api.get("/api/v1/import-mappings").json()] == ["Deutsch"]
        assert api_as("dev").get(f"/api/v1/import-mappings/{mapping['id']}").status_code == 404
        assert api.delete(f"/api/v1/import-mappings/{mapping['id']}").status_code == 204
        files = {"file": ("de.csv", GERMAN.encode(), "text/csv")}
        gone = api.post("/api/v1/imports", files=files, data={"mapping": "Deutsch"})
        assert gone.status_code == 422

    def test_a_json_mapping_can_be_saved_from_an_import_and_reused(self, api: TestClient) -> None:
        body = "Who,Contact,Junk\nZed Zebra,zed@example.com,x\n"
        mapping = json.dumps({"Who": "full_name", "Contact": "email"})
        job = _job(api, _queue(api, "a.csv", body, fields=mapping, save_mapping="Simple")["id"])
        assert job["created"] == 1
        saved = api.get("/api/v1/import-mappings").json()
        assert [(m["name"], m["fields"]) for m in saved] == [
            ("Simple", {"Who": "full_name", "Contact": "email", "Junk": "ignore"})
        ]
        other = "Who,Contact,Junk\nAmy Adams,amy@example.com,y\n"
        assert _job(api, _queue(api, "b.csv", other, mapping="Simple")["id"])["created"] == 1
        files = {"file": ("c.csv", other.encode(), "text/csv")}
        bad = api.post("/api/v1/imports", files=files, data={"fields": "[1, 2]"})
        assert bad.status_code == 422


def test_cli_saves_a_mapping_from_overrides_and_reuses_it_by_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "RAPPORT_DATABASE_URL": url, "RAPPORT_LOG_LEVEL": "WARNING"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "rapport.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert cli("init", "--workspace", "Mapco").returncode == 0
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("Kontakt;Wer\none@example.com;Ona One\n")
    second.write_text("Kontakt;Wer\ntwo@example.com;Tom Two\n")
    made = cli(
        "import", str(first), "-w", "mapco", "--apply",
        "--map", "Kontakt=email", "--map", "Wer=full_name", "--save-mapping", "partner",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    reused = cli("import", str(second), "-w", "mapco", "--apply", "--mapping", "partner")
    assert reused.returncode == 0, reused.stderr
    unknown = cli("import", str(second), "-w", "mapco", "--apply", "--mapping", "nope")
    assert unknown.returncode == 1 and "no saved mapping named 'nope'" in unknown.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT full_name, email FROM people ORDER BY email")).all()
        saved = conn.execute(text("SELECT name FROM import_mappings")).scalars().all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("Ona One", "one@example.com"),
        ("Tom Two", "two@example.com"),
    ]
    assert saved == ["partner"]
