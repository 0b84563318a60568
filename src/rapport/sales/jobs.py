"""Background work of the sales domain: outbox consumers that keep lead scores fresh
(functions prefixed ``scoring_``) and the periodic reminders (the first-touch SLA check and the
follow-up rule, each workspace in its own transaction so one failure does not hold back the
rest; ``rapport reminders run`` runs them by hand)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from rapport.accounts.models import Workspace
from rapport.core import jobs
from rapport.core.clock import utcnow
from rapport.core.context import Context, system_context
from rapport.core.db import get_database, transaction
from rapport.hub import events as hub_events
from rapport.hub.models import Activity
from rapport.hygiene import events as hygiene_events
from rapport.sales.events import SCORING_RULE_CREATED, SCORING_RULE_DELETED, SCORING_RULE_UPDATED
from rapport.sales.service import deals, reminders, scoring_live

# --- lead scoring ---------------------------------------------------------------------------


@jobs.on_event(
    hub_events.ACTIVITY_CREATED, hub_events.ACTIVITY_UPDATED, hub_events.ACTIVITY_DELETED,
    hub_events.ACTIVITY_RESTORED, name="sales.scoring_on_activity",
)  # fmt: skip
def scoring_on_activity(ctx: Context, event: jobs.Event) -> None:
    """An interaction arrived, changed or went away: its person's engagement points move."""
    person_id = event.payload.get("person_id")
    if person_id is None and event.record_id is not None:
        query = select(Activity.person_id).where(Activity.id == event.record_id)
        person_id = ctx.session.scalar(query.execution_options(include_deleted=True))
    if person_id is not None:
        scoring_live.rescore_if_present(ctx, uuid.UUID(str(person_id)))


@jobs.on_event(
    hub_events.PERSON_CREATED, hub_events.PERSON_UPDATED, hub_events.PERSON_RESTORED,
    name="sales.scoring_on_person",
)  # fmt: skip
def scoring_on_person(ctx: Context, event: jobs.Event) -> None:
    """A person's title, company, custom fields or stage changed: their fit points move."""
    if event.record_id is not None:
        scoring_live.rescore_if_present(ctx, event.record_id)


# Work on many people is handed to a job that commits every RESCORE_SECONDS: a consumer runs
# inside one transaction, and rescoring thousands of leads there held SQLite's only write
# lock for minutes while every request that writes waited, then failed.
RESCORE_SECONDS = 0.2
RESCORE_STEP = 10  # people scored together (their predictive features are read at once)


@jobs.job("sales.rescore_people")
def rescore_people_job(
    workspace_id: str, person_ids: list[str] | None = None, only_worth_scoring: bool = False
) -> int:
    """Rescore ``person_ids`` (default: every lead and everybody scored), committing every
    RESCORE_SECONDS; people deleted meanwhile are skipped. Returns how many were rescored."""
    workspace, only_worth = uuid.UUID(workspace_id), only_worth_scoring
    if person_ids is None:
        with get_database().session(workspace) as session:
            ids = scoring_live.lead_ids(system_context(session, workspace))
    else:
        ids = [uuid.UUID(p) for p in person_ids]
    done = position = 0
    while position < len(ids):
        with transaction(workspace) as session:
            ctx = system_context(session, workspace)
            started = time.perf_counter()
            while position < len(ids) and time.perf_counter() - started < RESCORE_SECONDS:
                step = ids[position : position + RESCORE_STEP]
                done += scoring_live.rescore_people(ctx, step, only_worth_scoring=only_worth)
                position += len(step)
    return done


def _rescore_later(ctx: Context, person_ids: list[str] | None, *, only_worth: bool) -> None:
    jobs.enqueue(ctx.session, rescore_people_job, workspace_id=str(ctx.workspace_id),
                 person_ids=person_ids, only_worth_scoring=only_worth)  # fmt: skip


@jobs.on_event(hygiene_events.IMPORT_BATCH, name="sales.scoring_on_import")
def scoring_on_import(ctx: Context, event: jobs.Event) -> None:
    """A bulk import announces its records per batch, not one event each: score the people
    among them who are prospects (or were scored before). Batches of other records (companies,
    deals) name their own ids, not people's."""
    batch = hygiene_events.IMPORT_BATCH.read(event.payload)
    if batch.get("object", "person") != "person":
        return
    ids = [str(p) for p in [*(batch.get("created_ids") or []), *(batch.get("updated_ids") or [])]]
    if ids:
        _rescore_later(ctx, ids, only_worth=True)


@jobs.on_event(hub_events.COMPANY_UPDATED, name="sales.scoring_on_company")
def scoring_on_company(ctx: Context, event: jobs.Event) -> None:
    """A company's size or industry changed: everyone there worth scoring is rescored."""
    if event.record_id is not None:
        people = scoring_live.company_people(ctx, event.record_id)
        if people:
            _rescore_later(ctx, [str(p) for p in people], only_worth=True)


@jobs.on_event(
    SCORING_RULE_CREATED, SCORING_RULE_UPDATED, SCORING_RULE_DELETED, name="sales.scoring_on_rules"
)
def scoring_on_rules(ctx: Context, event: jobs.Event) -> None:
    """The workspace's rules changed: every stored lead score is recomputed, in batches."""
    _rescore_later(ctx, None, only_worth=False)


# --- reminders ------------------------------------------------------------------------------

REMINDER_MINUTES = 15  # how often the periodic job runs


@dataclass
class ReminderRun:
    workspaces: int = 0
    follow_ups: int = 0
    sla_reminders: int = 0


def reminders_for_workspace(workspace_id: uuid.UUID, now: datetime) -> tuple[int, int]:
    """Both reminder rules for one workspace in one transaction: (follow-ups, SLA reminders)."""
    with transaction(workspace_id) as session:
        ctx = system_context(session, workspace_id)
        return (
            reminders.create_follow_up_reminders(ctx, now),
            reminders.check_first_touch_sla(ctx, now),
        )


def run_reminders(now: datetime | None = None) -> ReminderRun:
    """Both reminder rules for every workspace."""
    now = now or utcnow()
    with transaction(unscoped=True) as session:
        ids = list(session.scalars(select(Workspace.id).order_by(Workspace.created_at)))
    run = ReminderRun()
    for workspace_id in ids:
        follow_ups, sla = reminders_for_workspace(workspace_id, now)
        run.workspaces += 1
        run.follow_ups += follow_ups
        run.sla_reminders += sla
    return run


@jobs.every(minutes=REMINDER_MINUTES, name="sales.reminders")
def reminders_job() -> None:
    """The periodic run of both reminder rules over every workspace."""
    run_reminders()


# --- deals in search --------------------------------------------------------------------------


@jobs.on_event(
    hub_events.PERSON_UPDATED, hygiene_events.PERSON_MERGED, hygiene_events.PERSON_MERGE_UNDONE,
    name="sales.deal_search_on_person",
)  # fmt: skip
def deal_search_on_person(ctx: Context, event: jobs.Event) -> None:
    """A person's name changed or a merge moved deals to or from them: the search documents of
    their deals (found by their contact's name) are written again."""
    ids = [event.record_id] if event.record_id is not None else []
    restored = event.payload.get("restored")
    if restored is not None:
        ids.append(uuid.UUID(str(restored)))
    deals.reindex_linked(ctx, person_ids=ids)


@jobs.on_event(
    hub_events.COMPANY_UPDATED, hygiene_events.COMPANY_MERGED, hygiene_events.COMPANY_MERGE_UNDONE,
    name="sales.deal_search_on_company",
)  # fmt: skip
def deal_search_on_company(ctx: Context, event: jobs.Event) -> None:
    """A company was renamed or merged: its deals' search documents are written again."""
    if event.record_id is not None:
        deals.reindex_linked(ctx, company_ids=[event.record_id])


def reindex_deals() -> int:
    """Every workspace's deals written to the search index again (``rapport deals reindex``:
    the backfill of deals indexed before search showed their stage, company and contact)."""
    with transaction(unscoped=True) as session:
        ids = list(session.scalars(select(Workspace.id).order_by(Workspace.created_at)))
    written = 0
    for workspace_id in ids:
        with transaction(workspace_id) as session:
            written += deals.reindex_all(system_context(session, workspace_id))
    return written
