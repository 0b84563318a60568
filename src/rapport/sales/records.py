"""The sales record types (see rapport.core.records): deals and tasks, listed, binned, saved
as views and exported (CSV, JSON lines) by the shared plumbing."""

from __future__ import annotations

from functools import partial

from rapport.core.records import RecordType
from rapport.hub.public import fields
from rapport.sales.events import DEAL_DELETED, DEAL_RESTORED, TASK_DELETED, TASK_RESTORED
from rapport.sales.models import Deal, Task
from rapport.sales.service import deal_list, deals, tasks

# What an export writes, in this order.
DEAL_COLUMNS = (
    Deal.id, Deal.title, Deal.amount, Deal.currency, Deal.status, Deal.pipeline_id, Deal.stage_id,
    Deal.owner_id, Deal.person_id, Deal.company_id, Deal.expected_close_date, Deal.closed_at,
    Deal.close_reason, Deal.created_at, Deal.updated_at,
)  # fmt: skip
TASK_COLUMNS = (
    Task.id, Task.title, Task.notes, Task.due_at, Task.priority, Task.assignee_id,
    Task.created_by_id, Task.person_id, Task.company_id, Task.deal_id, Task.done_at, Task.source,
    Task.created_at, Task.updated_at,
)  # fmt: skip

DEAL = RecordType(
    name="deal",
    plural="deals",
    model=Deal,
    read="deals:read",
    write="deals:write",
    delete="deals:delete",
    sorts=deal_list.SORTS,
    default_sort=deal_list.DEFAULT_SORT,
    fields=deal_list.FIELDS,
    binned=DEAL_DELETED,
    restored=DEAL_RESTORED,
    searchable=True,
    page_filters=deal_list.PAGE_FILTERS,
    export_columns=DEAL_COLUMNS,
    reindex=deals.reindex,
    custom_types=partial(fields.filter_types, object_type="deal"),
)

TASK = RecordType(
    name="task",
    plural="tasks",
    model=Task,
    read="tasks:read",
    write="tasks:write",
    delete="tasks:write",  # the assignee, the creator or a manager (the guard)
    sorts=tasks.SORTS,
    default_sort=tasks.DEFAULT_SORT,
    fields=tasks.FIELDS,
    binned=TASK_DELETED,
    restored=TASK_RESTORED,
    export_columns=TASK_COLUMNS,
    guard=tasks.require_editor,
    on_delete=tasks.free_dedupe_key,
)

RECORD_TYPES = (DEAL, TASK)
