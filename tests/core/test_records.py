"""The shared record plumbing on the test database: the registered record types, one list
(keyset pages, sort, filter, search, the bin) and one bin with restore, for any of them."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from rapport.core import registry
from rapport.core.context import Context
from rapport.core.errors import Conflict, Forbidden, Invalid, NotFound, StaleWrite
from rapport.core.events import AuditEntry
from rapport.core.filtering import parse_filter
from rapport.core.listing import ListParams, list_records
from rapport.core.records import (
    RecordType,
    move_to_bin,
    record_type,
    record_types,
    restore_from_bin,
)
from rapport.core.search import SearchDocument
from rapport.sales.models import Deal, Task
from rapport.sales.schemas import DealIn, TaskIn
from rapport.sales.service import deals, pipelines, tasks


def _deals(ctx: Context, *amounts: int, title: str = "Deal") -> list[Deal]:
    pipelines.ensure_default(ctx)
    return [
        deals.create(ctx, DealIn(title=f"{title} {a}", amount=Decimal(a), currency="EUR"))
        for a in amounts
    ]


def _all_pages(ctx: Context, kind: RecordType[Any], params: ListParams) -> list[list[Any]]:
    pages = []
    while True:
        page = list_records(ctx, kind, params)
        pages.append(page.items)
        if not page.has_more:
            return pages
        params = dataclasses.replace(params, cursor=page.next_cursor)


def _documents(ctx: Context, record_id: uuid.UUID) -> list[str]:
    query = select(SearchDocument.title).where(SearchDocument.record_id == record_id)
    return list(ctx.session.scalars(query))


def _actions(ctx: Context, record_id: uuid.UUID) -> list[str]:
    query = select(AuditEntry.action).where(AuditEntry.record_id == record_id)
    return list(ctx.session.scalars(query.order_by(AuditEntry.occurred_at, AuditEntry.id)))


class TestRegistry:
    def test_people_companies_deals_and_tasks_are_registered(self) -> None:
        assert {t.name for t in record_types()} >= {"person", "company", "deal", "task"}
        assert record_type("deal").plural == "deals"

    def test_an_unknown_name_says_which_are_known(self) -> None:
        with pytest.raises(LookupError, match=r"'invoice'.*person, company"):
            record_type("invoice")

    def test_every_type_names_permissions_some_domain_declares(self) -> None:
        declared = registry.permissions()
        for kind in record_types():
            assert {kind.read, kind.write, kind.delete} <= declared, kind.name
            assert kind.default_sort.lstrip("-") in kind.sorts, kind.name
            for field in kind.page_filters.values():
                kind.fields.resolve(field.split("[")[0], {})  # a page filter is a real field


class TestList:
    def test_keyset_pages_in_the_requested_order(self, ada_ctx: Context) -> None:
        _deals(ada_ctx, 30, 10, 50, 20, 40)
        pages = _all_pages(ada_ctx, record_type("deal"), ListParams(limit=2, sort="-amount"))
        assert [[d.amount for d in page] for page in pages] == [[50, 40], [30, 20], [10]]

    def test_a_filter_keeps_what_it_names(self, ada_ctx: Context) -> None:
        _deals(ada_ctx, 10, 20, 30)
        node = parse_filter({"field": "amount", "op": "gte", "value": 20})
        page = list_records(ada_ctx, record_type("deal"), ListParams(filter=node, sort="amount"))
        assert [d.amount for d in page.items] == [20, 30]

    def test_an_unknown_sort_or_field_is_invalid(self, ada_ctx: Context) -> None:
        with pytest.raises(Invalid, match="cannot sort by 'colour'"):
            list_records(ada_ctx, record_type("deal"), ListParams(sort="colour"))
        with pytest.raises(Invalid, match="unknown field 'colour'"):
            node = parse_filter({"field": "colour", "op": "eq", "value": "red"})
            list_records(ada_ctx, record_type("deal"), ListParams(filter=node))

    def test_extra_conditions_of_the_caller_apply(self, ada_ctx: Context) -> None:
        made = _deals(ada_ctx, 10, 20)
        page = list_records(ada_ctx, record_type("deal"), ListParams(), where=[Deal.amount > 15])
        assert [d.id for d in page.items] == [made[1].id]

    def test_search_finds_a_searchable_type_and_refuses_another(self, ada_ctx: Context) -> None:
        (deal,) = _deals(ada_ctx, 10, title="Zanzibar")
        found = list_records(ada_ctx, record_type("deal"), ListParams(q="zanzibar"))
        assert [d.id for d in found.items] == [deal.id]
        with pytest.raises(Invalid, match="tasks cannot be searched"):
            list_records(ada_ctx, record_type("task"), ListParams(q="call"))

    def test_the_bin_is_its_own_list_and_restore_brings_a_record_back(
        self, ada_ctx: Context
    ) -> None:
        kind = record_type("deal")
        kept, binned = _deals(ada_ctx, 10, 20, title="Orinoco")
        move_to_bin(ada_ctx, kind, binned.id)
        assert [d.id for d in list_records(ada_ctx, kind, ListParams()).items] == [kept.id]
        in_bin = list_records(ada_ctx, kind, ListParams(deleted=True)).items
        assert [d.id for d in in_bin] == [binned.id]
        assert _documents(ada_ctx, binned.id) == []  # search forgets it
        restore_from_bin(ada_ctx, kind, binned.id)
        assert list_records(ada_ctx, kind, ListParams(deleted=True)).items == []
        assert _documents(ada_ctx, binned.id) == ["Orinoco 20"]  # and finds it again
        found = list_records(ada_ctx, kind, ListParams(q="orinoco", limit=10)).items
        assert {d.id for d in found} == {kept.id, binned.id}
        assert _actions(ada_ctx, binned.id)[-2:] == ["deal.deleted", "deal.restored"]

    def test_reading_is_a_permission_and_a_workspace(
        self, ada_ctx: Context, cleo_ctx: Context, dev_ctx: Context
    ) -> None:
        (deal,) = _deals(ada_ctx, 10)
        kind = record_type("deal")
        assert [d.id for d in list_records(cleo_ctx, kind, ListParams()).items] == [deal.id]
        assert list_records(dev_ctx, kind, ListParams()).items == []
        with pytest.raises(Forbidden):
            move_to_bin(cleo_ctx, kind, deal.id)  # read-only
        with pytest.raises(NotFound):
            move_to_bin(dev_ctx, kind, deal.id)  # another workspace's deal is missing


class TestBin:
    """The one soft delete and restore, with a record type whose hooks note what they see."""

    @pytest.fixture
    def seen(self) -> list[tuple[str, Any]]:
        return []

    @pytest.fixture
    def kind(self, seen: list[tuple[str, Any]]) -> RecordType[Task]:
        def note(event: str) -> Any:
            return lambda _ctx, task: seen.append((event, task.deleted_at is not None))

        def refuse_if_flagged(_ctx: Context, task: Task) -> None:
            if task.title == "guarded":
                raise Forbidden("not yours")
            seen.append(("guard", task.deleted_at is not None))

        def refuse_if_taken(_ctx: Context, task: Task) -> None:
            if task.notes == "taken":
                raise Conflict("taken meanwhile")

        return dataclasses.replace(
            record_type("task"),
            guard=refuse_if_flagged,
            on_delete=note("on_delete"),
            before_restore=refuse_if_taken,
            reindex=note("reindex"),
        )

    def _task(self, ctx: Context, title: str = "Call back", notes: str | None = None) -> Task:
        return tasks.create(ctx, TaskIn(title=title, notes=notes))

    def test_bin_then_restore_runs_the_hooks_in_order_and_records_both(
        self, ada_ctx: Context, kind: RecordType[Task], seen: list[tuple[str, Any]]
    ) -> None:
        task = self._task(ada_ctx)
        binned = move_to_bin(ada_ctx, kind, task.id, expected_version=task.version)
        assert binned.deleted_at is not None
        back = restore_from_bin(ada_ctx, kind, task.id)
        assert back.deleted_at is None
        assert seen == [("guard", False), ("on_delete", True), ("guard", True), ("reindex", False)]
        assert _actions(ada_ctx, task.id) == ["task.created", "task.deleted", "task.restored"]

    def test_a_record_in_the_bin_cannot_be_binned_again(
        self, ada_ctx: Context, kind: RecordType[Task]
    ) -> None:
        task = self._task(ada_ctx)
        move_to_bin(ada_ctx, kind, task.id)
        with pytest.raises(NotFound, match="No task with this id"):
            move_to_bin(ada_ctx, kind, task.id)

    def test_the_guard_speaks_before_the_bin_does(
        self, ada_ctx: Context, kind: RecordType[Task]
    ) -> None:
        task = self._task(ada_ctx, title="guarded")
        with pytest.raises(Forbidden):
            move_to_bin(ada_ctx, kind, task.id)

    def test_a_stale_version_is_refused(self, ada_ctx: Context, kind: RecordType[Task]) -> None:
        task = self._task(ada_ctx)
        with pytest.raises(StaleWrite):
            move_to_bin(ada_ctx, kind, task.id, expected_version=task.version + 1)
        assert task.deleted_at is None

    def test_restoring_a_live_record_answers_it_unchanged(
        self, ada_ctx: Context, kind: RecordType[Task], seen: list[tuple[str, Any]]
    ) -> None:
        task = self._task(ada_ctx)
        assert restore_from_bin(ada_ctx, kind, task.id) is task
        assert _actions(ada_ctx, task.id) == ["task.created"]
        assert ("reindex", False) not in seen

    def test_before_restore_may_refuse(self, ada_ctx: Context, kind: RecordType[Task]) -> None:
        task = self._task(ada_ctx, notes="taken")
        move_to_bin(ada_ctx, kind, task.id)
        with pytest.raises(Conflict):
            restore_from_bin(ada_ctx, kind, task.id)
        assert task.deleted_at is not None

    def test_a_missing_id_is_not_found(self, ada_ctx: Context, kind: RecordType[Task]) -> None:
        with pytest.raises(NotFound):
            restore_from_bin(ada_ctx, kind, uuid.uuid4())
