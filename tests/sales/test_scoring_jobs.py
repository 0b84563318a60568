"""Stored scores follow events through the outbox consumers in ``sales/jobs.py``, run by
``jobs.drain`` inside the test's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rapport.core import jobs
from rapport.core.context import Context
from rapport.hub.models import LifecycleStage
from rapport.hub.schemas import ActivityIn, CompanyIn, CompanyPatch, PersonIn, PersonPatch
from rapport.hub.service import companies, people, timeline
from rapport.sales import jobs as sales_jobs
from rapport.sales.models import LeadScore
from rapport.sales.schemas import RuleIn, RulePatch
from rapport.sales.service import scoring


def _stored(ctx: Context, person_id: Any) -> int | None:
    row = ctx.session.scalars(select(LeadScore).where(LeadScore.person_id == person_id)).first()
    if row is None:
        return None
    ctx.session.refresh(row)
    return row.score


def _rule(ctx: Context, name: str, rule_kind: str, points: int, **params: Any) -> Any:
    rule = RuleIn.model_validate(
        {"name": name, "kind": rule_kind, "points": points, "params": params}
    )
    return scoring.create_rule(ctx, rule)


def test_events_rescore_the_lead(ada_ctx: Context) -> None:
    calls = _rule(ada_ctx, "Calls", "engagement", 5, kind="call", half_life_days=30)
    _rule(ada_ctx, "Director", "job_title_contains", 15, text="director")
    _rule(ada_ctx, "Mid-size", "company_size_between", 10, min=50, max=500)
    company = companies.create(ada_ctx, CompanyIn(name="Tiny", size=5))
    person = people.create(ada_ctx, PersonIn(first_name="Ed", company_id=company.id))
    ran = jobs.drain(ada_ctx.session)
    assert "sales.scoring_on_person" in {r.name for r in ran}
    assert _stored(ada_ctx, person.id) == 0

    timeline.log(ada_ctx, ActivityIn(kind="call", person_id=person.id))  # type: ignore[arg-type]
    jobs.drain(ada_ctx.session)
    assert _stored(ada_ctx, person.id) == 5  # activity.created

    people.update(ada_ctx, person.id, PersonPatch(job_title="Director"), expected_version=None)
    jobs.drain(ada_ctx.session)
    assert _stored(ada_ctx, person.id) == 20  # person.updated

    companies.update(ada_ctx, company.id, CompanyPatch(size=100), expected_version=None)
    jobs.drain(ada_ctx.session)
    assert _stored(ada_ctx, person.id) == 30  # company.updated

    scoring.update_rule(ada_ctx, calls.id, RulePatch(points=50), expected_version=None)
    jobs.drain(ada_ctx.session)
    assert _stored(ada_ctx, person.id) == 75  # scoring_rule.updated


def test_a_customer_never_scored_is_left_alone(ada_ctx: Context) -> None:
    customer = people.create(
        ada_ctx, PersonIn(first_name="Cus", lifecycle_stage=LifecycleStage.CUSTOMER)
    )
    timeline.log(ada_ctx, ActivityIn(kind="email", person_id=customer.id))  # type: ignore[arg-type]
    jobs.drain(ada_ctx.session)
    assert _stored(ada_ctx, customer.id) is None


def test_people_from_a_bulk_import_are_scored(api: Any, ada_ctx: Context) -> None:
    """A file import announces its people per batch (``import.batch``), not one by one."""
    _rule(ada_ctx, "Director", "job_title_contains", 15, text="director")
    body = b"email,first_name,job_title,lifecycle_stage\nimported.lead@x.org,Ida,Director,lead\n"
    response = api.post("/api/v1/imports", files={"file": ("leads.csv", body, "text/csv")})
    assert response.status_code == 202, response.text
    ran = jobs.drain(ada_ctx.session)  # the import job, then the consumers of its events
    assert "sales.scoring_on_import" in {r.name for r in ran}
    person = people.find_by_email(ada_ctx, "imported.lead@x.org")
    assert person is not None
    assert _stored(ada_ctx, person.id) == 15


def test_a_companies_import_rescores_nobody_from_its_company_ids(
    api: Any, ada_ctx: Context
) -> None:
    """A companies import announces its batches as ``import.batch`` too (with ``object``), and
    the people import's consumer once queued a rescore of its company ids as if they were
    people's."""
    _rule(ada_ctx, "Director", "job_title_contains", 15, text="director")
    body = b"name,domain\nInitech,initech.com\nHooli,hooli.com\n"
    files = {"file": ("companies.csv", body, "text/csv")}
    response = api.post("/api/v1/imports", files=files, data={"object": "company"})
    assert response.status_code == 202, response.text
    ran = jobs.drain(ada_ctx.session)  # the import job, then the consumers of its events
    found = [companies.find_by_domain(ada_ctx, d) for d in ("initech.com", "hooli.com")]
    company_ids = {str(c.id) for c in found if c is not None}
    assert len(company_ids) == 2
    rescored = [
        p for r in ran if r.name == "sales.rescore_people" for p in r.kwargs["person_ids"] or []
    ]
    assert not company_ids & set(rescored)


def test_a_rule_change_rescores_in_batches_and_skips_deleted_leads(ada_ctx: Context) -> None:
    """The rescore after a rule change failed with 'No person with this id' once any scored
    lead had been deleted, retried and ended dead: no score was ever refreshed again."""
    rule = _rule(ada_ctx, "Director", "job_title_contains", 15, text="director")
    lead = {"job_title": "Director", "lifecycle_stage": LifecycleStage.LEAD}
    made = [
        people.create(ada_ctx, PersonIn(first_name=f"L{i}", **lead))
        for i in range(sales_jobs.RESCORE_STEP * 3 + 5)
    ]
    jobs.drain(ada_ctx.session)
    assert _stored(ada_ctx, made[0].id) == 15
    people.delete(ada_ctx, made[0].id)
    scoring.update_rule(ada_ctx, rule.id, RulePatch(points=40), expected_version=None)
    ran = jobs.drain(ada_ctx.session)  # raises if a consumer or job fails
    assert ("job", "sales.rescore_people") in {(r.kind, r.name) for r in ran}
    assert {_stored(ada_ctx, p.id) for p in made[1:]} == {40}
