"""The period and owner filters of the sales analytics, on a generated history whose two eras
disagree, so that the period visibly changes every historical figure.

Pipeline Lead (10%) → Proposal (50%) → Won / Lost.
* old era, Ada's: 10 deals closed 300-309 days ago, 8 won and 2 lost; stays Lead 2 d, Proposal 4 d;
* recent era, Ben's: 10 deals closed 10-19 days ago, 2 won and 8 lost; stays Lead 10 d, Proposal
  20 d (so they entered Lead 40-49 days ago);
* open: Ada's O1 (1000 EUR) and Ben's O2 (500 EUR), each 1 day in Lead then 8 days (so far) in
  Proposal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.core.clock import utcnow
from rapport.core.context import Context
from rapport.sales.models import Deal, DealStageHistory
from rapport.sales.schemas import DealIn, PipelineIn, StageIn
from rapport.sales.service import deals, forecast, pipelines

STAGES = [
    StageIn(name="Lead", probability=10),
    StageIn(name="Proposal", probability=50),
    StageIn(name="Won", probability=100, is_won=True),
    StageIn(name="Lost", is_lost=True),
]
DAY = timedelta(days=1)


def _retime(ctx: Context, deal: Deal, stays: list[float], end: datetime) -> None:
    """Lay the deal's stays (days) back to back, the last one starting at ``end``."""
    rows = list(
        ctx.session.scalars(
            select(DealStageHistory)
            .where(DealStageHistory.deal_id == deal.id)
            .order_by(DealStageHistory.entered_at)
        )
    )
    moment = end - sum(stays[:-1]) * DAY
    deal.created_at = moment
    for row, days in zip(rows, stays, strict=True):
        row.entered_at = moment
        moment = moment + days * DAY
        row.left_at = moment if row is not rows[-1] else None
    deal.stage_entered_at = rows[-1].entered_at
    if deal.closed_at is not None:
        deal.closed_at = rows[-1].entered_at
    ctx.session.flush()


@pytest.fixture
def eras(ada_ctx: Context, cast: Any) -> dict[str, Any]:
    return make_eras(ada_ctx, cast)


def make_eras(ctx: Context, cast: Any) -> dict[str, Any]:
    """The history the module docstring describes."""
    now = utcnow()
    pipeline = pipelines.create(ctx, PipelineIn(name="Eras", stages=STAGES))
    stage = {s.name: s.id for s in pipelines.stages_of(ctx, pipeline.id)}
    ada, ben = cast.ada.user_id, cast.ben.user_id

    def deal(title: str, amount: str, owner: Any) -> Deal:
        data = DealIn(title=title, amount=Decimal(amount), currency="EUR",
                      pipeline_id=pipeline.id, owner_id=owner)  # fmt: skip
        made = deals.create(ctx, data)
        deals.move_to_stage(ctx, made.id, stage["Proposal"])
        return made

    for i in range(10):
        old = deal(f"Old {i}", "100", ada)
        (deals.mark_won if i < 8 else deals.mark_lost)(ctx, old.id, reason="era")
        _retime(ctx, old, [2, 4, 0], now - (300 + i) * DAY)
        new = deal(f"New {i}", "100", ben)
        (deals.mark_won if i < 2 else deals.mark_lost)(ctx, new.id, reason="era")
        _retime(ctx, new, [10, 20, 0], now - (10 + i) * DAY)
    for title, amount, owner in (("O1", "1000", ada), ("O2", "500", ben)):
        _retime(ctx, deal(title, amount, owner), [1, 8], now - 8 * DAY)
    return {"pipeline": pipeline.id, "stage": stage, "ada": ada, "ben": ben, "now": now}


def proposal_rate(rows: list[forecast.StageForecast]) -> tuple[float, str, int]:
    (row,) = [r for r in rows if r.name == "Proposal"]
    return row.rate, row.rate_source, row.closed_history


class TestPeriodChangesTheFigures:
    def test_win_rate_size_and_cycle(self, ada_ctx: Context, eras: dict[str, Any]) -> None:
        since = eras["now"] - 90 * DAY
        everything = forecast.summary(ada_ctx, pipeline_id=eras["pipeline"])
        recent = forecast.summary(ada_ctx, pipeline_id=eras["pipeline"], since=since)
        old = forecast.summary(ada_ctx, pipeline_id=eras["pipeline"], until=since)
        assert (everything["won"], everything["lost"], everything["win_rate"]) == (10, 10, 0.5)
        assert (recent["won"], recent["lost"], recent["win_rate"]) == (2, 8, 0.2)
        assert (old["won"], old["lost"], old["win_rate"]) == (8, 2, 0.8)
        assert recent["average_cycle_days"] == pytest.approx(30)
        assert old["average_cycle_days"] == pytest.approx(6)

    def test_forecast_uses_the_conversion_of_the_period(
        self, ada_ctx: Context, eras: dict[str, Any]
    ) -> None:
        since = eras["now"] - 90 * DAY
        rows, totals = forecast.forecast(ada_ctx, pipeline_id=eras["pipeline"])
        assert proposal_rate(rows) == (0.5, "history", 20)
        assert totals["EUR"] == Decimal("750.00")  # 1500 open x 0.5
        rows, totals = forecast.forecast(ada_ctx, pipeline_id=eras["pipeline"], since=since)
        assert proposal_rate(rows) == (0.2, "history", 10)
        assert totals["EUR"] == Decimal("300.00")
        rows, totals = forecast.forecast(ada_ctx, pipeline_id=eras["pipeline"], until=since)
        assert proposal_rate(rows) == (0.8, "history", 10)
        assert totals["EUR"] == Decimal("1200.00")
        # a period with too little history falls back to the static probability
        week = eras["now"] - 7 * DAY
        rows, totals = forecast.forecast(ada_ctx, pipeline_id=eras["pipeline"], since=week)
        assert proposal_rate(rows) == (0.5, "static", 0)

    def test_funnel_counts_deals_that_entered_stages_in_the_period(
        self, ada_ctx: Context, eras: dict[str, Any]
    ) -> None:
        def entered(**period: Any) -> dict[str, int]:
            rows = forecast.funnel(ada_ctx, pipeline_id=eras["pipeline"], **period)
            return {r["name"]: r["entered"] for r in rows}

        since = eras["now"] - 90 * DAY
        assert entered() == {"Lead": 22, "Proposal": 22, "Won": 10}
        assert entered(since=since) == {"Lead": 12, "Proposal": 12, "Won": 2}
        assert entered(until=since) == {"Lead": 10, "Proposal": 10, "Won": 8}
        rows = forecast.funnel(ada_ctx, pipeline_id=eras["pipeline"], since=since)
        (proposal,) = [r for r in rows if r["name"] == "Proposal"]
        assert proposal["conversion_to_next"] == pytest.approx(2 / 12)

    def test_bottlenecks_compare_with_the_deals_closed_in_the_period(
        self, ada_ctx: Context, eras: dict[str, Any]
    ) -> None:
        def proposal(**period: Any) -> dict[str, Any]:
            rows = forecast.bottlenecks(ada_ctx, pipeline_id=eras["pipeline"], **period)
            return next(r for r in rows if r["name"] == "Proposal")

        since = eras["now"] - 90 * DAY
        old = proposal(until=since)  # they used to take 4 days: 8 days now is slow
        assert old["historical_median_days"] == pytest.approx(4)
        assert old["current_median_days"] == pytest.approx(8, abs=0.01)
        assert old["is_bottleneck"] is True
        recent = proposal(since=since)  # lately they take 20 days: 8 is fine
        assert recent["historical_median_days"] == pytest.approx(20)
        assert recent["is_bottleneck"] is False


class TestOwnerFilter:
    def test_every_figure_keeps_to_one_owner(self, ada_ctx: Context, eras: dict[str, Any]) -> None:
        ben = {"pipeline_id": eras["pipeline"], "owner_id": eras["ben"]}
        summary = forecast.summary(ada_ctx, **ben)
        assert (summary["won"], summary["lost"]) == (2, 8)
        rows, totals = forecast.forecast(ada_ctx, **ben)
        assert proposal_rate(rows) == (0.2, "history", 10)
        assert totals["EUR"] == Decimal("100.00")  # O2's 500 x 0.2
        assert {r["name"]: r["entered"] for r in forecast.funnel(ada_ctx, **ben)} == {
            "Lead": 11, "Proposal": 11, "Won": 2,
        }  # fmt: skip
        weighted = forecast.weighted_pipeline(ada_ctx, **ben)
        assert [(r["owner_id"], r["amount"]) for r in weighted] == [(eras["ben"], Decimal(500))]
        (proposal,) = [r for r in forecast.bottlenecks(ada_ctx, **ben) if r["name"] == "Proposal"]
        assert proposal["open_deals"] == 1
        assert proposal["historical_median_days"] == pytest.approx(20)


class TestEndpoints:
    def test_since_until_and_owner_reach_every_endpoint(
        self, api: TestClient, eras: dict[str, Any]
    ) -> None:
        since = (eras["now"] - 90 * DAY).isoformat()
        base = {"pipeline_id": str(eras["pipeline"])}
        summary = api.get("/api/v1/sales/summary", params=base | {"since": since}).json()
        assert (summary["won"], summary["lost"]) == (2, 8)
        old = api.get("/api/v1/sales/summary", params=base | {"until": since}).json()
        assert (old["won"], old["lost"]) == (8, 2)
        fc = api.get("/api/v1/sales/forecast", params=base | {"since": since}).json()
        assert Decimal(fc["totals"]["EUR"]) == Decimal("300.00")
        funnel = api.get("/api/v1/sales/funnel", params=base | {"since": since}).json()
        assert [r["entered"] for r in funnel] == [12, 12, 2]
        slow = api.get("/api/v1/sales/bottlenecks", params=base | {"until": since}).json()
        assert [r["is_bottleneck"] for r in slow if r["name"] == "Proposal"] == [True]
        ben = base | {"owner_id": str(eras["ben"])}
        assert api.get("/api/v1/sales/summary", params=ben).json()["won"] == 2
        weighted = api.get("/api/v1/sales/weighted-pipeline", params=ben).json()
        assert {r["owner_id"] for r in weighted} == {str(eras["ben"])}

    @pytest.mark.parametrize(
        "params",
        [{"since": "2025-13-45T00:00:00Z"}, {"until": "yesterday"},
         {"since": "2025-01-01T00:00:00"}, {"owner_id": "not-a-uuid"},
         {"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}],
    )  # fmt: skip
    @pytest.mark.parametrize("endpoint", ["summary", "forecast", "funnel", "bottlenecks"])
    def test_bad_periods_are_422(
        self, api: TestClient, endpoint: str, params: dict[str, str]
    ) -> None:
        response = api.get(f"/api/v1/sales/{endpoint}", params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
