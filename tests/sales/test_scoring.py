"""Lead scoring by rules: fit and engagement points, reasons, decay, storage, access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.hub.schemas import ActivityIn, CompanyIn, PersonIn
from rapport.hub.service import companies, people, timeline
from rapport.sales.schemas import RuleIn
from rapport.sales.service import scoring

Api = Callable[[str], TestClient]


@pytest.fixture
def lead(ada_ctx: Context) -> Any:
    company = companies.create(ada_ctx, CompanyIn(name="Initech", industry="Software", size=250))
    return people.create(
        ada_ctx,
        PersonIn(
            first_name="Rita", job_title="VP Sales", company_id=company.id, email="rita@initech.com"
        ),
    )


def _rule(ctx: Context, name: str, rule_kind: str, points: int, **params: Any) -> None:
    scoring.create_rule(ctx, RuleIn(name=name, kind=rule_kind, params=params, points=points))  # type: ignore[arg-type]


class TestRules:
    def test_fit_rules_give_points_with_reasons(self, ada_ctx: Context, lead: Any) -> None:
        _rule(ada_ctx, "Sales leader", "job_title_contains", 20, text="vp")
        _rule(ada_ctx, "Mid-size", "company_size_between", 15, min=100, max=1000)
        _rule(ada_ctx, "Software", "industry_equals", 10, industry="software")
        _rule(ada_ctx, "Enterprise", "company_size_between", 30, min=5000)
        result = scoring.score(ada_ctx, lead.id)
        assert result.score == 45
        assert [(r["rule"], r["points"]) for r in result.reasons] == [
            ("Sales leader", 20.0), ("Mid-size", 15.0), ("Software", 10.0)
        ]  # fmt: skip

    def test_engagement_decays_with_age(self, ada_ctx: Context, lead: Any) -> None:
        _rule(ada_ctx, "Visits", "engagement", 10, kind="visit", half_life_days=10)
        now = utcnow()
        for days in (0, 10, 20):
            timeline.log(
                ada_ctx,
                ActivityIn(kind="visit", person_id=lead.id, occurred_at=now - timedelta(days=days)),  # type: ignore[arg-type]
            )
        result = scoring.score(ada_ctx, lead.id)
        assert result.reasons[0]["points"] == pytest.approx(10 + 5 + 2.5, abs=0.01)
        assert result.score == 18

    def test_engagement_is_capped(self, ada_ctx: Context, lead: Any) -> None:
        _rule(ada_ctx, "Forms", "engagement", 10, kind="note", source="lead_form", max_points=15)
        for _ in range(3):
            timeline.log(ada_ctx, ActivityIn(kind="note", person_id=lead.id, source="lead_form"))  # type: ignore[arg-type]
        assert scoring.score(ada_ctx, lead.id).score == 15

    def test_params_are_checked_against_the_kind(self, ada_ctx: Context) -> None:
        with pytest.raises(Exception) as error:
            _rule(ada_ctx, "Bad", "industry_equals", 5, colour="red")
        assert getattr(error.value, "status", None) == 422


class TestApi:
    def test_rescore_stores_the_score_and_get_returns_it(
        self, api: TestClient, ada_ctx: Context, lead: Any
    ) -> None:
        rule = {"name": "VP", "kind": "job_title_contains", "params": {"text": "vp"}, "points": 7}
        assert api.post("/api/v1/scoring/rules", json=rule).status_code == 201
        scored = api.post(f"/api/v1/people/{lead.id}/score").json()
        assert scored["score"] == 7 and scored["reasons"][0]["rule"] == "VP"
        stored = api.get(f"/api/v1/people/{lead.id}/score").json()
        assert stored["score"] == 7 and stored["computed_at"] == scored["computed_at"]

    def test_member_cannot_edit_rules(self, api_as: Api) -> None:
        rule = {"name": "x", "kind": "industry_equals", "params": {"industry": "x"}, "points": 1}
        assert api_as("ben").post("/api/v1/scoring/rules", json=rule).status_code == 403

    def test_other_workspace_gets_404(self, api_as: Api, ada_ctx: Context, lead: Any) -> None:
        ada_ctx.session.flush()  # the API's sessions share the test's connection
        assert api_as("dev").get(f"/api/v1/people/{lead.id}/score").status_code == 404
