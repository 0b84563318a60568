"""Values as real exports hold them, through the real import service into a fresh workspace:
an Outlook-style file of a few hundred people (``realdata/value_cases.csv``, made by
``realdata/make_value_cases.py`` with its ``truth.json``) imported strict and lenient, and the
rules behind it one by one (phones read in the row's or the workspace's country, never
guessed; lenient rows kept with the failing field empty and a warning)."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, select
from typer.testing import CliRunner

from rapport.accounts import service as accounts
from rapport.accounts.public import workspace
from rapport.cli import app
from rapport.core.context import system_context
from rapport.core.db import transaction
from rapport.hub.models import Company, Person, PersonEmail, PersonPhone
from rapport.hygiene.models import ImportJob, ImportReject
from rapport.hygiene.service import importing, runner
from tests.live import Server

REALDATA = Path(__file__).parent / "realdata"
TRUTH: list[dict[str, Any]] = json.loads((REALDATA / "truth.json").read_text())
FLOOR = 0.99  # share of stored values that must match the truth, per field
FIELDS = ("first_name", "last_name", "email", "phone", "country", "city")


@pytest.fixture
def fresh(connection: Connection) -> uuid.UUID:
    """A new, empty workspace (no default country) inside the test's rolled-back transaction."""
    with transaction(unscoped=True) as session:
        return accounts.create_workspace(session, f"Values {uuid.uuid4().hex[:8]}").id


def _set_country(ws: uuid.UUID, country: str) -> None:
    with transaction(ws) as session:
        workspace.update(system_context(session, ws), country=country)


def _import(ws: uuid.UUID, path: Path, *, lenient: bool = False) -> ImportJob:
    job_id = runner.start_file(ws, path, "csv", {}, lenient=lenient)
    return runner.run_file(ws, job_id, start="inline")


def _problems(ws: uuid.UUID, job_id: uuid.UUID, level: str) -> dict[int, list[str]]:
    """``{line: [columns]}`` of an import's rejects (``error``) or warnings."""
    with transaction(ws) as session:
        rows = session.execute(
            select(ImportReject.line, ImportReject.column).where(
                ImportReject.import_id == job_id, ImportReject.level == level
            )
        ).all()
    out: dict[int, set[str]] = defaultdict(set)
    for line, column in rows:
        out[line].add(column)
    return {line: sorted(columns) for line, columns in out.items()}


def _reasons(ws: uuid.UUID, job_id: uuid.UUID, level: str) -> list[tuple[int, str, str, str]]:
    with transaction(ws) as session:
        return [
            tuple(r)  # type: ignore[misc]
            for r in session.execute(
                select(ImportReject.line, ImportReject.column, ImportReject.value,
                       ImportReject.reason)
                .where(ImportReject.import_id == job_id, ImportReject.level == level)
                .order_by(ImportReject.line)
            )
        ]  # fmt: skip


def _stored(ws: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The workspace's people by external id: names, email, phone, address country, city."""
    with transaction(ws) as session:
        emails = dict(session.execute(select(PersonEmail.person_id, PersonEmail.email)).all())
        phones = dict(session.execute(select(PersonPhone.person_id, PersonPhone.number)).all())
        found = session.execute(
            select(Person.id, Person.external_id, Person.first_name, Person.last_name,
                   Person.addresses)
        ).all()  # fmt: skip
    out = {}
    for pid, external_id, first, last, addresses in found:
        address = addresses[0] if addresses else {}
        out[external_id] = {
            "first_name": first, "last_name": last, "email": emails.get(pid),
            "phone": phones.get(pid), "country": address.get("country"),
            "city": address.get("city"),
        }  # fmt: skip
    return out


def _accuracy(
    stored: dict[str, dict[str, Any]], truth: list[dict[str, Any]]
) -> tuple[dict[str, float], list[tuple[str, str, Any, Any]]]:
    """Per field, the share of stored values equal to the truth, and the mismatches."""
    right: dict[str, int] = defaultdict(int)
    wrong: list[tuple[str, str, Any, Any]] = []
    for case in truth:
        person = stored[case["external_id"]]
        for name in FIELDS:
            if person[name] == case[name]:
                right[name] += 1
            else:
                wrong.append((case["external_id"], name, person[name], case[name]))
    return {name: right[name] / len(truth) for name in FIELDS}, wrong


def test_an_outlook_export_is_mapped_without_help(fresh: uuid.UUID) -> None:
    job_id = runner.start_file(fresh, REALDATA / "value_cases.csv", "csv", {})
    with transaction(fresh) as session:
        mapping = importing.get_job(system_context(session, fresh), job_id).mapping
    assert mapping == {
        "First Name": "first_name", "Last Name": "last_name", "Company": "company",
        "Job Title": "job_title", "Business Street": "street", "Business City": "city",
        "Business Postal Code": "postal_code", "Business Country/Region": "country",
        "Business Phone": "phone", "E-mail Address": "email", "Contact ID": "external_id",
    } | ({"Notes": "notes"} if "Notes" in mapping else {})  # fmt: skip
    # Outlook's "Title" is Mr/Ms/Dr: never the job title.
    assert "Title" not in mapping


def test_the_generated_file_imports_strict_as_the_truth_says(fresh: uuid.UUID) -> None:
    job = _import(fresh, REALDATA / "value_cases.csv")
    refused = {c["line"]: c["strict"]["refused"] for c in TRUTH if c["strict"]["refused"]}
    warned = {c["line"]: c["strict"]["warnings"] for c in TRUTH if c["strict"]["warnings"]}
    kept = [c for c in TRUTH if not c["strict"]["refused"]]
    assert (job.status, job.rejected, job.created) == ("done", len(refused), len(kept))
    assert _problems(fresh, job.id, "error") == refused
    assert _problems(fresh, job.id, "warning") == warned
    assert job.warned == len(warned)
    stored = _stored(fresh)
    assert set(stored) == {c["external_id"] for c in kept}
    accuracy, wrong = _accuracy(stored, kept)
    assert min(accuracy.values()) >= FLOOR, (accuracy, wrong[:20])


def test_the_generated_file_imports_lenient_keeping_every_row(fresh: uuid.UUID) -> None:
    job = _import(fresh, REALDATA / "value_cases.csv", lenient=True)
    warned = {c["line"]: c["lenient"]["warnings"] for c in TRUTH if c["lenient"]["warnings"]}
    assert (job.status, job.rejected, job.created, job.warned) == (
        "done", 0, len(TRUTH), len(warned)
    )  # fmt: skip
    assert _problems(fresh, job.id, "error") == {}
    assert _problems(fresh, job.id, "warning") == warned
    accuracy, wrong = _accuracy(_stored(fresh), TRUTH)
    assert min(accuracy.values()) >= FLOOR, (accuracy, wrong[:20])
    # A lenient import is what a strict one lets through, plus the strict one's refused
    # rows with the failing fields left empty: nothing that was right is lost.
    assert sum(1 for c in TRUTH if c["strict"]["refused"]) > 0.1 * len(TRUTH)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex[:6]}.csv"
    path.write_text(text, encoding="utf-8")
    return path


NATIONAL = (
    "First Name,Last Name,E-mail Address,Mobile Phone,Country/Region\n"
    "Karl,WEBER,karl@example.de,030 1234567,\n"
    "Chloé,O'BRIEN,chloe@example.fr,01 42 68 53 00,République française\n"
    "Ann,Lee,ann@example.com,+1 555 010 0000,U.S.A.\n"
)


def test_a_national_number_without_a_country_is_refused_with_what_to_do(
    fresh: uuid.UUID, tmp_path: Path
) -> None:
    job = _import(fresh, _write(tmp_path, NATIONAL))
    assert (job.created, job.rejected, job.warned) == (2, 1, 1)
    ((line, column, value, reason),) = _reasons(fresh, job.id, "error")
    assert (line, column, value) == (2, "Mobile Phone", "030 1234567")
    assert reason.startswith("no country to read 030 1234567: add a country column")
    # Not read as American: nobody got +1 30…
    stored = {p["email"]: p for p in _stored_by_email(fresh)}
    assert stored["chloe@example.fr"]["phone"] == "+33142685300"
    assert stored["chloe@example.fr"]["last_name"] == "O'Brien"
    # A number that parses but is outside today's ranges is kept, with a warning (both modes).
    assert stored["ann@example.com"]["phone"] == "+15550100000"
    ((line, column, value, reason),) = _reasons(fresh, job.id, "warning")
    assert (line, column, value) == (4, "Mobile Phone", "+1 555 010 0000")
    assert "not a number range in use" in reason


def test_lenient_keeps_the_row_with_the_phone_left_empty_and_a_warning(
    fresh: uuid.UUID, tmp_path: Path
) -> None:
    job = _import(fresh, _write(tmp_path, NATIONAL), lenient=True)
    assert (job.created, job.rejected, job.warned) == (3, 0, 2)
    karl = {p["email"]: p for p in _stored_by_email(fresh)}["karl@example.de"]
    assert (karl["last_name"], karl["phone"]) == ("Weber", None)
    warnings = _reasons(fresh, job.id, "warning")
    assert [(w[0], w[1], w[2]) for w in warnings] == [
        (2, "Mobile Phone", "030 1234567"),
        (4, "Mobile Phone", "+1 555 010 0000"),
    ]
    assert warnings[0][3].startswith("no country to read 030 1234567")
    assert "".join(_csv(fresh, job.id, "rejects")).count("\n") == 1  # the header alone
    assert "030 1234567" in "".join(_csv(fresh, job.id, "warnings"))


def test_the_workspace_default_country_reads_national_numbers(
    fresh: uuid.UUID, tmp_path: Path
) -> None:
    _set_country(fresh, "DE")
    job = _import(fresh, _write(tmp_path, NATIONAL))
    assert (job.created, job.rejected) == (3, 0)
    stored = {p["email"]: p for p in _stored_by_email(fresh)}
    assert stored["karl@example.de"]["phone"] == "+49301234567"  # the workspace's country
    assert stored["chloe@example.fr"]["phone"] == "+33142685300"  # the row's own comes first


def test_unknown_countries_are_refused_strict_and_left_empty_lenient(
    fresh: uuid.UUID, tmp_path: Path
) -> None:
    text = (
        "Name,Email,Country\n"
        "Frodo Baggins,frodo@example.com,Middle-earth\n"
        "Ada,ada@example.com,GER\n"
    )
    strict = _import(fresh, _write(tmp_path, text))
    assert (strict.created, strict.rejected) == (1, 1)
    ((line, column, value, reason),) = _reasons(fresh, strict.id, "error")
    assert (line, column, value) == (2, "Country", "Middle-earth")
    assert "unknown country" in reason
    lenient = _import(fresh, _write(tmp_path, text), lenient=True)
    assert (lenient.created, lenient.unchanged, lenient.warned) == (1, 1, 1)
    frodo = {p["email"]: p for p in _stored_by_email(fresh)}["frodo@example.com"]
    assert frodo["country"] is None and frodo["last_name"] == "Baggins"


def test_company_domains_are_cleaned_on_import(fresh: uuid.UUID, tmp_path: Path) -> None:
    text = (
        "name,domain\n"
        "Acme,acme.com.\n"
        "Bücher,https://www.BÜCHER.de/shop\n"
        "Initech,HTTP://WWW.INITECH.COM/\n"
    )
    job_id = runner.start_file(fresh, _write(tmp_path, text), "csv", {}, object="company")
    job = runner.run_file(fresh, job_id, start="inline")
    assert (job.created, job.rejected) == (3, 0)
    with transaction(fresh) as session:
        domains = dict(session.execute(select(Company.name, Company.domain)).all())
    assert domains == {"Acme": "acme.com", "Bücher": "xn--bcher-kva.de", "Initech": "initech.com"}


def _stored_by_email(ws: uuid.UUID) -> list[dict[str, Any]]:
    """The workspace's people (those without an external id too): email, phone, names."""
    with transaction(ws) as session:
        emails = dict(session.execute(select(PersonEmail.person_id, PersonEmail.email)).all())
        phones = dict(session.execute(select(PersonPhone.person_id, PersonPhone.number)).all())
        found = session.execute(
            select(Person.id, Person.first_name, Person.last_name, Person.addresses)
        ).all()
    return [
        {"email": emails.get(pid), "phone": phones.get(pid), "first_name": first,
         "last_name": last, "country": (addresses[0] if addresses else {}).get("country")}
        for pid, first, last, addresses in found
    ]  # fmt: skip


def _csv(ws: uuid.UUID, job_id: uuid.UUID, which: str) -> list[str]:
    with transaction(ws) as session:
        ctx = system_context(session, ws)
        chunks = (importing.rejects_csv if which == "rejects" else importing.warnings_csv)(
            ctx, job_id
        )
    return list(chunks)


def test_a_real_server_imports_lenient_through_the_api(live_server: Server) -> None:
    name = f"Lenient {uuid.uuid4().hex[:8]}"
    email = f"owner-{name.split()[1]}@example.com"
    live_server.cli("init", "--workspace", name, "--email", email, "--password", "x" * 20)
    token = live_server.token(email, name.lower().replace(" ", "-"))
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as api:
        strict = _served_import(api, NATIONAL)
        assert (strict["created"], strict["rejected"], strict["warned"]) == (2, 1, 1)
        assert strict["lenient"] is False
        lenient = _served_import(api, NATIONAL, lenient="true")
        assert lenient["lenient"] is True
        assert (lenient["created"], lenient["unchanged"], lenient["rejected"]) == (1, 2, 0)
        assert lenient["warned"] == 2
        rows = list(csv.DictReader(io.StringIO(
            api.get(f"/api/v1/imports/{lenient['id']}/warnings.csv").text
        )))  # fmt: skip
        # (a cell starting with + is written '+… so no spreadsheet reads it as a formula)
        assert [(r["line"], r["column"], r["value"].removeprefix("'")) for r in rows] == [
            ("2", "Mobile Phone", "030 1234567"), ("4", "Mobile Phone", "+1 555 010 0000"),
        ]  # fmt: skip
        assert rows[0]["reason"].startswith("no country to read 030 1234567")
        rejects = api.get(f"/api/v1/imports/{lenient['id']}/rejects.csv").text
        assert rejects.strip().count("\n") == 0  # the header alone
        karl = api.get("/api/v1/people", params={"email": "karl@example.de"}).json()["items"][0]
        assert karl["phone"] is None
        # With a default country the workspace reads the national number itself.
        assert api.patch("/api/v1/workspace/settings", json={"country": "DE"}).status_code == 200
        again = _served_import(api, NATIONAL)
        assert (again["rejected"], again["updated"]) == (0, 1)
        karl = api.get("/api/v1/people", params={"email": "karl@example.de"}).json()["items"][0]
        assert karl["phone"] == "+49301234567"


def _served_import(api: httpx.Client, text: str, **form: str) -> dict[str, Any]:
    files = {"file": ("people.csv", text.encode(), "text/csv")}
    response = api.post("/api/v1/imports", files=files, data=form)
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/imports/{response.json()['id']}").json()
        if job["status"] not in ("queued", "running"):
            assert job["status"] == "done", job
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"the import did not finish: {job}")


def test_the_cli_previews_and_imports_lenient(fresh: uuid.UUID, tmp_path: Path) -> None:
    path = _write(tmp_path, NATIONAL)
    args = ["import", str(path), "-w", str(fresh), "--json"]
    preview = CliRunner().invoke(app, [*args, "--lenient"])
    assert preview.exit_code == 0, preview.output
    found = json.loads(preview.stdout)
    assert (found["valid"], found["problems"]) == (3, [])
    assert [(w["line"], w["column"]) for w in found["warnings"]] == [
        (2, "Mobile Phone"), (4, "Mobile Phone"),
    ]  # fmt: skip
    strict = CliRunner().invoke(app, [*args, "--apply"])
    assert strict.exit_code == 3, strict.output  # a row was rejected
    assert (json.loads(strict.stdout)["rejected"], json.loads(strict.stdout)["warned"]) == (1, 1)
    lenient = CliRunner().invoke(app, [*args, "--apply", "--lenient"])
    assert lenient.exit_code == 0, lenient.output
    done = json.loads(lenient.stdout)
    assert (done["created"], done["unchanged"], done["rejected"], done["warned"]) == (1, 2, 0, 2)
