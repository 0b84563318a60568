"""The links registry: a table a new domain declares follows person and company merges and
comes back on undo, without hygiene (or any other domain) knowing the table exists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Connection, MetaData, String, Table, Uuid, insert, select

from rapport.core import links, registry
from rapport.core.context import Context
from rapport.core.db import Database
from rapport.core.links import Link, links_to

# A domain that does not exist yet: tickets about a person and a company, and a loyalty
# program's members (one row per program and person: a merge must not make two).
_metadata = MetaData()  # its own: no foreign keys, so the test needs no migration
tickets = Table(
    "test_tickets",
    _metadata,
    Column("id", Uuid, primary_key=True),
    Column("workspace_id", Uuid, nullable=False),
    Column("subject", String(100)),
    Column("person_id", Uuid),
    Column("company_id", Uuid),
)
members = Table(
    "test_loyalty_members",
    _metadata,
    Column("program", String(40), primary_key=True),
    Column("person_id", Uuid, primary_key=True),
    Column("workspace_id", Uuid, nullable=False),
    Column("tier", String(20)),
)
LINKS = (
    Link(tickets.c.person_id, "person", name="tickets"),
    Link(tickets.c.company_id, "company", name="tickets"),
    Link(members.c.person_id, "person", name="loyalty", unique_with=("program",)),
)


@pytest.fixture
def newcomer(connection: Connection) -> Iterator[None]:
    """The tickets domain, registered next to the real ones (its tables rolled back)."""
    _metadata.create_all(connection)
    before = registry.domains()
    registry.install([*before, registry.Domain(name="tickets", links=LINKS)])
    try:
        yield
    finally:
        registry.install(before)


def _create(api: TestClient, path: str, **body: Any) -> str:
    response = api.post(f"/api/v1/{path}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ticket(connection: Connection, acme: uuid.UUID, subject: str, **links: str) -> None:
    values = {k: uuid.UUID(v) for k, v in links.items()}
    connection.execute(
        insert(tickets).values(id=uuid.uuid4(), workspace_id=acme, subject=subject, **values)
    )


def _tickets(connection: Connection, column: str) -> dict[str, str]:
    rows = connection.execute(select(tickets.c.subject, tickets.c[column]))
    return {subject: str(target) for subject, target in rows}


def _members(connection: Connection) -> set[tuple[str, str, str]]:
    rows = connection.execute(select(members.c.program, members.c.person_id, members.c.tier))
    return {(program, str(person), tier) for program, person, tier in rows}


def test_a_new_domains_links_are_found_through_the_registry(newcomer: None) -> None:
    assert {"emails", "activities", "deals", "tickets", "loyalty"} <= {
        link.key for link in links_to("person")
    }
    assert {"people", "deals", "tickets"} <= {link.key for link in links_to("company")}


def test_a_person_merge_moves_a_new_domains_rows_and_undo_puts_them_back(
    api: TestClient, connection: Connection, database: Database, acme: uuid.UUID, newcomer: None
) -> None:
    a = _create(api, "people", first_name="Ann", last_name="Survivor")
    b = _create(api, "people", first_name="Ann", last_name="Twin")
    _ticket(connection, acme, "printer", person_id=a)
    _ticket(connection, acme, "refund", person_id=b)
    connection.execute(insert(members), [
        {"program": "gold", "person_id": uuid.UUID(a), "workspace_id": acme, "tier": "A"},
        {"program": "gold", "person_id": uuid.UUID(b), "workspace_id": acme, "tier": "B"},
        {"program": "miles", "person_id": uuid.UUID(b), "workspace_id": acme, "tier": "B"},
    ])  # fmt: skip
    before = _members(connection)

    with database.session(acme) as session:
        ctx = Context(session=session, workspace_id=acme)
        counted = links.pointing_at(ctx, "person", uuid.UUID(b))
    assert (counted["tickets"], counted["loyalty"], counted["deals"]) == (1, 2, 0)

    merged = api.post("/api/v1/merges", json={"survivor_id": a, "merged_id": b})
    assert merged.status_code == 201, merged.text
    assert _tickets(connection, "person_id") == {"printer": a, "refund": a}
    # B's gold membership would be a second one for A: dropped; its miles one moves.
    assert _members(connection) == {("gold", a, "A"), ("miles", a, "B")}

    undo = api.post(f"/api/v1/merges/{merged.json()['id']}/undo")
    assert undo.status_code == 200, undo.text
    assert _tickets(connection, "person_id") == {"printer": a, "refund": b}
    assert _members(connection) == before


def test_a_company_merge_moves_a_new_domains_rows_and_undo_puts_them_back(
    api: TestClient, connection: Connection, acme: uuid.UUID, newcomer: None
) -> None:
    a = _create(api, "companies", name="Initech")
    b = _create(api, "companies", name="Initech Ltd")
    _ticket(connection, acme, "invoice", company_id=a)
    _ticket(connection, acme, "outage", company_id=b)

    merged = api.post("/api/v1/company-merges", json={"survivor_id": a, "merged_id": b})
    assert merged.status_code == 201, merged.text
    assert _tickets(connection, "company_id") == {"invoice": a, "outage": a}

    undo = api.post(f"/api/v1/company-merges/{merged.json()['id']}/undo")
    assert undo.status_code == 200, undo.text
    assert _tickets(connection, "company_id") == {"invoice": a, "outage": b}


def test_without_the_domains_installed_nothing_can_merge() -> None:
    """A process that forgot ``rapport.domains.install()`` is refused, instead of merging
    while leaving the other domains' rows on the merged record."""
    before = registry.domains()
    registry.install(())
    try:
        with pytest.raises(RuntimeError, match="install"):
            links_to("person")
    finally:
        registry.install(before)
