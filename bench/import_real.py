"""How right an import is on files as real tools write them: each file of
``tests/hygiene/realdata/import/`` goes into a fresh workspace through the import service (the
path of ``rapport import --apply``) and is scored against its ``truth.json``, one point each:

1. accepted — as many records went in as the truth says;
2. reject lines — exactly the truth's lines were refused;
3. reject column and reason — each with the truth's column and a reason naming its word;
4. stored values — each value of the truth is stored as it is;
5. rerun — importing the file again creates and changes nothing;
6. round trip — the workspace's CSV export imported into another fresh workspace exports the
   same again.

    uv run python -m bench.import_real [--database sqlite|postgresql]

The test ``tests/hygiene/test_import_real_files.py`` runs the same scoring and requires
every point.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench.common import database_url
from rapport.accounts import service as accounts
from rapport.core import migrations
from rapport.core.context import system_context
from rapport.core.db import Database, set_database, transaction
from rapport.hub.models import Activity, ActivityKind, Person, PersonEmail, PersonPhone
from rapport.hygiene.models import ImportReject
from rapport.hygiene.service import exporting, runner

DATA = Path(__file__).resolve().parent.parent / "tests" / "hygiene" / "realdata" / "import"
POINTS = ("accepted", "reject lines", "reject reasons", "stored", "rerun", "round trip")
FORMATS = {".csv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".vcf": "vcf"}


@dataclass
class Score:
    """One file's points, and what went wrong for each point missed."""

    name: str
    points: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.points.values())

    def check(self, point: str, ok: bool, note: str) -> None:
        self.points[point] = ok
        if not ok:
            self.notes.append(f"{point}: {note}")


def truth() -> dict[str, Any]:
    """The committed truth of every file, by file name."""
    loaded: dict[str, Any] = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    return loaded


def fresh_workspace(label: str) -> uuid.UUID:
    """A new, empty workspace (its own transaction)."""
    with transaction(unscoped=True) as session:
        return accounts.create_workspace(session, f"{label} {uuid.uuid4().hex[:8]}").id


def import_file(workspace_id: uuid.UUID, path: Path, fmt: str) -> tuple[Any, list[Any]]:
    """Import a file as ``rapport import --apply`` does; the finished job and its rejects as
    ``(line, column, reason)``."""
    job_id = runner.start_file(workspace_id, path, fmt, {})
    job = runner.run_file(workspace_id, job_id, start="inline")
    with transaction(workspace_id) as session:
        rejects = session.execute(
            select(ImportReject.line, ImportReject.column, ImportReject.reason)
            .where(ImportReject.import_id == job_id)
            .order_by(ImportReject.line)
        ).all()
    return job, [tuple(r) for r in rejects]


def stored(workspace_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Each person of a workspace as its JSON lines export has them (with every email and
    phone in order, and their version), by each of their emails."""
    with transaction(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        rows = [json.loads(line) for line in exporting.export_people(ctx, "jsonl")]
        emails: dict[uuid.UUID, list[str]] = {}
        for pid, email in session.execute(
            select(PersonEmail.person_id, PersonEmail.email).order_by(PersonEmail.position)
        ):
            emails.setdefault(pid, []).append(email)
        phones: dict[uuid.UUID, list[str]] = {}
        for pid, number in session.execute(
            select(PersonPhone.person_id, PersonPhone.number).order_by(PersonPhone.position)
        ):
            phones.setdefault(pid, []).append(number)
        versions = {row[0]: row[1] for row in session.execute(select(Person.id, Person.version))}
        notes: dict[uuid.UUID, list[str]] = {}
        for pid, body in session.execute(
            select(Activity.person_id, Activity.body)
            .where(Activity.kind == ActivityKind.NOTE)
            .order_by(Activity.occurred_at, Activity.body)
        ):
            notes.setdefault(pid, []).append(body)
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        pid = uuid.UUID(row["id"])
        row |= {"emails": emails.get(pid, []), "phones": phones.get(pid, [])}
        row["notes"] = notes.get(pid, [])
        row["version"] = versions[pid]
        for email in row["emails"] or [f"(no email) {pid}"]:
            out[email] = row
    return out


def csv_export(workspace_id: uuid.UUID) -> str:
    with transaction(workspace_id) as session:
        return "".join(exporting.export_people(system_context(session, workspace_id), "csv"))


def without_ids(text: str) -> list[dict[str, str]]:
    """An export's rows, sorted, without the ids a new workspace gives."""
    rows = [dict(r) for r in csv.DictReader(io.StringIO(text))]
    for row in rows:
        row.pop("id", None)
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def stored_value(person: dict[str, Any], name: str) -> Any:
    if name in person:
        return person[name]
    return (person.get("custom") or {}).get(name)


def score_file(name: str, expected: dict[str, Any], folder: Path = DATA) -> Score:
    """Import one file into fresh workspaces and score it against its truth."""
    score = Score(name)
    path = folder / name
    fmt = FORMATS[path.suffix]
    workspace = fresh_workspace("Real file")
    job, rejects = import_file(workspace, path, fmt)
    accepted = job.created + job.updated + job.unchanged
    score.check("accepted", accepted == expected["accepted"],
                f"{accepted} went in, not {expected['accepted']}")  # fmt: skip
    lines = sorted({r[0] for r in rejects})
    wanted = sorted(r["line"] for r in expected["rejects"])
    score.check("reject lines", lines == wanted, f"lines {lines}, not {wanted}")
    missing = [
        r for r in expected["rejects"]
        if not any(line == r["line"] and column == r["column"]
                   and r["reason"].lower() in reason.lower() for line, column, reason in rejects)
    ]  # fmt: skip
    score.check("reject reasons", not missing and bool(lines == wanted),
                f"not found: {missing}; got {rejects}")  # fmt: skip
    people = stored(workspace)
    wrong = [
        (s["email"], s["field"], s["value"],
         stored_value(people[s["email"]], s["field"]) if s["email"] in people else "(missing)")
        for s in expected["stored"]
        if s["email"] not in people or stored_value(people[s["email"]], s["field"]) != s["value"]
    ]  # fmt: skip
    score.check("stored", not wrong, f"(email, field, wanted, stored): {wrong[:3]}"[:600])
    again, again_rejects = import_file(workspace, path, fmt)
    after = stored(workspace)
    same = {k: (v["version"], v["notes"]) for k, v in after.items()} == {
        k: (v["version"], v["notes"]) for k, v in people.items()
    }
    score.check(
        "rerun",
        (again.created, again.updated) == (0, 0) and same and again_rejects == rejects,
        f"created {again.created}, updated {again.updated}, versions kept {same}",
    )
    exported = csv_export(workspace)
    other = fresh_workspace("Round trip")
    with tempfile.TemporaryDirectory() as folder_name:
        copy = Path(folder_name) / "export.csv"
        copy.write_text(exported, encoding="utf-8")
        _job, back_rejects = import_file(other, copy, "csv")
    round_trip = without_ids(csv_export(other)) == without_ids(exported)
    score.check("round trip", round_trip and not back_rejects,
                f"export differs after re-import; rejects {back_rejects[:3]}")  # fmt: skip
    return score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    database = Database(database_url(args.database, "bench_import_real", fresh=True))
    set_database(database)
    migrations.upgrade(database.engine)
    table = Table(title="Import of real-world files (points out of 6)")
    table.add_column("file", no_wrap=True)
    for column in (*POINTS, "score"):
        table.add_column(column)
    notes: list[str] = []
    total = 0
    for name, expected in sorted(truth().items()):
        score = score_file(name, expected)
        total += score.total
        marks = ["✓" if score.points[p] else "✗" for p in POINTS]
        table.add_row(name, *marks, f"{score.total}/6")
        notes += [f"{name}: {note}" for note in score.notes]
    console = Console()
    console.print(table)
    console.print(f"total {total}/{6 * len(truth())}")
    for note in notes:
        console.print(note, markup=False)


if __name__ == "__main__":
    main()
