"""Tasks on any record: CRUD, ticking done, and the list with ``?assignee=me`` and due filters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Query, Response

from rapport.core.access import requires
from rapport.core.api import domain_router, problems
from rapport.core.clock import utcnow
from rapport.core.config import get_settings
from rapport.core.deps import Ctx, IfMatch, etag
from rapport.core.errors import invalid
from rapport.core.schemas import PageOut
from rapport.sales.models import Task
from rapport.sales.schemas import ReminderRunOut, TaskIn, TaskOut, TaskPatch
from rapport.sales.service import reminders, tasks
from rapport.sales.service.tasks import TaskQuery

router = domain_router(prefix="/tasks", tags=["tasks"])
WRITE_PROBLEMS = problems(401, 403, 404, 409, 412, 422)


@router.get(
    "",
    response_model=PageOut[TaskOut],
    responses=problems(400, 401, 403, 422),
    dependencies=[requires("tasks:read")],
)
def list_(
    ctx: Ctx,
    assignee: Annotated[
        str | None, Query(description="'me', 'none' or a member's id", max_length=36)
    ] = None,
    status: Annotated[Literal["open", "done", "any"], Query()] = "any",
    overdue: Annotated[bool, Query(description="Open and past due")] = False,
    due_before: Annotated[datetime | None, Query()] = None,
    due_after: Annotated[datetime | None, Query()] = None,
    person_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
    deal_id: uuid.UUID | None = None,
    sort: Annotated[str | None, Query(description="due_at or created_at; - for desc")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PageOut[TaskOut]:
    """List tasks: ``?assignee=me``, ``?status=open``, ``?overdue=true``, ``?due_before=``,
    ``?deal_id=`` (or person_id, company_id); soonest due first."""
    query = TaskQuery(
        limit=min(limit, get_settings().max_page_size),
        cursor=cursor,
        sort=sort,
        status=status,
        overdue=overdue,
        person_id=person_id,
        company_id=company_id,
        deal_id=deal_id,
    )
    for name, value in (("due_before", due_before), ("due_after", due_after)):
        if value is not None and value.tzinfo is None:
            raise invalid((name,), "give a time zone, e.g. 2030-01-31T09:00:00Z")
    query.due_before, query.due_after = due_before, due_after
    if assignee == "me":
        query.assignee_id = ctx.user_id
    elif assignee == "none":
        query.unassigned = True
    elif assignee:
        try:
            query.assignee_id = uuid.UUID(assignee)
        except ValueError:
            raise invalid(("assignee",), "give 'me', 'none' or a member's id") from None
    page = tasks.list_tasks(ctx, query)
    return PageOut[TaskOut](
        items=[TaskOut.model_validate(t) for t in page.items],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.post(
    "",
    response_model=TaskOut,
    status_code=201,
    responses=problems(401, 403, 422),
    dependencies=[requires("tasks:write")],
)
def create(body: TaskIn, ctx: Ctx, response: Response) -> Task:
    """A task about a person, company or deal (or none), assigned to you by default."""
    task = tasks.create(ctx, body)
    response.headers["ETag"] = etag(task.version)
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    return task


@router.post(
    "/reminders/run",
    response_model=ReminderRunOut,
    responses=problems(401, 403),
    dependencies=[requires("workspace:manage")],
)
def run_reminders(ctx: Ctx) -> ReminderRunOut:
    """Run the first-touch SLA check and the follow-up rule now (the periodic job's work)."""
    now = utcnow()
    return ReminderRunOut(
        follow_ups=reminders.create_follow_up_reminders(ctx, now),
        sla_reminders=reminders.check_first_touch_sla(ctx, now),
    )


@router.get(
    "/{task_id}",
    response_model=TaskOut,
    responses=problems(401, 403, 404),
    dependencies=[requires("tasks:read")],
)
def get(task_id: uuid.UUID, ctx: Ctx, response: Response) -> Task:
    """One task; the ETag is its version."""
    task = tasks.get(ctx, task_id)
    response.headers["ETag"] = etag(task.version)
    return task


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    responses=WRITE_PROBLEMS,
    dependencies=[
        requires("tasks:write", note="members: only the tasks assigned to or made by them")
    ],
)
def update(
    task_id: uuid.UUID, body: TaskPatch, ctx: Ctx, version: IfMatch, response: Response
) -> Task:
    """Change some fields, or tick it with ``{"done": true}``; 412 on a stale If-Match."""
    task = tasks.update(ctx, task_id, body, expected_version=version)
    response.headers["ETag"] = etag(task.version)
    return task


@router.delete(
    "/{task_id}",
    response_model=TaskOut,
    responses=problems(401, 403, 404, 412),
    dependencies=[
        requires("tasks:write", note="members: only the tasks assigned to or made by them")
    ],
)
def delete(task_id: uuid.UUID, ctx: Ctx, version: IfMatch) -> Task:
    """Move a task to the bin (restore with POST …/restore)."""
    return tasks.delete(ctx, task_id, expected_version=version)


@router.post(
    "/{task_id}/restore",
    response_model=TaskOut,
    responses=problems(401, 403, 404),
    dependencies=[
        requires("tasks:write", note="members: only the tasks assigned to or made by them")
    ],
)
def restore(task_id: uuid.UUID, ctx: Ctx) -> Task:
    """Bring a task back from the bin."""
    return tasks.restore(ctx, task_id)
