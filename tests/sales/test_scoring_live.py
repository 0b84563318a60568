"""Stored scores follow events: a captured lead is scored at once; ``rescore_person`` (what
the event consumers call) picks up new activities, person and company changes, records an
event only on a change, and stays inside its workspace."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rapport.core.context import Context
from rapport.core.errors import NotFound
from rapport.core.events import OutboxEvent
from rapport.hub.schemas import ActivityIn, CompanyIn, CompanyPatch, PersonIn, PersonPatch
from rapport.hub.service import companies, people, timeline
from rapport.sales.models import LeadScore
from rapport.sales.schemas import LeadIn, RuleIn
from rapport.sales.service import leads, scoring, scoring_live


@pytest.fixture
def rules(ada_ctx: Context) -> None:
    for name, kind, points, params in (
        ("Director", "job_title_contains", 15, {"text": "director"}),
        ("Mid-size", "company_size_between", 10, {"min": 50, "max": 500}),
        ("Calls", "engagement", 5, {"kind": "call", "half_life_days": 30}),
    ):
        scoring.create_rule(ada_ctx, RuleIn(name=name, kind=kind, points=points, params=params))  # type: ignore[arg-type]


def _stored(ctx: Context, person_id: Any) -> LeadScore:
    row = ctx.session.scalars(select(LeadScore).where(LeadScore.person_id == person_id)).one()
    ctx.session.refresh(row)
    return row


def _score_events(ctx: Context) -> int:
    query = select(func.count()).where(OutboxEvent.topic == "lead_score.updated")
    return int(ctx.session.scalar(query) or 0)


def test_a_captured_lead_is_scored_at_once(ada_ctx: Context, rules: None) -> None:
    outcome = leads.capture(ada_ctx, LeadIn(email="dee@lead.example.com", job_title="IT Director"))
    stored = _stored(ada_ctx, outcome.person_id)
    assert stored.score == 15 and stored.reasons[0]["rule"] == "Director"
    assert stored.probability is None  # no model yet


def test_form_submission_is_scored(api: TestClient, anon: TestClient, ada_ctx: Context) -> None:
    rule = {
        "name": "Dir",
        "kind": "job_title_contains",
        "params": {"text": "director"},
        "points": 4,
    }
    assert api.post("/api/v1/scoring/rules", json=rule).status_code == 201
    form = api.post("/api/v1/lead-forms", json={"name": "Contact"}).json()
    body = {"email": "f@lead.example.com", "job_title": "Director"}
    sent = anon.post(f"/api/v1/forms/{form['key']}/submit", json=body).json()
    assert api.get(f"/api/v1/people/{sent['person_id']}/score").json()["score"] == 4


def test_rescore_follows_activities_person_and_company_changes(
    ada_ctx: Context, rules: None
) -> None:
    company = companies.create(ada_ctx, CompanyIn(name="Tiny", size=5))
    person = people.create(
        ada_ctx, PersonIn(first_name="Ed", job_title="Engineer", company_id=company.id)
    )
    assert scoring_live.rescore_person(ada_ctx, person.id).score == 0

    timeline.log(ada_ctx, ActivityIn(kind="call", person_id=person.id))  # type: ignore[arg-type]
    assert scoring_live.rescore_person(ada_ctx, person.id).score == 5
    assert _stored(ada_ctx, person.id).score == 5

    people.update(
        ada_ctx, person.id, PersonPatch(job_title="Director of IT"), expected_version=None
    )
    scoring_live.rescore_if_present(ada_ctx, person.id)
    assert _stored(ada_ctx, person.id).score == 20

    companies.update(ada_ctx, company.id, CompanyPatch(size=120), expected_version=None)
    assert scoring_live.rescore_company(ada_ctx, company.id) == 1
    stored = _stored(ada_ctx, person.id)
    assert stored.score == 30
    assert {r["rule"] for r in stored.reasons} == {"Director", "Mid-size", "Calls"}


def test_an_event_is_recorded_only_when_the_score_changes(ada_ctx: Context, rules: None) -> None:
    person = people.create(ada_ctx, PersonIn(first_name="Fay", job_title="Director"))
    scoring_live.rescore_person(ada_ctx, person.id)
    before = _score_events(ada_ctx)
    scoring_live.rescore_person(ada_ctx, person.id)
    assert _score_events(ada_ctx) == before
    timeline.log(ada_ctx, ActivityIn(kind="call", person_id=person.id))  # type: ignore[arg-type]
    scoring_live.rescore_person(ada_ctx, person.id)
    assert _score_events(ada_ctx) == before + 1


def test_a_deleted_person_is_skipped(ada_ctx: Context) -> None:
    person = people.create(ada_ctx, PersonIn(first_name="Gone"))
    people.delete(ada_ctx, person.id)
    scoring_live.rescore_if_present(ada_ctx, person.id)
    count = select(func.count()).select_from(LeadScore).where(LeadScore.person_id == person.id)
    assert ada_ctx.session.scalar(count) == 0


def test_rescoring_stays_in_its_workspace(ada_ctx: Context, dev_ctx: Context) -> None:
    person = people.create(ada_ctx, PersonIn(first_name="Acme lead"))
    ada_ctx.session.flush()
    with pytest.raises(NotFound):
        scoring_live.rescore_person(dev_ctx, person.id)
    scoring_live.rescore_if_present(dev_ctx, person.id)  # silently not theirs
    assert dev_ctx.session.scalar(select(func.count()).select_from(LeadScore)) == 0


def test_read_only_cannot_rescore(cleo_ctx: Context, ada_ctx: Context) -> None:
    person = people.create(ada_ctx, PersonIn(first_name="Ro"))
    ada_ctx.session.flush()
    with pytest.raises(Exception) as error:
        scoring_live.rescore_person(cleo_ctx, person.id)
    assert getattr(error.value, "status", None) == 403
