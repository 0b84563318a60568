"""The hub's bulk create of people stores exactly what ``people.create`` stores, through both
of its inputs — an import's rows (``people_bulk.insert_prepared``) and the API's bulk upsert
(``bulk.bulk_upsert``, which writes its new people through ``people_bulk.create``): the same
columns and normalised values, the same email and phone rows, tags, search document and
terms. An import audits nothing per person (its caller records one ``import.batch`` per
batch); the bulk upsert audits and announces each person as ``people.create`` does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from rapport.core.context import Context
from rapport.core.db import table_of
from rapport.core.events import AuditEntry, OutboxEvent
from rapport.hub.models import (
    CustomFieldType,
    Person,
    PersonEmail,
    PersonPhone,
    Tag,
    person_tags,
)
from rapport.hub.schemas import CompanyIn, FieldDefinitionIn, PersonIn
from rapport.hub.service import bulk, companies, fields, people, people_bulk
from tests.conftest import Cast
from tests.hygiene.test_import_speed import _document, _person_state


@dataclass
class Row:
    values: dict[str, Any]
    email: str | None
    phone: str | None
    company: str | None = None
    prepared: tuple[Any, ...] | None = field(default=None)


def _events(ctx: Context) -> tuple[int, int]:
    audit = ctx.session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    outbox = ctx.session.scalar(select(func.count()).select_from(OutboxEvent)) or 0
    return audit, outbox


# Columns that differ between any two people by nature: their ids and the moments they were
# written (compared by presence: both set, or both empty).
_MOMENTS = ("created_at", "updated_at", "consent_updated_at", "deleted_at")


def _stored(ctx: Context, person_id: uuid.UUID) -> dict[str, Any]:
    """Everything stored for a person, as rows of every table it writes, ids left out."""
    people_table = table_of(Person)
    row = ctx.session.execute(select(people_table).where(people_table.c.id == person_id)).one()
    state = {k: v for k, v in row._mapping.items() if k not in ("id", *_MOMENTS)}
    state |= {f"{k}?": row._mapping[k] is not None for k in _MOMENTS}
    for name, table in (("emails", PersonEmail), ("phones", PersonPhone)):
        rows = ctx.session.execute(
            select(table_of(table))
            .where(table_of(table).c.person_id == person_id)
            .order_by(table_of(table).c.position)
        ).all()
        state[name] = [{k: v for k, v in r._mapping.items() if k not in ("id", "person_id")}
                       for r in rows]  # fmt: skip
    state["tags"] = sorted(
        ctx.session.scalars(
            select(Tag.name)
            .join(person_tags, person_tags.c.tag_id == Tag.id)
            .where(person_tags.c.person_id == person_id)
        )
    )
    state["search"] = _document(ctx, person_id)
    return state


def _swap(value: Any, ours: str, theirs: str) -> Any:
    """``value`` with one person's distinguishing text put in place of the other's."""
    if isinstance(value, str):
        return value.replace(ours, theirs)
    if isinstance(value, dict):
        return {k: _swap(v, ours, theirs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_swap(v, ours, theirs) for v in value)
    return value


def test_bulk_create_stores_what_people_create_stores(ada_ctx: Context) -> None:
    values = {
        "first_name": "Zoë", "last_name": "Ångström-Nils", "job_title": "Chief Tinkerer",
        "lifecycle_stage": "customer", "source": "fair", "external_id": "CRM-1",
        "addresses": [{"city": "Oslo", "country": "NO"}],
    }  # fmt: skip
    made = people.create(
        ada_ctx,
        PersonIn.model_validate(
            values
            | {
                "emails": [{"email": "zoe.made@example.com"}],
                "phones": [{"number": "+4722123457"}],
            }
        ),
    )
    before = _events(ada_ctx)
    row = Row(values, "zoe.bulk@example.com", "+4722123456")
    [text_id] = people_bulk.insert_prepared(ada_ctx, [row], {})
    assert _events(ada_ctx) == before  # the caller announces the batch, once
    bulk_made = people.get(ada_ctx, uuid.UUID(text_id))
    ours, theirs = _person_state(ada_ctx, bulk_made.id), _person_state(ada_ctx, made.id)
    differ = {"email", "phone", "emails", "phones"}
    assert {k: v for k, v in ours.items() if k not in differ} == {
        k: v for k, v in theirs.items() if k not in differ
    }
    assert ours["emails"] == [("zoe.bulk@example.com", True, 0, None)]
    assert theirs["emails"] == [("zoe.made@example.com", True, 0, None)]
    assert [p[1:] for p in ours["phones"]] == [p[1:] for p in theirs["phones"]]
    doc, twin = _document(ada_ctx, bulk_made.id), _document(ada_ctx, made.id)
    assert doc[0] == twin[0] and doc[3] == twin[3]
    assert doc[2].replace("zoe.bulk", "@").replace("4722123456", "#") == twin[2].replace(
        "zoe.made", "@"
    ).replace("4722123457", "#")
    # Every column of the two rows, the moments they were written aside.
    stored, reference = _stored(ada_ctx, bulk_made.id), _stored(ada_ctx, made.id)
    for key in ("email", "phone", "emails", "phones", "search"):
        stored.pop(key), reference.pop(key)
    assert stored == reference


def _everything(company_id: uuid.UUID, owner_id: uuid.UUID, tag: str) -> dict[str, Any]:
    """A person with every field the API takes, told apart from a twin only by ``tag`` in
    their emails (the one thing two people may not share)."""
    return {
        "first_name": "  zoë ", "last_name": "ångström-nils", "job_title": "Chief Tinkerer",
        "emails": [
            {"email": f"Zoe.Work.{tag}@Example.com", "label": "work"},
            {"email": f"zoe.home.{tag}@example.com", "label": "home", "primary": True},
        ],
        "phones": [{"number": "+47 22 12 34 56", "label": "mobile"},
                   {"number": "+47 22 99 88 77"}],
        "addresses": [{"label": "office", "street": "Storgata 1", "city": "Oslo",
                       "country": "Norway"}],
        "company_id": company_id, "owner_id": owner_id, "lifecycle_stage": "customer",
        "source": "fair", "tags": ["VIP", "beta  tester", "vip"],
        "preferences": {"email": "opted_in", "sms": "opted_out"},
        "consent_status": "granted", "custom": {"tier": "gold", "seats": 12},
        "external_id": "CRM-1",
    }  # fmt: skip


def test_the_bulk_upsert_stores_what_people_create_stores(ada_ctx: Context, cast: Cast) -> None:
    for key, kind in (("tier", CustomFieldType.TEXT), ("seats", CustomFieldType.NUMBER)):
        fields.create_definition(
            ada_ctx, FieldDefinitionIn(object_type="person", key=key, label=key, field_type=kind)
        )
    company_id = companies.create(ada_ctx, CompanyIn(name="Fjordvik Labs")).id
    twin = _everything(company_id, cast.ben.user_id, "made")
    made = people.create(ada_ctx, PersonIn.model_validate(twin))
    before = _events(ada_ctx)
    outcome = bulk.bulk_upsert(ada_ctx, [_everything(company_id, cast.ben.user_id, "bulk")])
    [result] = outcome.results
    assert (result.status, result.errors) == ("created", [])
    assert result.id is not None
    assert _events(ada_ctx) == (before[0] + 1, before[1] + 1)  # person.created, like create

    stored, reference = _stored(ada_ctx, result.id), _stored(ada_ctx, made.id)
    assert [e["email"] for e in stored["emails"]] == [
        "zoe.home.bulk@example.com",  # the primary comes first
        "zoe.work.bulk@example.com",
    ]
    assert stored["tags"] == ["VIP", "beta tester"]
    assert stored["custom"] == {"tier": "gold", "seats": 12}
    assert _swap(stored, "bulk@", "made@") == reference
