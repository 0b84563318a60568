"""People through the service layer: audit, outbox, atomicity, concurrency, permissions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from rapport.accounts import service as accounts
from rapport.accounts.models import Workspace
from rapport.core.context import Context
from rapport.core.db import Database, WorkspaceViolation
from rapport.core.errors import Forbidden, NotFound, StaleWrite
from rapport.core.events import AuditEntry, OutboxEvent
from rapport.core.permissions import Role
from rapport.hub.models import Person
from rapport.hub.schemas import PersonIn, PersonPatch
from rapport.hub.service import people


class TestAuditAndOutbox:
    def test_update_records_old_and_new_values_and_an_event(self, ada_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="Ada", email="ada@x.org"))
        people.update(ada_ctx, person.id, PersonPatch(job_title="Countess", email="ada@y.org"))
        audit = ada_ctx.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_id == person.id)
            .order_by(AuditEntry.occurred_at)
        ).all()
        assert [a.action for a in audit] == ["person.created", "person.updated"]
        changes = audit[1].changes
        assert changes["job_title"] == {"old": None, "new": "Countess"}
        assert changes["emails"] == {"old": ["ada@x.org"], "new": ["ada@y.org"]}
        assert audit[1].actor_id == ada_ctx.user_id
        topics = ada_ctx.session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.record_id == person.id)
        ).all()
        assert sorted(topics) == ["person.created", "person.updated"]

    def test_an_update_that_changes_nothing_records_nothing(self, ada_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="Ada"))
        people.update(ada_ctx, person.id, PersonPatch(first_name="Ada"))
        count = len(
            ada_ctx.session.scalars(
                select(AuditEntry).where(AuditEntry.record_id == person.id)
            ).all()
        )
        assert count == 1
        assert person.version == 1


class TestPermissions:
    def test_read_only_cannot_create(self, cleo_ctx: Context) -> None:
        with pytest.raises(Forbidden):
            people.create(cleo_ctx, PersonIn(first_name="X"))

    def test_member_cannot_delete(self, ada_ctx: Context, ben_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="X"))
        ada_ctx.session.flush()
        with pytest.raises(Forbidden):
            people.delete(ben_ctx, person.id)

    def test_other_workspace_is_not_found(self, ada_ctx: Context, dev_ctx: Context) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="X"))
        ada_ctx.session.flush()
        with pytest.raises(NotFound):
            people.get(dev_ctx, person.id)
        with pytest.raises(NotFound):
            people.update(dev_ctx, person.id, PersonPatch(first_name="Y"))


class TestIsolationGuard:
    def test_a_session_without_workspace_cannot_query_people(self, database: Database) -> None:
        with database.session() as session, pytest.raises(WorkspaceViolation):
            session.scalars(select(Person)).all()

    def test_cannot_write_a_row_into_another_workspace(self, ada_ctx: Context, cast) -> None:  # type: ignore[no-untyped-def]
        ada_ctx.session.add(Person(workspace_id=cast.globex, first_name="Mole"))
        with pytest.raises(WorkspaceViolation):
            ada_ctx.session.flush()
        ada_ctx.session.rollback()


@pytest.fixture
def committed_workspace(database: Database) -> Iterator[Context]:
    """A throwaway workspace whose writes really commit (for concurrency tests)."""
    factory = sessionmaker(database.engine, expire_on_commit=False)
    with factory() as session:
        session.info["unscoped"] = True
        ws = accounts.create_workspace(session, f"Race {uuid.uuid4().hex[:6]}")
        session.commit()
        ws_id = ws.id
    yield Context(session=factory(), workspace_id=ws_id, role=Role.OWNER)
    with factory() as session:
        session.info["unscoped"] = True
        session.execute(delete(Workspace).where(Workspace.id == ws_id))
        session.commit()


class TestConcurrency:
    def test_two_writers_of_one_version_cannot_both_win(
        self, database: Database, committed_workspace: Context
    ) -> None:
        """Both read version 1; both write. Exactly one succeeds, the other is refused."""
        ws_id = committed_workspace.workspace_id
        factory = sessionmaker(database.engine, expire_on_commit=False)

        def ctx() -> Context:
            session = factory()
            session.info["workspace_id"] = ws_id
            return Context(session=session, workspace_id=ws_id, role=Role.OWNER)

        setup = ctx()
        person_id = people.create(setup, PersonIn(first_name="Shared")).id
        setup.session.commit()
        setup.session.close()

        first, second = ctx(), ctx()
        a = people.get(first, person_id)
        b = people.get(second, person_id)
        assert a.version == b.version == 1
        people.update(first, person_id, PersonPatch(job_title="first"), expected_version=1)
        first.session.commit()
        outcome = "written"
        try:
            b.job_title = "second"  # a write based on the stale read of version 1
            second.session.flush()
            second.session.commit()
        except (StaleDataError, OperationalError) as exc:
            # PostgreSQL: the versioned UPDATE matches no row. SQLite (WAL): the stale read
            # snapshot cannot be upgraded to a write. Either way the late write is refused.
            second.session.rollback()
            outcome = type(exc).__name__
        assert outcome != "written"
        check = ctx()
        assert people.get(check, person_id).job_title == "first"
        with pytest.raises(StaleWrite):
            people.update(check, person_id, PersonPatch(job_title="x"), expected_version=1)
        for c in (first, second, check):
            c.session.close()
