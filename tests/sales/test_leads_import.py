"""CSV lead import: automatic column mapping with UTM fields, the same capture path as the
form (person by email, source, timeline), bad rows by line and column, idempotent reruns,
unreadable files refused whole, the CLI, and workspace isolation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from rapport.cli import app as cli_app
from rapport.core.context import Context
from rapport.core.events import OutboxEvent
from rapport.hub.models import Activity
from rapport.sales.models import LeadScore, LeadSubmission

Api = Callable[[str], TestClient]
URL = "/api/v1/sales/leads/import"
GOOD = (
    "E-Mail,First Name,Job Title,UTM Source,utm_campaign,Notes,Favourite colour\n"
    "zoe@prospect.example.org,Zoé,CTO,google,spring,Wants a demo,blue\n"
    "not-an-email,Bad,CEO,,,,red\n"
    "max@prospect.example.org,Max,Analyst,newsletter,,,green\n"
    f"long@prospect.example.org,{'x' * 101},,,,,\n"
)


def _upload(client: TestClient, content: bytes | str, name: str = "leads.csv") -> Any:
    data = content.encode() if isinstance(content, str) else content
    return client.post(URL, files={"file": (name, data, "text/csv")})


def _person(api: TestClient, email: str) -> dict[str, Any]:
    items = api.get("/api/v1/people", params={"email": email}).json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


class TestImport:
    def test_rows_become_leads_with_source_utm_timeline_and_a_score(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        response = _upload(api, GOOD)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["rows"], body["created"], body["updated"], body["rejected"]) == (4, 2, 0, 2)
        assert body["mapping"] == {
            "E-Mail": "email", "First Name": "first_name", "Job Title": "job_title",
            "UTM Source": "utm_source", "utm_campaign": "utm_campaign", "Notes": "message",
        }  # fmt: skip
        assert body["ignored_columns"] == ["Favourite colour"]
        zoe = _person(api, "zoe@prospect.example.org")
        assert (zoe["first_name"], zoe["job_title"], zoe["source"]) == ("Zoé", "CTO", "csv import")
        note = api.get(f"/api/v1/people/{zoe['id']}/timeline").json()["items"][0]
        assert note["subject"] == "Lead captured (csv import)" and note["body"] == "Wants a demo"
        assert (note["meta"]["utm_source"], note["meta"]["utm_campaign"]) == ("google", "spring")
        submission = ada_ctx.session.scalars(
            select(LeadSubmission).where(LeadSubmission.utm_source == "google")
        ).one()
        assert str(submission.person_id) == zoe["id"] and submission.utm_campaign == "spring"
        scored = ada_ctx.session.scalars(select(LeadScore.person_id)).all()
        assert zoe["id"] in {str(p) for p in scored}

    def test_bad_rows_are_reported_by_line_column_and_reason(self, api: TestClient) -> None:
        errors = _upload(api, GOOD).json()["errors"]
        assert [(e["line"], e["column"]) for e in errors] == [(3, "E-Mail"), (5, "First Name")]
        assert "email" in errors[0]["reason"].lower()
        assert "100" in errors[1]["reason"]

    def test_running_the_same_file_again_changes_nothing(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        assert _upload(api, GOOD).status_code == 200
        zoe = _person(api, "zoe@prospect.example.org")

        def counts() -> tuple[int, ...]:
            return tuple(
                ada_ctx.session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Activity, LeadSubmission, OutboxEvent)
            )

        before = counts()
        again = _upload(api, GOOD).json()
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        assert again["rejected"] == 2  # still reported, still not stored
        assert counts() == before
        assert _person(api, "zoe@prospect.example.org")["version"] == zoe["version"]

    def test_a_known_email_updates_the_person_and_keeps_the_first_source(
        self, api: TestClient
    ) -> None:
        known = {"first_name": "Old", "email": "MAX@prospect.example.org", "source": "event"}
        assert api.post("/api/v1/people", json=known).status_code == 201
        body = _upload(api, "email,job_title,source\nmax@prospect.example.org,Head of Ops,fair\n")
        assert (body.json()["created"], body.json()["updated"]) == (0, 1)
        person = _person(api, "max@prospect.example.org")
        assert (person["job_title"], person["source"]) == ("Head of Ops", "event")

    def test_latin1_semicolon_file_from_a_spreadsheet(self, api: TestClient) -> None:
        content = "Email;Vorname;utm_medium\nrene@beispiel.example.de;René;cpc\n"
        body = _upload(api, content.encode("cp1252")).json()
        assert body["created"] == 1, body
        assert _person(api, "rene@beispiel.example.de")["first_name"] == "René"

    def test_a_single_name_column_is_split(self, api: TestClient) -> None:
        content = (
            "Name,Work Email\nAda Lovelace King,ada@lead.example.com\nPlato,p@lead.example.com\n"
        )
        assert _upload(api, content).json()["created"] == 2
        ada = _person(api, "ada@lead.example.com")
        assert (ada["first_name"], ada["last_name"]) == ("Ada Lovelace", "King")
        assert _person(api, "p@lead.example.com")["first_name"] == "Plato"

    def test_member_imports_read_only_cannot(self, api_as: Api) -> None:
        assert _upload(api_as("ben"), "email\nb@lead.example.com\n").json()["created"] == 1
        assert _upload(api_as("cleo"), "email\nc@lead.example.com\n").status_code == 403

    def test_each_workspace_gets_its_own_person(self, api_as: Api) -> None:
        content = "email,first_name\nshared@lead.example.com,Sam\n"
        assert _upload(api_as("ada"), content).json()["created"] == 1
        assert _upload(api_as("dev"), content).json()["created"] == 1  # not "unchanged"
        acme = _person(api_as("ada"), "shared@lead.example.com")
        globex = _person(api_as("dev"), "shared@lead.example.com")
        assert acme["id"] != globex["id"]


class TestBadFiles:
    def _refused(self, api: TestClient, content: bytes | str, status: int, words: str) -> None:
        response = _upload(api, content)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.text
        assert api.get("/api/v1/people").json()["items"] == []

    def test_empty_file(self, api: TestClient) -> None:
        self._refused(api, b"", 400, "empty")

    def test_header_without_rows(self, api: TestClient) -> None:
        self._refused(api, "email,first_name\n", 422, "no rows")

    def test_no_email_column(self, api: TestClient) -> None:
        self._refused(api, "name,phone\nAda,+14155552671\n", 422, "no email column")

    def test_binary_file(self, api: TestClient) -> None:
        self._refused(api, b"PK\x03\x04\x00\x00binary\x00zip", 400, "not a text CSV")

    def test_broken_encoding_after_the_sniffed_start_writes_nothing(self, api: TestClient) -> None:
        good = "email\n" + "".join(f"p{i}@lead.example.com\n" for i in range(20_000))
        content = good.encode() + b"\xff\xfe\xfa@lead.example.com\n"
        self._refused(api, content, 400, "not valid utf-8")

    def test_missing_file_field(self, api: TestClient) -> None:
        assert api.post(URL, data={"x": "1"}).status_code == 422


class TestCli:
    def test_cli_imports_and_reports_rejects(
        self, tmp_path: Path, api: TestClient, ada_ctx: Context
    ) -> None:
        ada_ctx.session.commit()
        file = tmp_path / "leads.csv"
        file.write_text(GOOD)
        result = CliRunner().invoke(cli_app, ["leads", "import", str(file), "-w", "acme"])
        assert result.exit_code == 3, result.output  # finished, but some rows were rejected
        assert "2 created" in result.stdout and "2 rejected" in result.stdout
        assert "2 rows rejected" in result.stderr and "line 3, E-Mail" in result.stderr
        assert _person(api, "zoe@prospect.example.org")["source"] == "csv import"
        rerun = CliRunner().invoke(cli_app, ["leads", "import", str(file), "-w", "acme"])
        assert "0 created, 0 updated, 2 unchanged" in rerun.output
