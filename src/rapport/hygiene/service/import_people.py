"""The people target of the import pipeline.

The pipeline (:mod:`importing`, :mod:`runner`) reads the file and cuts it into batches; this
target cleans a batch (in a worker process for big files: pure) and writes it. Each batch is
one unit of work: its
new people (bulk INSERTs — COPY on PostgreSQL — with their emails, phones and search
documents), its updates (through the hub's ``people.update``, so they are validated and
audited field by field), its rejects, one summary audit entry + outbox event naming the people
it created or changed (per-row entries cost more than the rows), and the job's progress
(``last_line``) commit together. Unchanged rows cost lookups only.
So a killed import leaves only whole batches behind and resumes after ``last_line``; and since
people are matched by Rapport id, external id or email, rerunning a file changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import JSON, Uuid, func, select

from rapport.core.context import Context
from rapport.core.errors import BadRequest, RapportError, invalid
from rapport.core.imports import Opened, Written, labelled, overrides
from rapport.hub.models import ActivityKind, Company, Person, PersonEmail, PersonPhone
from rapport.hub.public import companies, people, people_bulk, timeline
from rapport.hub.schemas import ActivityIn, CompanyIn, PersonPatch
from rapport.hygiene.models import ImportJob
from rapport.hygiene.service import columns, dedupe, people_custom, sources
from rapport.hygiene.service.cleaning import CleanRow, Problem, clean_record

BATCH = 20_000  # rows per committed unit: fewer, bigger commits load faster
LOOKUP = 900  # keys per IN (...) lookup: under SQLite's old 999-parameter limit
Record = tuple[int, dict[str, str]]
_COMPARED = ("first_name", "last_name", "job_title", "source", "external_id", "lifecycle_stage")


@dataclass
class _Batch:
    rejects: list[tuple[int, list[Problem]]]
    rows: list[CleanRow]


Outcome = CleanRow | tuple[int, list[Problem]]  # a clean row, or a line and its problems


def clean_batch(
    records: list[Record], mapping: dict[str, str], region: str, *, lenient: bool = False
) -> list[Outcome]:
    """Validate and normalise records, and prepare what the writer inserts for each clean
    row (pure: runs in a worker process for big files)."""
    out: list[Outcome] = []
    clean: list[CleanRow] = []
    for line, raw in records:
        outcome = clean_one(line, raw, mapping, region, lenient=lenient)
        if isinstance(outcome, CleanRow):
            clean.append(outcome)
            out.append(outcome)
        else:
            out.append((line, outcome))
    people_bulk.prepare(clean)
    return out


def clean_one(
    line: int,
    raw: dict[str, Any],
    mapping: dict[str, str],
    region: str,
    *,
    lenient: bool = False,
) -> CleanRow | list[Problem]:
    """One record cleaned: a JSON lines record's values checked for their types first (a
    CSV or vCard record holds text only); a note mapped from a column kept for the writer."""
    if type(raw) is sources.JsonRecord:
        raw, problems = json_cells(raw, mapping)
        if problems:
            return problems
    outcome = clean_record(line, raw, mapping, region=region, lenient=lenient)
    if "note" in mapping.values() and isinstance(outcome, CleanRow):
        for column, field in mapping.items():
            if field == "note" and (note := str(raw.get(column) or "").strip()):
                outcome.extras = (outcome.extras or {}) | {"note": (column, note)}
    return outcome


_WHAT = {"first_name": "a name", "last_name": "a name", "full_name": "a name"}
_WHAT |= {"email": "an email", "phone": "a phone number", "tags": "tags"}


def json_cells(
    raw: dict[str, Any], mapping: dict[str, str]
) -> tuple[dict[str, str], list[Problem]]:
    """A JSON record's mapped values as text, and the problems of those of a wrong type: an
    object, a list or true/false where text belongs, a number as a phone (its leading + or
    0 is gone: the number left is another one). A whole number for any other text field
    (a postcode) is taken as its decimal text; custom fields take any JSON value."""
    cells: dict[str, str] = {}
    problems: list[Problem] = []
    for column, value in raw.items():
        field = mapping.get(column)
        if field is None or value is None or isinstance(value, str):
            cells[column] = "" if value is None else value
            continue
        what = _WHAT.get(field, f"the {field.replace('_', ' ')}")
        shown = json.dumps(value, ensure_ascii=False)[:200]
        if field.startswith(columns.CUSTOM):
            cells[column] = columns.as_text(value)
        elif field == "tags" and isinstance(value, list):
            if all(isinstance(tag, str | int | float) and tag is not True and tag is not False
                   for tag in value):  # fmt: skip
                cells[column] = columns.join_list(str(tag) for tag in value)
            else:
                problems.append(Problem(column, shown, "tags must be a list of texts"))
        elif isinstance(value, dict):
            problems.append(Problem(column, shown, f"{what} must be text, not an object"))
        elif isinstance(value, list):
            problems.append(Problem(column, shown, f"{what} must be text, not a list"))
        elif isinstance(value, bool):
            problems.append(Problem(column, shown, f"{what} must be text, not {shown}"))
        elif field == "phone":
            reason = "a phone number must be a string: as a number it has lost its leading + or 0"
            problems.append(Problem(column, shown, reason))
        elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            cells[column] = str(int(value))
        else:
            cells[column] = str(value)
    return cells, problems


def write(ctx: Context, mapping: dict[str, str], outcomes: list[Outcome]) -> Written:
    """Upsert one batch of cleaned records: new people through the hub's bulk create,
    changed ones through the hub's service, in the caller's transaction."""
    ctx.require("hygiene:import")
    batch = _Batch([], [])
    for outcome in outcomes:
        if isinstance(outcome, CleanRow):
            batch.rows.append(outcome)
        else:
            batch.rejects.append(outcome)
    batch.rows = people_custom.check(ctx, batch.rows, batch.rejects)
    batch.rows = latest_rows(batch.rows, batch.rejects)
    creates, updates, keys = _match(ctx, batch)
    creates = people_custom.require(ctx, creates, batch.rejects, mapping)
    company_ids = _companies(ctx, [r.company for r in creates + [u for u, _ in updates]])
    created = people_bulk.insert_prepared(ctx, creates, company_ids)
    people_custom.after_insert(ctx, creates)
    written = Written(created=created, rejects=batch.rejects)
    _apply_updates(ctx, written, updates, company_ids, keys)
    refused = {line for line, _ in written.rejects}
    written.warnings = [
        (row.line, row.warnings)
        for row in (o for o in outcomes if isinstance(o, CleanRow))
        if row.warnings and row.line not in refused
    ]
    owners = list(zip(creates, created, strict=True)) + [
        (row, str(pid)) for row, pid in updates if row.line not in refused
    ]
    _add_notes(ctx, owners)
    return written


NOTE_LIMIT = 100_000  # the longest activity body; a longer note keeps its beginning


def _add_notes(ctx: Context, owners: list[tuple[CleanRow, str]]) -> None:
    """Each row's note on its person's timeline, once: keyed by the person and the text, a
    rerun of the file finds it there. A note longer than an activity holds keeps its first
    :data:`NOTE_LIMIT` characters rather than costing the row."""
    items = []
    for row, person_id in owners:
        if row.extras and "note" in row.extras:
            text = row.extras["note"][1]
            digest = hashlib.sha256(f"{person_id}\n{text}".encode()).hexdigest()
            note = ActivityIn(
                kind=ActivityKind.NOTE, subject="Imported note", body=text[:NOTE_LIMIT],
                person_id=uuid.UUID(person_id), source="import", external_id=f"note:{digest}",
            )  # fmt: skip
            items.append(note)
    if items:
        timeline.ingest_many(ctx, items)


def row_keys(row: CleanRow) -> list[tuple[str, str]]:
    """What identifies a row's person: ``(what, key)`` for its email, external id and id."""
    keys = [("email", row.email)] if row.email else []
    if external := row.values.get("external_id"):
        keys.append(("external id", str(external)))
    if row.person_id:
        keys.append(("id", str(row.person_id)))
    return keys


def superseded(later: int, what: str) -> Problem:
    """The note on an earlier row of a file whose person a later row describes again."""
    reason = f"replaced by line {later}, which has the same {what} (the later line wins)"
    return Problem("(record)", None, reason)


def latest_rows(rows: list[CleanRow], rejects: list[tuple[int, list[Problem]]]) -> list[CleanRow]:
    """The rows of a batch, each person once: when rows share an email, external id or id,
    the last one wins (it is the newer data) and each earlier one is reported as replaced by
    it, rather than the later one refused as a repeat."""
    later: dict[tuple[str, str], int] = {}  # keys of the rows kept, from the last row back
    by_email: dict[str, int] = {}  # the same for emails: the common case, without tuples
    kept: list[CleanRow] = []
    replaced: list[tuple[int, list[Problem]]] = []
    for row in reversed(rows):
        email = row.email
        if row.person_id is None and "external_id" not in row.values:
            if email is not None:
                if email in by_email:
                    replaced.append((row.line, [superseded(by_email[email], "email")]))
                    continue
                by_email[email] = row.line
            kept.append(row)
            continue
        keys = row_keys(row)
        found = next(((k[0], later[k]) for k in keys if k in later), None)
        if found is None and email is not None and email in by_email:
            found = ("email", by_email[email])
        if found is not None:
            replaced.append((row.line, [superseded(found[1], found[0])]))
            continue
        later.update(dict.fromkeys(keys, row.line))
        if email is not None:
            by_email[email] = row.line
        kept.append(row)
    kept.reverse()
    rejects.extend(reversed(replaced))
    return kept


@dataclass
class _Keys:
    """What the batch's lookups found: owners of emails, external ids and phones."""

    by_email: dict[str, uuid.UUID]
    phones: set[tuple[str, uuid.UUID]]


def _match(
    ctx: Context, batch: _Batch
) -> tuple[list[CleanRow], list[tuple[CleanRow, uuid.UUID]], _Keys]:
    """Split the clean rows into new people and updates of existing ones."""
    rows = batch.rows
    emails = [r.email for r in rows if r.email]
    externals = [r.values["external_id"] for r in rows if r.values.get("external_id")]
    ids = [r.person_id for r in rows if r.person_id]
    by_email = _lookup(ctx, PersonEmail.email, PersonEmail.person_id, emails)
    by_external = _lookup(ctx, Person.external_id, Person.id, externals)
    known_ids = set(_lookup(ctx, Person.id, Person.id, ids))
    binned = in_bin(ctx, Person, [i for i in ids if i not in known_ids])
    creates: list[CleanRow] = []
    updates: list[tuple[CleanRow, uuid.UUID]] = []
    seen: dict[str, int] = {}
    for row in rows:
        if row.person_id and row.person_id not in known_ids and row.person_id not in binned:
            # An id from another workspace or installation (an export imported elsewhere): the
            # row is matched by its email or external id, or becomes a new person.
            row.person_id = None
        email = row.email
        if email and row.person_id is None and not row.values.get("external_id"):
            # The common case, matched by email alone: the general steps below, inlined.
            if email in seen:
                problem = Problem("(record)", None, f"repeats line {seen[email]}")
                batch.rejects.append((row.line, [problem]))
            else:
                seen[email] = row.line
                if email in by_email:
                    updates.append((row, by_email[email]))
                else:
                    creates.append(row)
            continue
        keys = [k for k in (row.email, row.values.get("external_id"), row.person_id) if k]
        repeated = next((seen[str(k)] for k in keys if str(k) in seen), None)
        if repeated is not None:
            batch.rejects.append(
                (row.line, [Problem("(record)", None, f"repeats line {repeated}")])
            )
            continue
        seen.update(dict.fromkeys((str(k) for k in keys), row.line))
        if row.person_id in binned:
            reason = "this person is in the bin; restore them before importing changes"
            batch.rejects.append((row.line, [Problem("id", str(row.person_id), reason)]))
            continue
        owners = {row.person_id} if row.person_id else set()
        owners |= {by_email[row.email]} if row.email in by_email else set()
        ext = row.values.get("external_id")
        owners |= {by_external[ext]} if ext in by_external else set()
        if len(owners) > 1:
            reason = "id, external id and email point at different people; merge them first"
            batch.rejects.append((row.line, [Problem("(record)", None, reason)]))
        elif owners:
            updates.append((row, owners.pop()))
        else:
            creates.append(row)
    numbers = [r.phone for r, _ in updates if r.phone]
    phones = {(n, p) for n, p in _pairs(ctx, PersonPhone.number, PersonPhone.person_id, numbers)}
    return creates, updates, _Keys(by_email, phones)


def in_bin(ctx: Context, model: Any, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` are records of the workspace in the bin (an id not found at all may
    come from another workspace: the import then treats the row as having none)."""
    if not ids:
        return set()
    query = select(model.id).where(model.id.in_(ids), model.deleted_at.is_not(None))
    return set(ctx.session.scalars(query.execution_options(include_deleted=True)))


def _lookup(ctx: Context, key: Any, value: Any, wanted: list[Any]) -> dict[Any, uuid.UUID]:
    return dict(_pairs(ctx, key, value, wanted))


def _pairs(ctx: Context, key: Any, value: Any, wanted: list[Any]) -> list[tuple[Any, Any]]:
    """``(key, value)`` of the workspace's rows whose ``key`` is one of ``wanted``."""
    return [(row[0], row[1]) for row in _rows_where(ctx, key, [key, value], wanted)]


def _rows_where(
    ctx: Context, key: Any, wanted_columns: list[Any], wanted: list[Any]
) -> list[tuple[Any, ...]]:
    """``wanted_columns`` of the workspace's rows whose ``key`` is one of ``wanted`` (people in
    the bin left out, as the session's criteria would), ids as UUIDs and JSON decoded on both
    databases: plain driver queries, since building SQLAlchemy IN lists and result rows costs
    more per key than the lookup itself."""
    unique = list(dict.fromkeys(wanted))
    if not unique:
        return []
    key_column = key.property.columns[0]
    selected = [c.property.columns[0] for c in wanted_columns]
    table = key_column.table
    connection = ctx.session.connection()
    postgres = connection.dialect.name == "postgresql"
    # By primary key, SQLite must not be tempted by a (workspace, …) index: its sampled
    # statistics can rate "this workspace" as a few rows, and it then reads every row of a
    # large workspace per lookup. A unary + keeps the workspace test off the index.
    workspace = "+workspace_id" if key_column.primary_key and not postgres else "workspace_id"
    names = ", ".join(f'"{c.name}"' for c in selected)
    sql = (
        f'SELECT {names} FROM "{table.name}" WHERE {workspace} = {"%s" if postgres else "?"}'
        + (" AND deleted_at IS NULL" if "deleted_at" in table.c else "")
        + f' AND "{key_column.name}" IN '
    )
    ws: Any = ctx.workspace_id if postgres else ctx.workspace_id.hex
    if isinstance(key_column.type, Uuid) and not postgres:
        unique = [k.hex for k in unique]
    found: list[tuple[Any, ...]] = []
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(unique), LOOKUP):
            chunk = unique[start : start + LOOKUP]
            marks = ", ".join(["%s" if postgres else "?"] * len(chunk))
            cursor.execute(f"{sql}({marks})", [ws, *chunk])
            found += cursor.fetchall()
    finally:
        cursor.close()
    if postgres:
        return found
    decoders = [(i, d) for i, c in enumerate(selected) if (d := _sqlite_decoder(c))]
    if not decoders:
        return found
    decoded: list[tuple[Any, ...]] = []
    for row in found:
        values = list(row)
        for i, decode in decoders:
            if values[i] is not None:
                values[i] = decode(values[i])
        decoded.append(tuple(values))
    return decoded


def _sqlite_decoder(column: Any) -> Any:
    """How a column's SQLite value becomes the Python value (ids: 32 hex digits; JSON: text)."""
    if isinstance(column.type, Uuid):
        return uuid.UUID
    if isinstance(column.type, JSON):
        return json.loads
    return None


def _companies(ctx: Context, names: list[str | None]) -> dict[str, uuid.UUID]:
    """Company ids by lower-cased name; names not yet known become new companies."""
    wanted = {n.lower(): n for n in names if n}
    if not wanted:
        return {}
    rows = ctx.session.execute(
        select(func.lower(Company.name), Company.id).where(
            func.lower(Company.name).in_(list(wanted))
        )
    ).all()
    found: dict[str, uuid.UUID] = dict(rows)
    for key, name in wanted.items():
        if key not in found:
            found[key] = companies.create(ctx, CompanyIn(name=name)).id
    return found


def _existing(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The compared columns of many (live) people, by primary key, without ORM objects."""
    names = ("id", "company_id", "addresses", *_COMPARED)
    columns = [getattr(Person, k) for k in names]
    return {
        row[0]: dict(zip(names, row, strict=True))
        for row in _rows_where(ctx, Person.id, columns, ids)
    }


def _contacts(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    """The emails and phones of a few people, in order (only for people gaining one)."""
    out: dict[uuid.UUID, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    for start in range(0, len(ids), LOOKUP):
        chunk = ids[start : start + LOOKUP]
        # Without statistics SQLite prefers the (workspace, email) index here: name the right one.
        emails = (
            select(PersonEmail.person_id, PersonEmail.email)
            .with_hint(PersonEmail, "INDEXED BY ix_person_emails_person", "sqlite")
            .where(PersonEmail.person_id.in_(chunk))
            .order_by(PersonEmail.person_id, PersonEmail.position)
        )
        for pid, email in ctx.session.execute(emails):
            out[pid][0].append(email)
        phones = (
            select(PersonPhone.person_id, PersonPhone.number)
            .with_hint(PersonPhone, "INDEXED BY ix_person_phones_person", "sqlite")
            .where(PersonPhone.person_id.in_(chunk))
            .order_by(PersonPhone.person_id, PersonPhone.position)
        )
        for pid, number in ctx.session.execute(phones):
            out[pid][1].append(number)
    return out


def _patch(row: CleanRow, old: dict[str, Any], company_id: uuid.UUID | None) -> dict[str, Any]:
    """The person fields this row sets that differ; empty cells change nothing."""
    patch = {k: v for k, v in row.values.items() if k in _COMPARED and v and old[k] != v}
    if "addresses" in row.values and row.values["addresses"][0] not in old["addresses"]:
        patch["addresses"] = row.values["addresses"] + list(old["addresses"])
    if company_id is not None and old["company_id"] != company_id:
        patch["company_id"] = company_id
    return patch


def _apply_updates(
    ctx: Context,
    written: Written,
    updates: list[tuple[CleanRow, uuid.UUID]],
    company_ids: dict[str, uuid.UUID],
    keys: _Keys,
) -> None:
    """Update matched people that really change through the hub's service (validated,
    audited per field); the others only count as unchanged."""
    state = _existing(ctx, [pid for _, pid in updates])
    extras = people_custom.existing(ctx, updates)
    pending: list[tuple[CleanRow, uuid.UUID, dict[str, Any], bool, bool]] = []
    for row, person_id in updates:
        old = state.get(person_id)
        if old is None:  # in the bin: an import does not bring people back silently
            written.rejects.append((row.line, [Problem("(record)", None, "person is in the bin")]))
            continue
        company_id = company_ids[row.company.lower()] if row.company else None
        patch = _patch(row, old, company_id) | people_custom.patch(row, extras.get(person_id))
        new_email = bool(row.email) and keys.by_email.get(row.email or "") != person_id
        new_phone = bool(row.phone) and (row.phone, person_id) not in keys.phones
        if patch or new_email or new_phone:
            pending.append((row, person_id, patch, new_email, new_phone))
        else:
            written.unchanged += 1
    lists = _contacts(ctx, [pid for _, pid, _, e, p in pending if e or p])
    for row, person_id, patch, new_email, new_phone in pending:
        if new_email:
            patch["emails"] = [{"email": e} for e in [*lists[person_id][0], row.email]]
        if new_phone:
            patch["phones"] = [{"number": n} for n in [*lists[person_id][1], row.phone]]
        try:
            with ctx.session.begin_nested():
                people.update(ctx, person_id, PersonPatch.model_validate(patch))
        except RapportError as exc:
            reason = "; ".join(e.message for e in exc.errors) or exc.detail
            written.rejects.append((row.line, [Problem("(record)", None, reason)]))
            continue
        written.updated.append(person_id)


def resolve_mapping(
    columns: list[str],
    fmt: str,
    saved: dict[str, str],
    explicit: dict[str, str],
    custom: dict[str, str] | None = None,
) -> dict[str, str]:
    """The file's ``{column: field}``: automatic by header name, then a saved mapping's
    columns that the file has, then explicit overrides (``custom``: ``{key: label}`` of the
    person custom fields). Refused if nothing names a person. A vCard's or JSON object's
    columns are Rapport's own fields; overrides apply to them too (``mail=email`` takes a
    JSON key ``mail`` as the email, ``job_title=ignore`` drops one)."""
    if fmt != "csv":
        return keyed_mapping(columns, fmt, overrides(columns, saved, explicit), custom or {})
    mapping = sources.auto_mapping(columns, overrides(columns, saved, explicit), custom)
    if not set(mapping.values()) & {"email", "first_name", "last_name", "full_name"}:
        raise BadRequest("no column maps to a name or an email; map one (column=field)")
    return mapping


def keyed_mapping(
    names: list[str], fmt: str, chosen: dict[str, str], custom: dict[str, str]
) -> dict[str, str]:
    """The mapping of a file whose records name their fields (vCard, JSON lines): each field
    as itself, then the member's ``column=field`` choices. A JSON object may have any key;
    a vCard's columns are only Rapport's fields, so another name there is refused."""
    mapping = {f: f for f in names} | {
        f"{columns.CUSTOM}{k}": f"{columns.CUSTOM}{k}" for k in custom
    }
    for column, field in chosen.items():
        if fmt == "vcf" and column not in mapping:
            known = ", ".join(mapping)
            raise invalid(("map", column), f"a vCard has no column {column!r}; one of {known}")
        if field in ("", "ignore"):
            mapping.pop(column, None)
            continue
        if not columns.is_target(field, sources.FIELDS, custom):
            raise invalid(
                ("map", column), f"unknown field {field!r}; one of {', '.join(sources.FIELDS)}"
            )
        for other in [c for c, f in mapping.items() if f == field and c != column]:
            del mapping[other]
        mapping[column] = field
    return mapping


class PeopleTarget:
    """People from CSV, vCard or JSON lines, matched by Rapport id, external id or email."""

    object = "person"
    label = "People"
    permission = "people:write"
    formats: tuple[str, ...] = sources.FORMATS
    batch = BATCH

    def fields(self, ctx: Context) -> list[tuple[str, str]]:
        own = labelled(sources.FIELDS)
        custom = people_custom.labels(ctx)
        return own + [(f"custom.{k}", f"custom: {label}") for k, label in custom.items()]

    def resolve_mapping(
        self,
        ctx: Context,
        columns: list[str],
        fmt: str,
        saved: dict[str, str],
        explicit: dict[str, str],
    ) -> dict[str, str]:
        return resolve_mapping(columns, fmt, saved, explicit, people_custom.labels(ctx))

    def open(self, stream: IO[bytes], fmt: str) -> Opened | None:
        """The pipeline's reader (it speaks people's vCards), with JSON values as they are:
        :func:`clean_one` checks their types."""
        source = sources.open_source(stream, fmt, typed=True)
        return Opened(source.columns, source.records)

    clean = staticmethod(clean_batch)  # module-level: a worker process can unpickle it

    def write(self, ctx: Context, mapping: dict[str, str], cleaned: list[Outcome]) -> Written:
        return write(ctx, mapping, cleaned)

    def finish(self, ctx: Context, job: ImportJob) -> None:
        """The new people go to the duplicates queue."""
        dedupe.scan_after_import(ctx, dedupe.created_since(ctx, job.created_at))


PEOPLE = PeopleTarget()
