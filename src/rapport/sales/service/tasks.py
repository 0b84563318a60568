"""Tasks: something to do by a due time, for an assignee, about a person, company or deal.

Everyone who reads the workspace sees its tasks. Writers create them; a task is changed,
ticked or deleted by its assignee, its creator, or a manager and above (a member does not tick
off a colleague's work). Reminder rules create tasks through :func:`create_system_task`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.core.db import flush_unique, get_scoped
from rapport.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from rapport.core.events import check_version, diff_fields, record
from rapport.core.filtering import FieldSet, FilterField
from rapport.core.listing import Count, ListParams, count_records, list_records
from rapport.core.pagination import Page
from rapport.core.permissions import Role
from rapport.core.records import move_to_bin, record_type, restore_from_bin
from rapport.hub.models import Company, Person
from rapport.hub.public import check_owner, without_unchanged
from rapport.sales.events import TASK_CREATED, TASK_UPDATED
from rapport.sales.models import Deal, Task, TaskPriority
from rapport.sales.schemas import TaskIn, TaskPatch

# Every sort is served by an index (workspace_id, <column>, id); see sales/models.py.
SORTS = {"due_at": Task.due_at, "created_at": Task.created_at, "done_at": Task.done_at}
DEFAULT_SORT = "due_at"
# What the export (and a filter of the generic list) may name; the API's list keeps its own
# parameters (?assignee=, ?status=, ?overdue=, ?due_before=…), built by conditions.
FIELDS = FieldSet(
    [
        FilterField("title", "string", column=Task.title),
        FilterField("priority", "enum", column=Task.priority, choices=tuple(TaskPriority)),
        FilterField("source", "string", column=Task.source),
        FilterField("assignee_id", "uuid", column=Task.assignee_id),
        FilterField("created_by_id", "uuid", column=Task.created_by_id),
        FilterField("person_id", "uuid", column=Task.person_id),
        FilterField("company_id", "uuid", column=Task.company_id),
        FilterField("deal_id", "uuid", column=Task.deal_id),
        FilterField("due_at", "datetime", column=Task.due_at),
        FilterField("done_at", "datetime", column=Task.done_at),
        FilterField("created_at", "datetime", column=Task.created_at),
    ]
)
LINKS = (("person_id", Person), ("company_id", Company), ("deal_id", Deal))
EDITORS = (Role.OWNER, Role.ADMIN, Role.MANAGER)


@dataclass
class TaskQuery:
    """A page request of the task list."""

    limit: int = 50
    cursor: str | None = None
    sort: str | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    status: str = "any"  # open | done | any
    overdue: bool = False
    due_before: datetime | None = None
    due_after: datetime | None = None
    person_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    about: str = ""  # "person" | "company" | "deal": linked to one; "none": to no record
    no_due: bool = False  # only tasks without a due time


ABOUT = ("person", "company", "deal", "none")


def get(ctx: Context, task_id: uuid.UUID, *, include_deleted: bool = False) -> Task:
    """One task of the workspace; NotFound otherwise."""
    ctx.require("tasks:read")
    task = get_scoped(ctx.session, Task, task_id, include_deleted=include_deleted)
    if task is None:
        raise NotFound("No task with this id")
    return task


def create(ctx: Context, data: TaskIn) -> Task:
    """A new task, assigned to you unless you name someone."""
    ctx.require("tasks:write")
    values = data.model_dump()
    values["assignee_id"] = values["assignee_id"] or ctx.user_id
    _validate(ctx, values)
    task = Task(workspace_id=ctx.workspace_id, created_by_id=ctx.user_id, **values)
    ctx.session.add(task)
    ctx.session.flush()
    record(ctx, TASK_CREATED, task.id, {k: (None, v) for k, v in values.items() if v})
    return task


def create_system_task(ctx: Context, *, source: str, dedupe_key: str, **values: Any) -> Task | None:
    """A task made by a rule (SLA, follow-up); ``dedupe_key`` keeps it single while open, so
    a second run racing this one gets None instead of a duplicate."""
    task = Task(workspace_id=ctx.workspace_id, source=source, dedupe_key=dedupe_key, **values)
    ctx.session.add(task)
    try:
        flush_unique(ctx.session, lambda: Conflict("reminder exists"))
    except Conflict:
        if task in ctx.session:
            ctx.session.expunge(task)
        return None
    record(ctx, TASK_CREATED, task.id, {k: (None, v) for k, v in values.items() if v},
           payload={"source": source})  # fmt: skip
    return task


def update(
    ctx: Context, task_id: uuid.UUID, patch: TaskPatch, *, expected_version: int | None = None
) -> Task:
    """Change the fields sent; ``done`` ticks or unticks. 412 on a stale If-Match."""
    ctx.require("tasks:write")
    task = get(ctx, task_id)
    require_editor(ctx, task)
    check_version(task.version, expected_version)
    values = without_unchanged(patch.model_dump(exclude_unset=True), task, "assignee_id")
    for name in ("title", "priority"):
        if name in values and values[name] is None:
            raise Invalid(f"{name}: cannot be null", errors=[FieldError((name,), "cannot be null")])
    done = values.pop("done", None)
    _validate(ctx, values)
    if done is not None and done != task.done:
        values["done_at"] = utcnow() if done else None
        if done:
            values["dedupe_key"] = None  # the rule that made it may remind again later
    changes = diff_fields(task, values)
    if changes:
        ctx.session.flush()
        record(ctx, TASK_UPDATED, task.id, changes)
    return task


def set_done(
    ctx: Context, task_id: uuid.UUID, done: bool, *, expected_version: int | None = None
) -> Task:
    """Tick a task done (or not done)."""
    return update(ctx, task_id, TaskPatch(done=done), expected_version=expected_version)


def delete(ctx: Context, task_id: uuid.UUID, *, expected_version: int | None = None) -> Task:
    """Move a task to the bin (one already there is a 404)."""
    return move_to_bin(ctx, record_type("task"), task_id, expected_version=expected_version)


def restore(ctx: Context, task_id: uuid.UUID) -> Task:
    """Bring a task back from the bin."""
    return restore_from_bin(ctx, record_type("task"), task_id)


def free_dedupe_key(_ctx: Context, task: Task) -> None:
    """A binned reminder no longer keeps its rule from reminding again."""
    task.dedupe_key = None


def list_tasks(ctx: Context, params: TaskQuery, *, now: datetime | None = None) -> Page[Task]:
    """A page of tasks, by due time (no due time last) unless sorted otherwise."""
    page = ListParams(limit=params.limit, cursor=params.cursor, sort=params.sort)
    where = conditions(params, now or utcnow())
    return list_records(ctx, record_type("task"), page, where=where)


def count_tasks(
    ctx: Context, params: TaskQuery, *, now: datetime | None = None, cap: int | None = None
) -> Count:
    """How many tasks the list keeps, counted to ``cap`` (see ``core.listing.count_records``)."""
    where = conditions(params, now or utcnow())
    return count_records(ctx, record_type("task"), ListParams(), where=where, cap=cap)


def conditions(params: TaskQuery, now: datetime) -> list[ColumnElement[bool]]:
    """The task list's own filters: assignee, status, overdue, due window, linked record."""
    where: list[ColumnElement[bool]] = []
    if params.assignee_id is not None:
        where.append(Task.assignee_id == params.assignee_id)
    if params.unassigned:
        where.append(Task.assignee_id.is_(None))
    if params.status == "open" or params.overdue:
        where.append(Task.done_at.is_(None))
    elif params.status == "done":
        where.append(Task.done_at.is_not(None))
    if params.overdue:
        where.append(Task.due_at < now)
    if params.due_before is not None:
        where.append(Task.due_at < params.due_before)
    if params.due_after is not None:
        where.append(Task.due_at >= params.due_after)
    for name, _model in LINKS:
        value = getattr(params, name)
        if value is not None:
            where.append(getattr(Task, name) == value)
    if params.no_due:
        where.append(Task.due_at.is_(None))
    if params.about == "none":
        where += [Task.person_id.is_(None), Task.company_id.is_(None), Task.deal_id.is_(None)]
    elif params.about in ABOUT:
        where.append(getattr(Task, f"{params.about}_id").is_not(None))
    return where


def open_for_record(ctx: Context, limit: int, **link: uuid.UUID) -> list[Task]:
    """Up to ``limit`` open tasks about one record (``person_id=``, ``company_id=`` or
    ``deal_id=``: its page's panel), soonest due first."""
    ctx.require("tasks:read")
    ((name, value),) = link.items()
    query = select(Task).where(getattr(Task, name) == value, Task.done_at.is_(None))
    query = query.order_by(Task.due_at.asc().nulls_last(), Task.id).limit(limit)
    return list(ctx.session.scalars(query))


def may_edit(ctx: Context, task: Task) -> bool:
    """Whether the actor may change this task (assignee, creator, or manager and above)."""
    if not ctx.can("tasks:write"):
        return False
    if ctx.role in EDITORS or ctx.actor_type == "system":
        return True
    return ctx.user_id is not None and ctx.user_id in (task.assignee_id, task.created_by_id)


def require_editor(ctx: Context, task: Task) -> None:
    """Forbidden unless the actor may change this task."""
    if not may_edit(ctx, task):
        raise Forbidden("Only the assignee, the creator or a manager may change this task")


def _validate(ctx: Context, values: dict[str, Any]) -> None:
    """Due time, assignee and links; every problem at once, as one Invalid."""
    errors: list[FieldError] = []
    due = values.get("due_at")
    if isinstance(due, datetime) and due.tzinfo is None:
        errors.append(FieldError(("due_at",), "give a time zone, e.g. 2030-01-31T09:00:00Z"))
    if "assignee_id" in values:
        errors += check_owner(ctx, values["assignee_id"], ("assignee_id",))
    for name, model in LINKS:
        linked = values.get(name)
        if linked is not None and get_scoped(ctx.session, model, linked) is None:
            errors.append(FieldError((name,), f"no {name[:-3]} with this id", f"unknown-{name}"))
    if errors:
        summary = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors)
        raise Invalid(summary, errors=errors)
