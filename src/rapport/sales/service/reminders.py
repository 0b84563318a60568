"""Reminders made by rules, each a task for the right person, never two at once.

1. First-touch SLA: a routed lead with no outbound interaction by its deadline gets one
   reminder task for its owner (``sla:<assignment>``, once per assignment);
2. Follow-up: an open deal with no activity for N days (per workspace, or per pipeline) gets a
   task for its owner, not repeated while that task is open (``follow_up:<deal>``).

"Activity" on a deal is the latest of: a change to the deal (a stage move, an edit), an
interaction linked to the deal itself (its own timeline) or on the timeline of its person or
company, and a task about it ticked done.
Both functions take ``now`` so that tests and the periodic job decide the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from rapport.core.context import Context
from rapport.core.db import get_scoped
from rapport.hub.models import Activity, Direction, Person
from rapport.sales.models import Deal, DealStatus, LeadAssignment, Task
from rapport.sales.service import routing
from rapport.sales.service.tasks import create_system_task

BATCH = 500


def check_first_touch_sla(ctx: Context, now: datetime) -> int:
    """Remind owners of routed leads not touched in time; returns the reminders made."""
    due = select(LeadAssignment).where(
        LeadAssignment.first_touch_due_at <= now,
        LeadAssignment.first_touched_at.is_(None),
        LeadAssignment.sla_reminded_at.is_(None),
        LeadAssignment.assignee_id.is_not(None),
    )
    made = 0
    for assignment in ctx.session.scalars(due.order_by(LeadAssignment.first_touch_due_at)):
        touched = ctx.session.scalar(
            select(func.min(Activity.occurred_at)).where(
                Activity.person_id == assignment.person_id,
                Activity.direction == Direction.OUTBOUND,
                Activity.occurred_at >= assignment.assigned_at,
            )
        )
        if touched is not None:
            assignment.first_touched_at = touched
            continue
        if _newer_assignment(ctx, assignment):
            assignment.sla_reminded_at = now  # re-routed since: the new owner's SLA counts
            continue
        person = get_scoped(ctx.session, Person, assignment.person_id)
        if person is None:
            continue
        assignment.sla_reminded_at = now
        made += (
            create_system_task(
                ctx,
                source="sla",
                dedupe_key=f"sla:{assignment.id}",
                title=f"First touch overdue: {person.full_name or person.email or 'new lead'}",
                notes=f"Routed to you: {assignment.reason}. No outbound contact yet.",
                due_at=now,
                priority="high",
                assignee_id=assignment.assignee_id,
                person_id=person.id,
            )
            is not None
        )
    ctx.session.flush()
    return made


def create_follow_up_reminders(ctx: Context, now: datetime) -> int:
    """A task for the owner of each open deal with no activity for N days; returns how many."""
    settings = routing.get_settings(ctx)
    overrides = settings.follow_up_days_by_pipeline
    if settings.follow_up_days is None and not overrides:
        return 0
    shortest = min([settings.follow_up_days or 366, *overrides.values()])
    quiet_since = now - timedelta(days=shortest)
    already = select(Task.deal_id).where(
        Task.dedupe_key.is_not(None), Task.source == "follow_up", Task.deal_id.is_not(None)
    )
    candidates = (
        select(Deal, *_last_activity())
        .where(
            Deal.status == DealStatus.OPEN,
            Deal.owner_id.is_not(None),
            Deal.updated_at < quiet_since,
            Deal.id.not_in(already),
        )
        .order_by(Deal.updated_at)
    )
    made = 0
    for deal, *seen in ctx.session.execute(candidates):
        days = overrides.get(deal.pipeline_id, settings.follow_up_days)
        if days is None:
            continue
        last = max(_aware(x) for x in (deal.updated_at, deal.stage_entered_at, *seen) if x)
        if last > now - timedelta(days=days):
            continue
        quiet = round((now - last) / timedelta(days=1))
        made += (
            create_system_task(
                ctx,
                source="follow_up",
                dedupe_key=f"follow_up:{deal.id}",
                title=f"Follow up: {deal.title}",
                notes=f"No activity on this open deal for {quiet} days.",
                due_at=now,
                priority="normal",
                assignee_id=deal.owner_id,
                deal_id=deal.id,
                person_id=deal.person_id,
            )
            is not None
        )
    return made


def _last_activity() -> tuple[Any, Any, Any, Any]:
    """The latest timeline interaction on the deal itself, on its person and on its company,
    and the latest task about it ticked done: correlated subqueries, each served by an index."""
    on_deal = (
        select(func.max(Activity.occurred_at)).where(Activity.deal_id == Deal.id).scalar_subquery()
    )
    on_person = (
        select(func.max(Activity.occurred_at))
        .where(Activity.person_id == Deal.person_id)
        .scalar_subquery()
    )
    on_company = (
        select(func.max(Activity.occurred_at))
        .where(Activity.company_id == Deal.company_id)
        .scalar_subquery()
    )
    task_done = select(func.max(Task.done_at)).where(Task.deal_id == Deal.id).scalar_subquery()
    return on_deal, on_person, on_company, task_done


def _newer_assignment(ctx: Context, assignment: LeadAssignment) -> bool:
    query = select(func.count()).where(
        LeadAssignment.person_id == assignment.person_id,
        LeadAssignment.assigned_at > assignment.assigned_at,
    )
    return bool(ctx.session.scalar(query))


def _aware(value: Any) -> datetime:
    """A scalar subquery's max() comes back untyped (naive text on SQLite): make it UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
