"""The companies target of the import pipeline: companies from CSV (any delimiter and
encoding), JSON lines or vCard.

Each record is validated like the hub's company service would (name, domain, phone in E.164,
country as ISO code, size, owner by email, tags, custom fields against their definitions); a
record that fails becomes rejects naming its line, column and reason, the others go in.

A record is matched to an existing company by Rapport id, then external id (kept in
``company_external_ids``), then normalised domain, then — for a record with none of those
that does not name a different domain — by a unique case-insensitive name. A match is updated
only where the record differs (empty cells change nothing, tags are added), through the hub's
``companies.update`` (validated, audited, announced); a new company goes through
``companies.create``. So re-importing a file, or importing an export, changes nothing.

The pipeline (:mod:`importing`, :mod:`runner`) loads the file in batches of :data:`BATCH`
records, each committed with the job's progress, so an interrupted import resumes after its
last whole batch.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import IO, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import selectinload

from rapport.accounts.models import Membership, User
from rapport.core.context import Context
from rapport.core.db import table_of
from rapport.core.errors import BadRequest, RapportError
from rapport.core.events import record_many
from rapport.core.ids import new_id
from rapport.core.imports import Opened, Written, labelled, overrides
from rapport.hub.models import Company
from rapport.hub.public import companies, validation
from rapport.hub.schemas import CompanyIn, CompanyPatch
from rapport.hygiene.events import COMPANY_EXTERNAL_ID_ADDED
from rapport.hygiene.models import CompanyExternalId
from rapport.hygiene.service import columns, company_columns, company_vcards
from rapport.hygiene.service.cleaning import Problem, phone_region
from rapport.hygiene.service.import_people import in_bin
from rapport.hygiene.service.sources import (
    SNIFF_BYTES,
    detect_encoding,
    json_lines,
    open_source,
)

BATCH = 500
LOOKUP = 900  # keys per IN (...): under SQLite's old 999-parameter limit
FORMATS = ("csv", "jsonl", "vcf")
ADDRESS = ("street", "city", "region", "postal_code", "country")
LIMITS = {"name": 300, "website": 500, "industry": 100, "external_id": 200, "street": 300}
LIMITS |= {"city": 100, "region": 100, "postal_code": 20}
Value = Any  # a cell: text from CSV; text, number, bool, list or null from JSON lines
Record = tuple[int, dict[str, Value]]
log = logging.getLogger(__name__)


# --- reading --------------------------------------------------------------------------------


@dataclass
class CompanySource:
    columns: list[str]
    records: Iterator[Record]


def open_companies(stream: IO[bytes], fmt: str) -> CompanySource:
    """Open a companies file: CSV through the people importer's reader (delimiter and
    encoding sniffed), JSON lines here (values keep their JSON types; a ``custom`` object
    becomes ``custom.<key>`` columns), vCards as organisation cards (:mod:`company_vcards`)."""
    if fmt not in FORMATS:
        raise BadRequest(f"companies import from CSV, JSON lines or vCard, not {fmt!r}")
    if fmt == "csv":
        source = open_source(stream, "csv")
        return CompanySource(source.columns, source.records)
    if fmt == "vcf":
        return CompanySource(list(company_vcards.COLUMNS), company_vcards.read(stream))
    return CompanySource(list(company_columns.FIELDS), _jsonl(stream))


def _jsonl(stream: IO[bytes]) -> Iterator[Record]:
    encoding = detect_encoding(stream.read(SNIFF_BYTES))
    stream.seek(0)
    return json_lines(io.TextIOWrapper(stream, encoding=encoding), lambda value: value)


def custom_labels(ctx: Context) -> dict[str, str]:
    """``{key: label}`` of the workspace's company custom fields."""
    return columns.labels(ctx, "company")


def resolve_mapping(
    ctx: Context, columns: list[str], fmt: str, saved: dict[str, str], explicit: dict[str, str]
) -> dict[str, str]:
    """A companies file's ``{column: field}``: by header, then a saved mapping's columns the
    file has, then explicit overrides. JSON lines and vCards map by key. Refused without a
    name column or a key to match on."""
    labels = custom_labels(ctx)
    if fmt != "csv":
        mapping = {f: f for f in company_columns.FIELDS} | {
            f"custom.{k}": f"custom.{k}" for k in labels
        }
        if fmt == "vcf" and company_vcards.NOTE_FIELD in labels:
            mapping["note"] = f"custom.{company_vcards.NOTE_FIELD}"
        return mapping
    mapping = company_columns.auto_mapping(columns, overrides(columns, saved, explicit), labels)
    if not set(mapping.values()) & {"name", "id", "external_id", "domain"}:
        raise BadRequest("no column maps to a company name, id or domain; map one (column=field)")
    return mapping


# --- cleaning -------------------------------------------------------------------------------


@dataclass
class CleanCompany:
    """A record ready to upsert: company fields as the hub's schemas take them, and keys."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    company_id: uuid.UUID | None = None
    external_id: str | None = None
    source_of: dict[str, str] = field(default_factory=dict)  # field → the file's column


class Cleaner:
    """Validates records of one workspace (custom field definitions and owners looked up
    once)."""

    def __init__(self, ctx: Context, mapping: dict[str, str], *, region: str | None = None):
        self.ctx = ctx
        self.mapping = mapping
        self.region = region or phone_region(ctx)
        self._owners: dict[str, uuid.UUID | None] = {}

    def owner(self, email: str) -> uuid.UUID | None:
        if email not in self._owners:
            self._owners[email] = self.ctx.session.scalar(
                select(User.id)
                .join(Membership, Membership.user_id == User.id)
                .where(func.lower(User.email) == email.lower())
            )
        return self._owners[email]

    def clean(self, line: int, raw: dict[str, Value]) -> CleanCompany | list[Problem]:
        """One record normalised, or its problems (column, value, reason)."""
        if "__error__" in raw:
            return [Problem("(record)", None, str(raw["__error__"]))]
        data: dict[str, Value] = {}
        row = CleanCompany(line)
        for column, value in raw.items():
            target = self.mapping.get(column)
            if target is None or value is None:
                continue
            if isinstance(value, str):
                value = value.strip()
            if value in ("", []):
                continue
            data[target] = value
            row.source_of[target] = column
        problems: list[Problem] = []

        def bad(name: str, reason: str) -> None:
            shown = data.get(name)
            text = None if shown is None else str(shown)
            problems.append(Problem(row.source_of.get(name, name), text, reason))

        def text(name: str) -> str | None:
            value = data.get(name)
            if value is None:
                return None
            if isinstance(value, dict | list):
                bad(name, "expected text")
                return None
            out = " ".join(str(value).split())
            if len(out) > LIMITS.get(name, 10_000):
                bad(name, f"longer than {LIMITS[name]} characters")
                return None
            return out

        if "id" in data:
            try:
                row.company_id = uuid.UUID(str(data["id"]))
            except ValueError:
                bad("id", "not a Rapport id (a UUID)")
        row.external_id = text("external_id")
        for name in ("name", "industry", "website"):
            value = text(name)
            if value:
                row.values[name] = value
        if "domain" in data:
            try:
                row.values["domain"] = validation.normalise_domain(str(data["domain"]))
            except ValueError as exc:
                bad("domain", str(exc))
        if "size" in data:
            size = _whole(data["size"])
            if size is None or not 0 <= size <= 10_000_000:
                bad("size", "not a whole number of employees (0 to 10,000,000)")
            else:
                row.values["size"] = size
        address = {k: v for k in ADDRESS if (v := text(k))}
        country = None
        if address.get("country"):
            try:
                country = address["country"] = validation.normalise_country(address["country"])
            except ValueError as exc:
                bad("country", str(exc))
        if address:
            row.values["address"] = address
        if "phone" in data:
            try:
                row.values["phone"] = validation.normalise_phone(
                    str(data["phone"]), country or self.region
                )
            except ValueError as exc:
                bad("phone", str(exc))
        if "owner_email" in data:
            owner = self.owner(str(data["owner_email"]).strip())
            if owner is None:
                bad("owner_email", "no member of this workspace has this email")
            else:
                row.values["owner_id"] = owner
        if "tags" in data:
            try:
                row.values["tags"] = columns.clean_tags(data["tags"])
            except ValueError as exc:
                bad("tags", str(exc))
        cells = {t: v for t, v in data.items() if t.startswith(columns.CUSTOM)}
        if cells:
            custom, custom_problems = columns.custom_values(self.ctx, "company", cells)
            for target, reason in custom_problems:
                bad(target, reason)
            row.values["custom"] = custom
        has_key = row.company_id or row.external_id or row.values.get("domain")
        if not row.values.get("name") and not has_key and not problems:
            bad("name", "a company needs a name")
        return problems or row


def _whole(value: Value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).replace(",", "").replace("_", "").replace(" ", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() else None


# --- loading --------------------------------------------------------------------------------


@dataclass
class _Loaded:
    created: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)
    unchanged: int = 0
    rejects: list[tuple[int, list[Problem]]] = field(default_factory=list)


def write(ctx: Context, mapping: dict[str, str], records: list[Record]) -> Written:
    """Validate and upsert a batch of records in the caller's transaction."""
    ctx.require("hygiene:import")
    ctx.require("companies:write")
    cleaner = Cleaner(ctx, mapping)
    out = _Loaded()
    rows: list[CleanCompany] = []
    for line, raw in records:
        outcome = cleaner.clean(line, raw)
        if isinstance(outcome, CleanCompany):
            rows.append(outcome)
        else:
            out.rejects.append((line, outcome))
    matched, linked = _match(ctx, rows, out)
    wanted = [company_id for _, company_id in matched if company_id]
    existing: dict[uuid.UUID, Company] = {}
    for start in range(0, len(wanted), LOOKUP):
        found = ctx.session.scalars(
            select(Company)
            .where(Company.id.in_(wanted[start : start + LOOKUP]))
            .options(selectinload(Company.tags))
        )
        existing |= {c.id: c for c in found}
    links: list[tuple[uuid.UUID, str]] = []
    for row, company_id in matched:
        if company_id is not None and company_id not in existing:
            out.rejects.append((row.line, [Problem("(record)", None, "company is in the bin")]))
            continue
        company = existing[company_id] if company_id is not None else None
        _upsert(ctx, row, company, out, new_link=row.external_id not in linked, links=links)
    _save_links(ctx, links)
    return Written(out.created, out.updated, out.unchanged, out.rejects)


def _match(
    ctx: Context, rows: list[CleanCompany], out: _Loaded
) -> tuple[list[tuple[CleanCompany, uuid.UUID | None]], set[str]]:
    """Each row with the company it updates (None: a new one), and the external ids already
    linked to a company; conflicts become rejects."""
    ids = [r.company_id for r in rows if r.company_id]
    known = (
        set(ctx.session.scalars(select(Company.id).where(Company.id.in_(ids)))) if ids else set()
    )
    binned = in_bin(ctx, Company, [i for i in ids if i not in known])
    for row in rows:
        if row.company_id and row.company_id not in known and row.company_id not in binned:
            row.company_id = None  # another workspace's id: matched by its other keys, or new
    externals = [r.external_id for r in rows if r.external_id]
    by_external: dict[str, uuid.UUID] = {}
    if externals:
        found = ctx.session.execute(
            select(CompanyExternalId.external_id, CompanyExternalId.company_id).where(
                CompanyExternalId.external_id.in_(externals)
            )
        )
        by_external = {str(r[0]): r[1] for r in found}
    domains = [r.values["domain"] for r in rows if r.values.get("domain")]
    by_domain: dict[str, uuid.UUID] = {}
    if domains:
        found = ctx.session.execute(
            select(Company.domain, Company.id).where(Company.domain.in_(domains))
        )
        by_domain = {str(r[0]): r[1] for r in found}
    names = [r.values["name"].lower() for r in rows if r.values.get("name")]
    by_name: dict[str, list[tuple[uuid.UUID, str | None]]] = {}
    if names:
        by_lower = ctx.session.execute(
            select(func.lower(Company.name), Company.id, Company.domain).where(
                func.lower(Company.name).in_(names)
            )
        )
        for name, company_id, domain in by_lower:
            by_name.setdefault(name, []).append((company_id, domain))
    matched: list[tuple[CleanCompany, uuid.UUID | None]] = []
    seen: dict[str, int] = {}
    for row in rows:
        domain = row.values.get("domain")
        keys = [f"id:{row.company_id}" if row.company_id else None,
                f"ext:{row.external_id}" if row.external_id else None,
                f"domain:{domain}" if domain else None]  # fmt: skip
        named = [k for k in keys if k]
        if not named and row.values.get("name"):
            named = [f"name:{row.values['name'].lower()}"]
        repeated = next((seen[k] for k in named if k in seen), None)
        if repeated is not None:
            out.rejects.append((row.line, [Problem("(record)", None, f"repeats line {repeated}")]))
            continue
        seen |= dict.fromkeys(named, row.line)
        if row.company_id in binned:
            column = row.source_of.get("id", "id")
            reason = "this company is in the bin; restore it before importing changes"
            out.rejects.append((row.line, [Problem(column, str(row.company_id), reason)]))
            continue
        owners = {row.company_id} if row.company_id else set()
        if row.external_id in by_external:
            owners.add(by_external[row.external_id])
        if domain in by_domain:
            owners.add(by_domain[domain])
        if not owners and row.values.get("name"):
            fits = [
                c for c, d in by_name.get(row.values["name"].lower(), []) if d in (None, domain)
            ]
            if len(fits) == 1:
                owners.add(fits[0])
        if len(owners) > 1:
            reason = "id, external id and domain point at different companies; merge them first"
            out.rejects.append((row.line, [Problem("(record)", None, reason)]))
            continue
        matched.append((row, owners.pop() if owners else None))
    return matched, set(by_external)


def _problems(row: CleanCompany, exc: RapportError) -> list[Problem]:
    """A service error as problems naming the file's columns."""
    out: list[Problem] = []
    for error in exc.errors:
        loc = [str(p) for p in error.loc]
        if loc[:1] == ["custom"] and len(loc) > 1:
            name = f"custom.{loc[1]}"
        elif loc[:1] == ["address"] and len(loc) > 1:
            name = loc[1]
        elif loc[:1] == ["owner_id"]:
            name = "owner_email"
        else:
            name = loc[0] if loc else "(record)"
        out.append(Problem(row.source_of.get(name, name), None, error.message))
    return out or [Problem("(record)", None, exc.detail)]


def _upsert(
    ctx: Context,
    row: CleanCompany,
    company: Company | None,
    out: _Loaded,
    *,
    new_link: bool,
    links: list[tuple[uuid.UUID, str]],
) -> None:
    """Create the row's company, or update ``company`` where the row differs (each write in
    its own savepoint, so a refused row leaves nothing behind)."""
    try:
        if company is None:
            if not row.values.get("name"):
                column = row.source_of.get("name", "name")
                out.rejects.append(
                    (row.line, [Problem(column, None, "a new company needs a name")])
                )
                return
            with ctx.session.begin_nested():
                created = companies.create(ctx, CompanyIn.model_validate(row.values))
            out.created.append(created.id)
            if row.external_id:
                links.append((created.id, row.external_id))
            return
        patch = _patch(row, company)
        if patch:
            with ctx.session.begin_nested():
                companies.update(ctx, company.id, CompanyPatch.model_validate(patch))
    except RapportError as exc:
        out.rejects.append((row.line, _problems(row, exc)))
        return
    if row.external_id and new_link:
        links.append((company.id, row.external_id))
    if patch or (row.external_id and new_link):
        out.updated.append(company.id)
    else:
        out.unchanged += 1


def _patch(row: CleanCompany, company: Company) -> dict[str, Any]:
    """What the row changes: fields that differ, address parts, added tags, custom keys."""
    patch: dict[str, Any] = {}
    for name, new in row.values.items():
        if name in ("address", "tags", "custom"):
            continue
        if getattr(company, name) != new:
            patch[name] = new
    if "address" in row.values:
        old = dict(company.address or {})
        merged = old | row.values["address"]
        if merged != old:
            patch["address"] = merged
    if "tags" in row.values:
        have = {t.name.lower() for t in company.tags}
        added = [t for t in row.values["tags"] if t.lower() not in have]
        if added:
            patch["tags"] = [t.name for t in company.tags] + added
    if "custom" in row.values:
        changed = {k: v for k, v in row.values["custom"].items() if company.custom.get(k) != v}
        if changed:
            patch["custom"] = changed
    return patch


def _save_links(ctx: Context, links: list[tuple[uuid.UUID, str]]) -> None:
    """Remember the batch's new external ids (one multi-row INSERT), each audited."""
    if not links:
        return
    rows = [
        {"id": new_id(), "workspace_id": ctx.workspace_id, "company_id": company_id,
         "external_id": external}
        for company_id, external in links
    ]  # fmt: skip
    ctx.session.execute(insert(table_of(CompanyExternalId)), rows)
    record_many(
        ctx,
        COMPANY_EXTERNAL_ID_ADDED,
        [(company_id, {"external_id": (None, external)}, None) for company_id, external in links],
    )


def external_ids(ctx: Context, company_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """One external id per company (the first recorded), for exports."""
    out: dict[uuid.UUID, str] = {}
    if not company_ids:
        return out
    stmt = (
        select(CompanyExternalId.company_id, CompanyExternalId.external_id)
        .where(CompanyExternalId.company_id.in_(company_ids))
        .order_by(CompanyExternalId.id)
    )
    for company_id, external in ctx.session.execute(stmt):
        out.setdefault(company_id, external)
    return out


def preview_rows(
    ctx: Context, source: CompanySource, mapping: dict[str, str], limit: int = 5
) -> list[tuple[int, dict[str, Value], dict[str, str]]]:
    """The first records with their problems by column (the web's mapping preview)."""
    cleaner = Cleaner(ctx, mapping)
    out = []
    for line, raw in islice(source.records, limit):
        outcome = cleaner.clean(line, raw)
        problems = (
            {} if isinstance(outcome, CleanCompany) else {p.column: p.reason for p in outcome}
        )
        out.append((line, raw, problems))
    return out


class CompaniesTarget:
    """Companies, matched by Rapport id, external id, domain or a unique name."""

    object = "company"
    label = "Companies"
    permission = "companies:write"
    formats: tuple[str, ...] = FORMATS
    batch = BATCH

    def fields(self, ctx: Context) -> list[tuple[str, str]]:
        own = labelled(company_columns.FIELDS)
        labels = custom_labels(ctx)
        return own + [(f"custom.{k}", f"custom: {label}") for k, label in labels.items()]

    def resolve_mapping(
        self,
        ctx: Context,
        columns: list[str],
        fmt: str,
        saved: dict[str, str],
        explicit: dict[str, str],
    ) -> dict[str, str]:
        return resolve_mapping(ctx, columns, fmt, saved, explicit)

    def open(self, stream: IO[bytes], fmt: str) -> Opened:
        source = open_companies(stream, fmt)
        return Opened(source.columns, source.records)

    @staticmethod
    def clean(
        records: list[Record], mapping: dict[str, str], region: str, *, lenient: bool = False
    ) -> list[Record]:
        return records  # cleaning a company needs the workspace (owners, custom fields)

    def write(self, ctx: Context, mapping: dict[str, str], cleaned: list[Record]) -> Written:
        return write(ctx, mapping, cleaned)

    def finish(self, ctx: Context, job: Any) -> None:
        return None


COMPANIES = CompaniesTarget()
