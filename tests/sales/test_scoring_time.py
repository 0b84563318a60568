"""Time-correct lead scoring, piece by piece: which leads are examples and how they are
labelled, scores as of a past instant (API), training as of a date (API and CLI), and the
engagement vocabulary (API and activity import) counted as features and suggested as rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rapport.cli import app
from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.hub.schemas import ActivityIn, PersonIn
from rapport.hub.service import people, timeline
from rapport.sales.schemas import DealIn, RuleIn
from rapport.sales.service import deals, predictive, scoring
from tests.hygiene.jobs_helper import drain_jobs


def _person(ctx: Context, name: str, created: datetime) -> object:
    person = people.create(ctx, PersonIn(first_name=name, email=f"{name}@example.com"))
    people.backdate_creation(ctx, person.id, created)
    return person.id


def _deal(ctx: Context, person_id: object, opened: datetime, closed: datetime, won: bool) -> None:
    deal = deals.create(
        ctx,
        DealIn(title="D", currency="EUR", person_id=person_id, created_at=opened),  # type: ignore[arg-type]
    )
    (deals.mark_won if won else deals.mark_lost)(ctx, deal.id, reason=None, closed_at=closed)


class TestExamples:
    def test_labels_by_a_win_within_the_horizon_after_the_observation(
        self, ada_ctx: Context
    ) -> None:
        as_of = utcnow() - timedelta(days=1)
        old = as_of - timedelta(days=300)
        won = _person(ada_ctx, "won", old)
        _deal(ada_ctx, won, old + timedelta(days=20), old + timedelta(days=60), True)
        late = _person(ada_ctx, "late", old)  # won, but after the horizon: a negative then
        _deal(ada_ctx, late, old + timedelta(days=20), old + timedelta(days=200), True)
        never = _person(ada_ctx, "never", old)  # no deal at all: a negative
        early = _person(ada_ctx, "early", old)  # won inside the observation window: left out
        _deal(ada_ctx, early, old + timedelta(days=1), old + timedelta(days=5), True)
        fresh = _person(ada_ctx, "fresh", as_of - timedelta(days=30))  # horizon not passed
        lost = _person(ada_ctx, "lost", old)
        _deal(ada_ctx, lost, old + timedelta(days=20), old + timedelta(days=40), False)

        found = predictive.examples(ada_ctx, as_of)

        labels = dict(zip(found.person_ids, found.labels, strict=True))
        assert labels == {won: 1, late: 0, never: 0, lost: 0}
        assert early not in labels and fresh not in labels
        moment = found.as_of[won]
        assert abs(moment - (old + timedelta(days=predictive.OBSERVATION_DAYS))) < timedelta(
            seconds=1
        )
        # As of an earlier date, the win had not happened yet: the example is not known.
        before = predictive.examples(ada_ctx, old + timedelta(days=50))
        assert won not in before.person_ids

    def test_features_and_rules_count_only_what_came_before_the_as_of(
        self, ada_ctx: Context
    ) -> None:
        person = people.create(ada_ctx, PersonIn(first_name="P"))
        scoring.create_rule(
            ada_ctx,
            RuleIn(name="Forms", kind="engagement", points=10,
                   params={"kind": "form_submitted", "half_life_days": 10}),
        )  # fmt: skip
        then = utcnow() - timedelta(days=100)
        for days in (0, 30):  # one form at `then`, one a month later
            timeline.log(
                ada_ctx,
                ActivityIn(kind="form_submitted", person_id=person.id,  # type: ignore[arg-type]
                           occurred_at=then + timedelta(days=days)),
            )  # fmt: skip
        at = then + timedelta(days=10)
        (row,) = predictive.features(ada_ctx, [person.id], at)
        assert row["count.form_submitted"] == pytest.approx(0.6931, abs=1e-3)  # log1p(1)
        assert row["form_fills"] == 1.0
        assert row["days_since_last_touch"] == pytest.approx(10.0, abs=0.01)  # not from now
        assert scoring.score(ada_ctx, person.id, as_of=at).score == 5  # 10 * 0.5^(10/10)
        assert scoring.score(ada_ctx, person.id, as_of=then).score == 0  # strictly before


class TestAsOfThroughTheApi:
    def test_score_as_of_a_past_date(self, api: TestClient) -> None:
        rule = {"name": "Opens", "kind": "engagement", "points": 8,
                "params": {"kind": "email_opened", "half_life_days": 30}}  # fmt: skip
        assert api.post("/api/v1/scoring/rules", json=rule).status_code == 201
        person = api.post("/api/v1/people", json={"first_name": "O"}).json()
        logged = api.post(
            "/api/v1/activities",
            json={"kind": "email_opened", "person_id": person["id"],
                  "occurred_at": "2025-06-01T10:00:00Z", "subject": "Newsletter"},
        )  # fmt: skip
        assert logged.status_code == 201, logged.text
        assert logged.json()["channel"] == "email"
        url = f"/api/v1/people/{person['id']}/score"
        assert api.get(url, params={"as_of": "2025-06-01T10:00:00Z"}).json()["score"] == 0
        assert api.get(url, params={"as_of": "2025-06-01T10:00:01Z"}).json()["score"] == 8
        assert api.get(url, params={"as_of": "2025-07-01"}).json()["score"] == 4  # a half-life
        assert api.get(url).json()["score"] == 0  # now: long decayed

    def test_train_as_of_a_date_and_not_in_the_future(self, api: TestClient) -> None:
        trained = api.post("/api/v1/sales/scoring/model/train", params={"as_of": "2025-12-31"})
        assert trained.status_code == 200, trained.text
        assert trained.json()["as_of"].startswith("2025-12-31T00:00:00")
        future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        refused = api.post("/api/v1/sales/scoring/model/train", params={"as_of": future})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["code"] == "in-the-future"

    def test_suggested_rules_need_history(self, api: TestClient) -> None:
        suggested = api.get("/api/v1/sales/scoring/rules/suggested")
        assert suggested.status_code == 200 and suggested.json() == []


def test_engagement_kinds_import_with_their_synonyms(api: TestClient) -> None:
    person = api.post(
        "/api/v1/people", json={"first_name": "E", "emails": [{"email": "e@example.com"}]}
    )
    assert person.status_code == 201, person.text
    text = (
        "Type,Date,Subject,Contact Email,Activity ID\n"
        "Email open,2025-03-02,Newsletter,e@example.com,M-1\n"
        "Webinar,2025-03-05,Launch webinar,e@example.com,M-2\n"
        "Page view,2025-03-06,Pricing,e@example.com,M-3\n"
        "form_submitted,2025-03-06,Demo request,e@example.com,M-4\n"
    )
    files = {"file": ("events.csv", text.encode(), "text/csv")}
    started = api.post("/api/v1/imports", files=files, data={"object": "activity"})
    assert started.status_code == 202, started.text
    drain_jobs()
    items = api.get(f"/api/v1/people/{person.json()['id']}/timeline").json()["items"]
    assert sorted(a["kind"] for a in items) == [
        "email_opened", "form_submitted", "page_visited", "webinar_attended"
    ]  # fmt: skip


def test_cli_trains_as_of_a_date(ada_ctx: Context, api: TestClient) -> None:
    ada_ctx.session.commit()
    result = CliRunner().invoke(
        app, ["scoring", "train", "-w", "acme", "--as-of", "2025-12-31", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"status": "fallback"' in result.output and '"warnings": []' in result.output
    model = api.get("/api/v1/sales/scoring/model").json()
    assert model["as_of"].startswith("2025-12-31T00:00:00")


def test_history_loaded_without_its_dates_is_refused_not_believed(ada_ctx: Context) -> None:
    """Issue 15's load: people created now, deals won or lost now, activities at their past
    dates. As of the close, features saw the outcome (a held-out AUC of 0.988); examples
    taken as of each lead's creation have no outcome yet, so no model is published."""
    for i in range(40):
        person = people.create(ada_ctx, PersonIn(first_name=f"N{i}"))
        timeline.log(
            ada_ctx,
            ActivityIn(kind="page_visited", person_id=person.id, subject="Pricing",  # type: ignore[arg-type]
                       occurred_at=utcnow() - timedelta(days=40)),
        )  # fmt: skip
        deal = deals.create(ada_ctx, DealIn(title="D", currency="EUR", person_id=person.id))
        (deals.mark_won if i % 2 else deals.mark_lost)(ada_ctx, deal.id, reason=None)
    model = predictive.train(ada_ctx)
    assert model.status == "fallback" and model.auc is None
    assert model.reason is not None and "Only 0 leads with a known outcome" in model.reason
