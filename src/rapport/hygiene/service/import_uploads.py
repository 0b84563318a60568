"""Imports from the web page: a file is uploaded and *staged* (kept under the import directory
with a small description), previewed with its mapping and first rows as they would go in, then
started as a background job. The staged copy is kept under the job's id so the rejects
download can show each refused line as it was in the file.
"""

from __future__ import annotations

import io
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, or_, select

from rapport.accounts.models import User
from rapport.core import csv_cells
from rapport.core.context import Context
from rapport.core.db import get_database
from rapport.core.errors import BadRequest, NotFound, RapportError
from rapport.core.imports import overrides
from rapport.hygiene.models import ImportJob, ImportReject
from rapport.hygiene.service import (
    company_columns,
    import_people,
    importing,
    mappings,
    people_custom,
    runner,
    sources,
)
from rapport.hygiene.service import import_companies as importing_companies
from rapport.hygiene.service.cleaning import CleanRow, phone_region

OBJECTS = {"person": "People", "company": "Companies"}
PREVIEW_ROWS = 5
PAGE = 20
IGNORE = "ignore"


@dataclass
class Staged:
    """An uploaded file waiting for its preview and start."""

    token: str
    filename: str
    object: str
    format: str
    path: Path


@dataclass
class PreviewRow:
    line: int
    cells: list[tuple[str, str | None]]  # per file column: the value shown, its problem
    ok: bool


@dataclass
class Preview:
    """What the mapping screen shows."""

    columns: list[str]
    mapping: dict[str, str]  # every column → a field or "ignore"
    targets: list[tuple[str, str]]  # (value, label) choices of the selects
    rows: list[PreviewRow] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str | None = None
    error: str | None = None


STAGED_FOR = timedelta(days=1)  # an upload nobody started is dropped after this
KEPT_FOR = timedelta(days=30)  # a started one stays this long for its rejects download


def _staging() -> Path:
    path = runner.upload_dir() / "staged"
    path.mkdir(parents=True, exist_ok=True)
    return path


def prune(now: datetime | None = None) -> int:
    """Drop staged uploads never started (after a day) and kept copies of started ones
    (after 30 days); returns how many files went."""
    now = now or datetime.now(UTC)
    gone = 0
    for path in _staging().iterdir():
        age = now - datetime.fromtimestamp(path.stat().st_mtime, UTC)
        started = "-" in path.stem  # kept under the job's id (a UUID); staged: a hex token
        if age > (KEPT_FOR if started else STAGED_FOR):
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def stage(ctx: Context, *, filename: str, stream: IO[bytes], object: str) -> Staged:
    """Keep an uploaded file for its preview; refused if it cannot be read at all."""
    ctx.require("hygiene:import")
    ctx.require("people:write" if object == "person" else "companies:write")
    if object not in OBJECTS:
        raise BadRequest("import people or companies")
    fmt = sources.guess_format(filename)
    if object == "company" and fmt not in importing_companies.FORMATS:
        raise BadRequest("companies import from CSV, JSON lines or vCard (.csv, .jsonl, .vcf)")
    prune()
    token = uuid.uuid4().hex
    path = _staging() / f"{token}.{fmt}"
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    meta = {"workspace": str(ctx.workspace_id), "filename": filename[:500], "object": object}
    (path.parent / f"{token}.json").write_text(json.dumps(meta | {"format": fmt}))
    staged = Staged(token, filename, object, fmt, path)
    try:
        _columns(staged)
    except (RapportError, ValueError, UnicodeDecodeError) as exc:
        discard(staged)
        detail = exc.detail if isinstance(exc, RapportError) else str(exc)
        raise BadRequest(f"this file cannot be read: {detail}") from None
    return staged


def load(ctx: Context, token: str) -> Staged:
    """A staged upload of this workspace (NotFound otherwise, or once started)."""
    ctx.require("hygiene:import")
    if not token.isalnum():
        raise NotFound("No such upload")
    meta_path = _staging() / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        raise NotFound("No such upload; upload the file again") from None
    if meta.get("workspace") != str(ctx.workspace_id):
        raise NotFound("No such upload; upload the file again")
    path = _staging() / f"{token}.{meta['format']}"
    return Staged(token, meta["filename"], meta["object"], meta["format"], path)


def discard(staged: Staged) -> None:
    staged.path.unlink(missing_ok=True)
    (staged.path.parent / f"{staged.token}.json").unlink(missing_ok=True)


def _columns(staged: Staged) -> list[str]:
    with staged.path.open("rb") as handle:
        return runner.open_file(importing.target_for(staged.object), handle, staged.format).columns


def _records(staged: Staged, handle: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    return runner.open_file(importing.target_for(staged.object), handle, staged.format).records


def targets(ctx: Context, object: str) -> list[tuple[str, str]]:
    """The fields a column may map to, with labels (then the object's custom fields)."""
    return importing.target_for(object).fields(ctx)


def preview(
    ctx: Context,
    staged: Staged,
    *,
    explicit: dict[str, str] | None = None,
    saved_name: str | None = None,
) -> Preview:
    """The file's columns, their mapping (automatic, or a saved mapping's, or the form's
    choices) and its first rows as they would be imported, each cell with its problem."""
    columns = _columns(staged)
    head = staged.path.open("rb").read(sources.SNIFF_BYTES)
    encoding = sources.detect_encoding(head)
    view = Preview(columns, {}, targets(ctx, staged.object), encoding=encoding)
    if staged.format == "csv":
        view.delimiter = sources.csv_dialect(head.decode(encoding, errors="ignore")).delimiter
    saved = dict(mappings.by_name(ctx, saved_name).fields) if saved_name else {}
    explicit = {c: f for c, f in (explicit or {}).items() if c in columns}
    try:
        mapping = _resolve(ctx, staged, columns, saved, explicit)
    except RapportError as exc:
        view.error = "; ".join(e.message for e in exc.errors) or exc.detail
        mapping = _partial(ctx, staged, columns, saved, explicit)
    view.mapping = {c: mapping.get(c, IGNORE) for c in columns}
    region = phone_region(ctx)
    cleaner = importing_companies.Cleaner(ctx, mapping) if staged.object == "company" else None
    with staged.path.open("rb") as handle:
        for line, raw in islice(_records(staged, handle), PREVIEW_ROWS):
            outcome: Any
            if cleaner is not None:
                outcome = cleaner.clean(line, raw)
            else:
                outcome = import_people.clean_one(line, raw, mapping, region)
                if isinstance(outcome, CleanRow):
                    outcome = people_custom.check_row(ctx, outcome)
            problems: dict[str, str] = {}
            if isinstance(outcome, list):
                for p in outcome:
                    problems[p.column] = (
                        f"{problems[p.column]}; {p.reason}" if p.column in problems else p.reason
                    )
            cells = []
            for column in columns:
                target = view.mapping[column]
                shown = _shown(outcome, target) if not problems else None
                value = raw.get(column)
                text = shown if shown is not None else ("" if value is None else _text(value))
                cells.append((text, problems.pop(column, None)))
            row = PreviewRow(line, cells, not isinstance(outcome, list))
            if problems:  # a problem of the whole record (or of a column not shown)
                row.cells[0] = (row.cells[0][0], "; ".join(problems.values()))
            view.rows.append(row)
    return view


def _resolve(
    ctx: Context,
    staged: Staged,
    columns: list[str],
    saved: dict[str, str],
    explicit: dict[str, str],
) -> dict[str, str]:
    target = importing.target_for(staged.object)
    return target.resolve_mapping(ctx, columns, staged.format, saved, explicit)


def _partial(
    ctx: Context,
    staged: Staged,
    columns: list[str],
    saved: dict[str, str],
    explicit: dict[str, str],
) -> dict[str, str]:
    """The mapping as far as it goes when it cannot be used as is (shown with the error)."""
    chosen = overrides(columns, saved, explicit)
    try:
        if staged.object == "company":
            labels = importing_companies.custom_labels(ctx)
            return company_columns.auto_mapping(columns, chosen, labels)
        return sources.auto_mapping(columns, chosen, people_custom.labels(ctx))
    except RapportError:
        return {c: f for c, f in explicit.items() if f != IGNORE}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _shown(outcome: Any, target: str) -> str | None:
    """The value a clean record will store for ``target`` (None: show the raw cell)."""
    if target == IGNORE:
        return None
    if isinstance(outcome, CleanRow):
        if target in ("email", "phone", "company"):
            return getattr(outcome, target)
        if target in ("street", "city", "region", "postal_code", "country"):
            return (outcome.values.get("addresses") or [{}])[0].get(target)
        if target == "full_name":
            return " ".join(
                p for p in (outcome.values["first_name"], outcome.values["last_name"]) if p
            )
        if target == "id":
            return str(outcome.person_id) if outcome.person_id else None
        if target.startswith("custom."):
            value = (outcome.values.get("custom") or {}).get(target.removeprefix("custom."))
            return None if value is None else _text(value)
        if target == "tags":
            return "; ".join(outcome.values.get("tags") or [])
        value = outcome.values.get(target)
        return None if value is None else str(value)
    if isinstance(outcome, importing_companies.CleanCompany):
        values = outcome.values
        if target in importing_companies.ADDRESS:
            return (values.get("address") or {}).get(target)
        if target.startswith("custom."):
            value = (values.get("custom") or {}).get(target.removeprefix("custom."))
            return None if value is None else _text(value)
        if target == "tags":
            return "; ".join(values.get("tags") or [])
        if target in ("owner_email", "id", "external_id"):
            return None
        value = values.get(target)
        return None if value is None else str(value)
    return None


def start(
    ctx: Context,
    staged: Staged,
    *,
    explicit: dict[str, str],
    save_as: str | None = None,
    lenient: bool = False,
) -> ImportJob:
    """Queue the import of a staged file with the form's mapping (the caller enqueues the
    job after commit); the staged copy stays, under the job's id, for the rejects."""
    with staged.path.open("rb") as handle:
        job = runner.start_upload(
            ctx, filename=staged.filename, stream=handle, fmt=staged.format, pairs=[],
            fields=explicit, save_as=save_as or None, object=staged.object, lenient=lenient,
        )  # fmt: skip
    staged.path.rename(staged.path.parent / f"{job.id}.{staged.format}")
    (staged.path.parent / f"{staged.token}.json").unlink(missing_ok=True)
    return job


@dataclass
class JobRow:
    job: ImportJob
    who: str


def jobs_page(
    ctx: Context, *, cursor: str | None = None, limit: int = PAGE
) -> tuple[list[JobRow], str | None]:
    """Past imports, newest first, one keyset page (``cursor`` from the previous page)."""
    ctx.require("hygiene:read")
    stmt = (
        select(ImportJob, User.name, User.email)
        .outerjoin(User, User.id == ImportJob.actor_id)
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        try:
            stamp, _, last = cursor.partition("_")
            when, last_id = datetime.fromisoformat(stamp), uuid.UUID(last)
        except ValueError:
            raise BadRequest("this page link is broken; start from the first page") from None
        stmt = stmt.where(
            or_(
                ImportJob.created_at < when,
                and_(ImportJob.created_at == when, ImportJob.id < last_id),
            )
        )
    found = ctx.session.execute(stmt).all()
    rows = [JobRow(job, name or email or "the system") for job, name, email in found[:limit]]
    more = len(found) > limit
    next_cursor = f"{rows[-1].job.created_at.isoformat()}_{rows[-1].job.id}" if more else None
    return rows, next_cursor


def rejects_csv(ctx: Context, job_id: uuid.UUID, *, level: str = "error") -> Iterator[str]:
    """The rejects of an import (``level="warning"``: its warnings, rows that went in with a
    value left out or doubted): line, column, message and the original line of the file
    (when the upload is still kept), as CSV; checked now, streamed through its own session."""
    job = importing.get_job(ctx, job_id)
    kept = next(_staging().glob(f"{job.id}.*"), None)
    return _rejects(ctx.workspace_id, job.id, kept, level)


def _rejects(
    workspace_id: uuid.UUID, job_id: uuid.UUID, kept: Path | None, level: str = "error"
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv_cells.writer(buffer)
    writer.writerow(["line", "column", "message", "value", "original row"])
    stmt = (
        select(ImportReject.line, ImportReject.column, ImportReject.reason, ImportReject.value)
        .where(ImportReject.import_id == job_id, ImportReject.level == level)
        .order_by(ImportReject.line, ImportReject.id)
    )
    with get_database().session(workspace_id) as session:
        rejects = session.execute(stmt).all()
    originals = _lines(kept, {r[0] for r in rejects}) if kept else {}
    yield _drain(buffer)
    for line, column, reason, value in rejects:
        writer.writerow([line, column, reason, value or "", originals.get(line, "")])
        yield _drain(buffer)


def _lines(path: Path, wanted: set[int]) -> dict[int, str]:
    """The text of some lines of a file (in its own encoding)."""
    if not wanted:
        return {}
    with path.open("rb") as handle:
        encoding = sources.detect_encoding(handle.read(sources.SNIFF_BYTES))
    out: dict[int, str] = {}
    last = max(wanted)
    with path.open(encoding=encoding, errors="replace", newline="") as text:
        for number, raw in enumerate(text, start=1):
            if number in wanted:
                out[number] = raw.rstrip("\r\n")
            if number >= last:
                break
    return out


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
