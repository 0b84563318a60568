"""The hub's bulk create of people stores exactly what ``people.create`` stores: the same
columns and normalised values, the same email and phone rows, the same search document and
terms. As designed, it audits nothing per person: its caller (an import) records one summary
entry and ``import.batch`` event per batch, while ``people.create`` records ``person.created``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from rapport.core.context import Context
from rapport.core.events import AuditEntry, OutboxEvent
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people, people_bulk
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
    bulk = people.get(ada_ctx, uuid.UUID(text_id))
    ours, theirs = _person_state(ada_ctx, bulk.id), _person_state(ada_ctx, made.id)
    differ = {"email", "phone", "emails", "phones"}
    assert {k: v for k, v in ours.items() if k not in differ} == {
        k: v for k, v in theirs.items() if k not in differ
    }
    assert ours["emails"] == [("zoe.bulk@example.com", True, 0, None)]
    assert theirs["emails"] == [("zoe.made@example.com", True, 0, None)]
    assert [p[1:] for p in ours["phones"]] == [p[1:] for p in theirs["phones"]]
    doc, twin = _document(ada_ctx, bulk.id), _document(ada_ctx, made.id)
    assert doc[0] == twin[0] and doc[3] == twin[3]
    assert doc[2].replace("zoe.bulk", "@").replace("4722123456", "#") == twin[2].replace(
        "zoe.made", "@"
    ).replace("4722123457", "#")
