"""Bulk actions from the deal and task lists: change the owner, move to a stage, mark won or
lost, or bin a selection of deals; tick done, reopen, reassign, re-date or bin tasks.

Each record changes through the service that changes one (``deals.update``,
``deals.move_to_stage``, ``tasks.update`` …), so a bulk change keeps the same rules and writes
the same audit row and event per record as a single one; the bin goes through the one soft
delete (``core.records.move_many_to_bin``). All of it runs in one savepoint: a record that
is refused (a closed deal, a colleague's task) refuses the whole selection, and the message
names it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select

from rapport.core import listing
from rapport.core.context import Context
from rapport.core.errors import Invalid, NotFound, RapportError, invalid
from rapport.core.records import move_many_to_bin, record_type
from rapport.sales.models import Deal, Stage, Task
from rapport.sales.schemas import DealPatch, TaskPatch
from rapport.sales.service import deals, tasks

DealAction = Literal["assign", "stage", "won", "lost", "delete"]
TaskAction = Literal["done", "reopen", "assign", "due", "delete"]
DEAL_ACTIONS: tuple[str, ...] = ("assign", "stage", "won", "lost", "delete")
TASK_ACTIONS: tuple[str, ...] = ("done", "reopen", "assign", "due", "delete")
MAX_RECORDS = 1000  # ids a form lists; "all matching" may reach listing.MAX_MATCHING
CHUNK = 500  # ids per IN (...)


def _titles(ctx: Context, model: Any, ids: list[uuid.UUID], noun: str) -> dict[uuid.UUID, str]:
    """Each listed record's title (to name one that is refused); NotFound if one is missing."""
    titles: dict[uuid.UUID, str] = {}
    for start in range(0, len(ids), CHUNK):
        stmt = select(model.id, model.title).where(model.id.in_(ids[start : start + CHUNK]))
        titles.update(ctx.session.execute(stmt).all())
    missing = len(ids) - len(titles)
    if missing:
        raise NotFound(f"{missing:,} of the selected {noun} are gone (deleted meanwhile?)")
    return titles


def _unique(ids: list[uuid.UUID], limit: int) -> list[uuid.UUID]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise invalid(("ids",), "select at least one row first")
    if len(unique) > limit:
        raise invalid(("ids",), f"at most {limit:,} at once; this was {len(unique):,}", "too-many")
    return unique


def _each(
    ctx: Context,
    ids: list[uuid.UUID],
    titles: dict[uuid.UUID, str],
    act: Callable[[uuid.UUID], object],
) -> None:
    """``act`` on every id in one savepoint; the first refusal undoes them all and says
    which record it was."""
    with ctx.session.begin_nested():
        for record_id in ids:
            try:
                act(record_id)
            except RapportError as exc:
                reason = exc.errors[0].message if exc.errors else exc.detail
                raise Invalid(f"“{titles[record_id]}”: {reason}") from exc


def _bin(ctx: Context, kind: str, ids: list[uuid.UUID], titles: dict[uuid.UUID, str]) -> None:
    """The selection to the bin through the one soft delete, in a savepoint of its own."""
    with ctx.session.begin_nested():
        try:
            move_many_to_bin(ctx, record_type(kind), ids)
        except RapportError as exc:
            raise Invalid(exc.detail) from exc


def run_deals(
    ctx: Context,
    action: DealAction,
    ids: list[uuid.UUID],
    *,
    owner_id: uuid.UUID | None = None,
    stage_id: uuid.UUID | None = None,
    limit: int = MAX_RECORDS,
) -> int:
    """Apply ``action`` to every listed deal, all or nothing; how many it acted on."""
    if action not in DEAL_ACTIONS:
        raise invalid(("action",), f"the action must be one of {', '.join(DEAL_ACTIONS)}")
    ctx.require("deals:delete" if action == "delete" else "deals:write")
    unique = _unique(ids, limit)
    titles = _titles(ctx, Deal, unique, "deals")
    if action == "delete":
        _bin(ctx, "deal", unique, titles)
    elif action == "assign":
        patch = DealPatch(owner_id=owner_id)
        _each(ctx, unique, titles, lambda i: deals.update(ctx, i, patch))
    elif action == "stage":
        stage = _one_pipeline_stage(ctx, unique, stage_id)
        _each(ctx, unique, titles, lambda i: deals.move_to_stage(ctx, i, stage.id))
    elif action == "won":
        _each(ctx, unique, titles, lambda i: deals.mark_won(ctx, i, reason=None))
    else:
        _each(ctx, unique, titles, lambda i: deals.mark_lost(ctx, i, reason=None))
    return len(unique)


def _one_pipeline_stage(ctx: Context, ids: list[uuid.UUID], stage_id: uuid.UUID | None) -> Stage:
    """The stage to move to, once every deal is in its pipeline (a stage belongs to one)."""
    stage = ctx.session.get(Stage, stage_id) if stage_id is not None else None
    if stage is None or stage.workspace_id != ctx.workspace_id or stage.archived_at is not None:
        raise invalid(("stage_id",), "choose a stage from the list", "unknown-stage")
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), CHUNK):
        stmt = select(Deal.pipeline_id).where(Deal.id.in_(ids[start : start + CHUNK])).distinct()
        found.update(ctx.session.scalars(stmt))
    if len(found) > 1:
        raise invalid(
            ("stage_id",),
            f"the selected deals are in {len(found)} pipelines and a stage belongs to one; "
            "filter the list by pipeline first",
            "mixed-pipelines",
        )
    if found != {stage.pipeline_id}:
        raise invalid(
            ("stage_id",), "the selected deals are in another pipeline than this stage", "other"
        )
    return stage


def run_tasks(
    ctx: Context,
    action: TaskAction,
    ids: list[uuid.UUID],
    *,
    assignee_id: uuid.UUID | None = None,
    due_at: datetime | None = None,
    limit: int = MAX_RECORDS,
) -> int:
    """Apply ``action`` to every listed task, all or nothing; how many it acted on. Each task
    takes its own editor rule: a member's selection with a colleague's task is refused."""
    if action not in TASK_ACTIONS:
        raise invalid(("action",), f"the action must be one of {', '.join(TASK_ACTIONS)}")
    ctx.require("tasks:write")
    unique = _unique(ids, limit)
    titles = _titles(ctx, Task, unique, "tasks")
    if action == "delete":
        _bin(ctx, "task", unique, titles)
        return len(unique)
    if action in ("done", "reopen"):
        patch = TaskPatch(done=action == "done")
    elif action == "assign":
        patch = TaskPatch(assignee_id=assignee_id)
    else:
        patch = TaskPatch(due_at=due_at)
    _each(ctx, unique, titles, lambda i: tasks.update(ctx, i, patch))
    return len(unique)


def all_matching_tasks(ctx: Context, query: tasks.TaskQuery, *, now: datetime) -> list[uuid.UUID]:
    """Every task a task list keeps (for "select all matching"), or Invalid past the cap."""
    where = tasks.conditions(query, now)
    kind = record_type("task")
    return listing.all_matching(ctx, kind, listing.ListParams(), noun="tasks", where=where,
                                cap=listing.MAX_MATCHING)  # fmt: skip
