"""Companies: validated, audited and announced like people.

A domain is normalised (``https://www.Acme.com/x`` → ``acme.com``) and names one live company
per workspace; phones are stored in E.164 and address countries as ISO 3166 alpha-2. Renaming
a company re-indexes its people, whose search subtitle carries the company name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.context import Context
from rapport.core.db import flush_unique, get_scoped
from rapport.core.errors import Conflict, FieldError, Invalid, NotFound
from rapport.core.events import Changes, check_version, record
from rapport.core.records import move_to_bin, record_type, restore_from_bin
from rapport.core.search import Document, index_documents
from rapport.hub import validation
from rapport.hub.events import COMPANY_CREATED, COMPANY_UPDATED
from rapport.hub.models import Company, Person
from rapport.hub.schemas import Address, CompanyIn, CompanyPatch
from rapport.hub.service import fields, people
from rapport.hub.service.common import check_owner, set_tags, tags_by_name, without_unchanged

FULL = (selectinload(Company.tags),)
REINDEX_CHUNK = 500
_OPTIONAL_TEXT = ("industry", "website")


class DuplicateDomain(Conflict):
    code = "duplicate-domain"
    title = "Another company in this workspace has this domain"


@dataclass
class _Clean:
    """A company's input after normalisation, ready to assign."""

    values: dict[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None
    errors: list[FieldError] = field(default_factory=list)


def get(ctx: Context, company_id: uuid.UUID, *, include_deleted: bool = False) -> Company:
    """One company with its tags; NotFound outside the workspace (or in the bin)."""
    ctx.require("companies:read")
    company = get_scoped(
        ctx.session, Company, company_id, include_deleted=include_deleted, options=FULL
    )
    if company is None:
        raise NotFound("No company with this id")
    return company


def create(ctx: Context, data: CompanyIn) -> Company:
    """Create a company; 409 if a live company of the workspace already has its domain."""
    ctx.require("companies:write")
    clean = _normalise(ctx, data.model_dump(), creating=True)
    _raise_if_invalid(clean)
    _check_domain_free(ctx, clean.values.get("domain"), None)
    company = Company(workspace_id=ctx.workspace_id)
    changes = _assign(company, clean)
    ctx.session.add(company)
    flush_unique(ctx.session, lambda: DuplicateDomain("Another company has just taken this domain"))
    set_committed_value(company, "tags", [])
    _apply_tags(ctx, company, clean, changes)
    record(ctx, COMPANY_CREATED, company.id, changes)
    index_documents(ctx.session, ctx.workspace_id, [search_document(company)], fresh=True)
    return company


def update(
    ctx: Context,
    company_id: uuid.UUID,
    patch: CompanyPatch,
    *,
    expected_version: int | None = None,
) -> Company:
    """Change the fields sent; 412 if the company changed since ``expected_version``."""
    ctx.require("companies:write")
    company = get(ctx, company_id)
    check_version(company.version, expected_version)
    sent = without_unchanged(patch.model_dump(exclude_unset=True), company, "owner_id")
    clean = _normalise(ctx, sent, creating=False, existing_custom=company.custom)
    _raise_if_invalid(clean)
    if "domain" in clean.values:
        _check_domain_free(ctx, clean.values["domain"], company.id)
    changes = _assign(company, clean)
    _apply_tags(ctx, company, clean, changes)
    if not changes:
        return company
    if set(changes) == {"tags"}:
        company.updated_at = utcnow()  # a tag change is a change of the company: new version
    # The UPDATE carries WHERE version = :seen (no lost update).
    flush_unique(ctx.session, lambda: DuplicateDomain("Another company has just taken this domain"))
    record(ctx, COMPANY_UPDATED, company.id, changes)
    reindex(ctx, company)
    if "name" in changes:
        _reindex_people(ctx, company)
    return company


def delete(ctx: Context, company_id: uuid.UUID, *, expected_version: int | None = None) -> Company:
    """Move a company to the bin; its people stay linked and come back with it on restore."""
    return move_to_bin(ctx, record_type("company"), company_id, expected_version=expected_version)


def restore(ctx: Context, company_id: uuid.UUID) -> Company:
    """Bring a company back from the bin; 409 if a live company took its domain meanwhile."""
    return restore_from_bin(ctx, record_type("company"), company_id)


def check_restorable(ctx: Context, company: Company) -> None:
    """A company comes back from the bin only if no live company took its domain meanwhile."""
    _check_domain_free(ctx, company.domain, company.id)


def reindex(ctx: Context, company: Company) -> None:
    """Write the company's search document again."""
    index_documents(ctx.session, ctx.workspace_id, [search_document(company)])


def find_by_domain(ctx: Context, domain: str) -> Company | None:
    """The live company with this domain (or URL), if any; channel adapters match on it."""
    ctx.require("companies:read")
    try:
        domain = validation.normalise_domain(domain)
    except ValueError:
        return None
    return ctx.session.scalars(select(Company).where(Company.domain == domain)).first()


def search_document(company: Company) -> Document:
    """What search knows of a company: name, domain, industry, website."""
    subtitle = " · ".join(p for p in (company.domain, company.industry) if p) or None
    parts = [company.domain, company.industry, company.website]
    return Document("company", company.id, company.name, subtitle, parts)


# --- internals ------------------------------------------------------------------------------


def _raise_if_invalid(clean: _Clean) -> None:
    if clean.errors:
        summary = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in clean.errors[:5])
        raise Invalid(f"{len(clean.errors)} field(s) are invalid: {summary}", errors=clean.errors)


def _normalise(
    ctx: Context,
    sent: dict[str, Any],
    *,
    creating: bool,
    existing_custom: dict[str, Any] | None = None,
) -> _Clean:
    clean = _Clean()
    if "name" in sent:
        name = " ".join((sent["name"] or "").split())
        if not name:
            clean.errors.append(FieldError(("name",), "a company needs a name", "required"))
        clean.values["name"] = name
    for name in _OPTIONAL_TEXT:
        if name in sent:
            clean.values[name] = " ".join((sent[name] or "").split()) or None
    if "size" in sent:
        clean.values["size"] = sent["size"]
    if "domain" in sent:
        clean.values["domain"] = _optional(
            sent["domain"], validation.normalise_domain, ("domain",), "invalid-domain", clean
        )
    if "phone" in sent:
        region = str(ctx.extra.get("region") or get_settings().default_region)
        clean.values["phone"] = _optional(
            sent["phone"],
            lambda v: validation.normalise_phone(v, region),
            ("phone",),
            "invalid-phone",
            clean,
        )
    if "address" in sent:
        clean.values["address"] = _address(sent["address"], clean.errors)
    if "owner_id" in sent:
        clean.errors += check_owner(ctx, sent["owner_id"])
        clean.values["owner_id"] = sent["owner_id"]
    if "tags" in sent:
        clean.tags = list(sent["tags"] or [])
    if "custom" in sent or creating:
        merged, errors = fields.validate_values(
            ctx, "company", sent.get("custom") or {}, existing=existing_custom
        )
        clean.values["custom"] = merged
        clean.errors += errors
    return clean


def _optional(
    raw: str | None,
    normalise: Callable[[str], str],
    loc: tuple[str | int, ...],
    code: str,
    clean: _Clean,
) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalise(raw)
    except ValueError as exc:
        clean.errors.append(FieldError(loc, str(exc), code))
        return None


def _address(raw: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if raw is None:
        return None
    address = Address.model_validate(raw).model_dump(exclude_none=True)
    if address.get("country"):
        try:
            address["country"] = validation.normalise_country(address["country"])
        except ValueError as exc:
            errors.append(FieldError(("address", "country"), str(exc), "invalid-country"))
    return address or None


def _check_domain_free(ctx: Context, domain: str | None, company_id: uuid.UUID | None) -> None:
    # Checked, not constrained: a company in the bin keeps its domain, so a plain unique index
    # would refuse a new company where a deleted one used to be.
    if not domain:
        return
    query = select(Company.id, Company.name, Company.deleted_at).where(Company.domain == domain)
    if company_id is not None:
        query = query.where(Company.id != company_id)
    owner = ctx.session.execute(query.limit(1)).first()
    if owner is not None:  # named, not by its id: a reader knows the name
        name = owner.name + (" (in the bin)" if owner.deleted_at is not None else "")
        raise DuplicateDomain(
            f"{domain} already belongs to {name}",
            errors=[FieldError(("domain",), f"already used by {name}", "duplicate")],
        )


def _assign(company: Company, clean: _Clean) -> Changes:
    changes: Changes = {}
    for name, new in clean.values.items():
        old = getattr(company, name)
        if old != new:
            changes[name] = (old, new)
            setattr(company, name, new)
    return changes


def _apply_tags(ctx: Context, company: Company, clean: _Clean, changes: Changes) -> None:
    if clean.tags is None:
        return
    changed = set_tags(ctx, company, tags_by_name(ctx, clean.tags))
    if changed:
        changes["tags"] = changed


def _reindex_people(ctx: Context, company: Company) -> None:
    """Rewrite the search documents of the company's people (their subtitle names it)."""
    last: uuid.UUID | None = None
    while True:
        query = (
            select(Person)
            .where(Person.company_id == company.id)
            .options(selectinload(Person.emails), selectinload(Person.phones))
            .order_by(Person.id)
            .limit(REINDEX_CHUNK)
        )
        if last is not None:
            query = query.where(Person.id > last)
        batch = list(ctx.session.scalars(query))
        if not batch:
            return
        index_documents(
            ctx.session, ctx.workspace_id, [people.search_document(p, company.name) for p in batch]
        )
        last = batch[-1].id
