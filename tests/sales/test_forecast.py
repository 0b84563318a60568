"""Forecast and pipeline analytics checked against figures computed by hand.

The fixture pipeline has Lead (10%), Proposal (50%), Won and Lost, and five EUR deals:
A 1000 Lead→Proposal→Won, B 500 Lead→Proposal→Lost, C 200 Lead→Lost,
D 400 open in Lead (closing 2027-01, Ada), E 800 open in Proposal (closing 2027-02, Ben).
Past stays in Lead took 2, 4, 6 (A, B, C) and 1 (E) days, median 3; in Proposal 10 and 20,
median 15. D has sat in Lead 12 days (4 times its history: a bottleneck), E in Proposal 5.
"""

from __future__ import annotations

from datetime import date, timedelta
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


def _retime(ctx: Context, deal: Deal, stays: list[float]) -> None:
    """Give a deal's stays these lengths in days, ending now; a closed deal closed now."""
    rows = list(
        ctx.session.scalars(
            select(DealStageHistory)
            .where(DealStageHistory.deal_id == deal.id)
            .order_by(DealStageHistory.entered_at)
        )
    )
    moment = utcnow() - timedelta(days=sum(stays))
    deal.created_at = moment
    for row, days in zip(rows, stays, strict=True):
        row.entered_at = moment
        moment = moment + timedelta(days=days)
        row.left_at = moment if row is not rows[-1] else None
    deal.stage_entered_at = rows[-1].entered_at
    if deal.closed_at is not None:
        deal.closed_at = rows[-1].entered_at
    ctx.session.flush()


@pytest.fixture
def history(ada_ctx: Context, cast: Any) -> dict[str, Any]:
    pipeline = pipelines.create(ada_ctx, PipelineIn(name="Forecast", stages=STAGES))
    stage = {s.name: s.id for s in pipelines.stages_of(ada_ctx, pipeline.id)}

    def deal(title: str, amount: str, **extra: Any) -> Deal:
        data = DealIn(title=title, amount=Decimal(amount), currency="EUR", pipeline_id=pipeline.id)
        return deals.create(ada_ctx, data.model_copy(update=extra))

    a, b, c = deal("A", "1000"), deal("B", "500"), deal("C", "200")
    d = deal("D", "400", expected_close_date=date(2027, 1, 15))
    e = deal("E", "800", expected_close_date=date(2027, 2, 10), owner_id=cast.ben.user_id)
    for x in (a, b, e):
        deals.move_to_stage(ada_ctx, x.id, stage["Proposal"])
    deals.mark_won(ada_ctx, a.id, reason="fit")
    deals.mark_lost(ada_ctx, b.id, reason="price")
    deals.mark_lost(ada_ctx, c.id, reason="timing")
    _retime(ada_ctx, a, [2, 10, 0])
    _retime(ada_ctx, b, [4, 20, 0])
    _retime(ada_ctx, c, [6, 0])
    _retime(ada_ctx, d, [12])
    _retime(ada_ctx, e, [1, 5])
    return {"pipeline": pipeline, "stage": stage, "ada": cast.ada.user_id, "ben": cast.ben.user_id}


class TestForecast:
    def test_historical_conversion_rates(self, ada_ctx: Context, history: dict[str, Any]) -> None:
        rates = forecast.stage_win_rates(ada_ctx)
        assert rates[history["stage"]["Lead"]] == (3, 1)
        assert rates[history["stage"]["Proposal"]] == (2, 1)

    def test_forecast_uses_history_when_there_is_enough(
        self, ada_ctx: Context, history: dict[str, Any]
    ) -> None:
        stages, totals = forecast.forecast(ada_ctx, min_history=2)
        by_name = {s.name: s for s in stages}
        assert by_name["Lead"].rate_source == "history"
        assert by_name["Lead"].forecast == Decimal("133.33")  # 400 x 1/3
        assert by_name["Proposal"].forecast == Decimal("400.00")  # 800 x 1/2
        assert totals == {"EUR": Decimal("533.33")}

    def test_forecast_falls_back_to_static_probability(
        self, ada_ctx: Context, history: dict[str, Any]
    ) -> None:
        stages, totals = forecast.forecast(ada_ctx, min_history=5)
        assert {s.rate_source for s in stages} == {"static"}
        assert totals == {"EUR": Decimal("440.00")}  # 400 x 10% + 800 x 50%

    def test_weighted_pipeline_by_month_and_owner(
        self, ada_ctx: Context, history: dict[str, Any]
    ) -> None:
        rows = forecast.weighted_pipeline(ada_ctx)
        assert [(r["month"], r["owner_id"], r["amount"], r["weighted"]) for r in rows] == [
            ("2027-01", history["ada"], Decimal("400.00"), Decimal("40.00")),
            ("2027-02", history["ben"], Decimal("800.00"), Decimal("400.00")),
        ]


class TestAnalytics:
    def test_win_rate_size_and_cycle(self, ada_ctx: Context, history: dict[str, Any]) -> None:
        figures = forecast.summary(ada_ctx)
        assert (figures["won"], figures["lost"]) == (1, 2)
        assert figures["win_rate"] == pytest.approx(1 / 3)
        assert figures["average_won_amount"] == {"EUR": Decimal("1000.00")}
        assert figures["average_cycle_days"] == pytest.approx(12, abs=1e-3)

    def test_funnel(self, ada_ctx: Context, history: dict[str, Any]) -> None:
        rows = forecast.funnel(ada_ctx, pipeline_id=history["pipeline"].id)
        assert [(r["name"], r["entered"]) for r in rows] == [
            ("Lead", 5), ("Proposal", 3), ("Won", 1)
        ]  # fmt: skip
        assert rows[0]["conversion_to_next"] == pytest.approx(0.6)
        assert rows[1]["conversion_to_next"] == pytest.approx(1 / 3)
        assert rows[2]["conversion_to_next"] is None

    def test_bottlenecks(self, ada_ctx: Context, history: dict[str, Any]) -> None:
        rows = {r["name"]: r for r in forecast.bottlenecks(ada_ctx, factor=2)}
        lead, proposal = rows["Lead"], rows["Proposal"]
        assert lead["historical_median_days"] == pytest.approx(3, abs=1e-3)
        assert lead["current_median_days"] == pytest.approx(12, abs=1e-2)
        assert lead["is_bottleneck"] and lead["open_deals"] == 1
        assert proposal["historical_median_days"] == pytest.approx(15, abs=1e-3)
        assert proposal["current_median_days"] == pytest.approx(5, abs=1e-2)
        assert not proposal["is_bottleneck"]


class TestEndpoints:
    def test_each_figure_has_an_endpoint(self, api: TestClient, history: dict[str, Any]) -> None:
        pid = str(history["pipeline"].id)
        body = api.get("/api/v1/sales/forecast", params={"min_history": 2}).json()
        assert body["totals"] == {"EUR": "533.33"}
        assert api.get("/api/v1/sales/summary").json()["won"] == 1
        funnel = api.get("/api/v1/sales/funnel", params={"pipeline_id": pid}).json()
        assert [r["entered"] for r in funnel] == [5, 3, 1]
        weighted = api.get("/api/v1/sales/weighted-pipeline").json()
        assert [r["weighted"] for r in weighted] == ["40.00", "400.00"]
        bottlenecks = api.get("/api/v1/sales/bottlenecks", params={"pipeline_id": pid}).json()
        assert [r["is_bottleneck"] for r in bottlenecks] == [True, False]

    def test_other_workspace_sees_nothing(self, api_as: Any, history: dict[str, Any]) -> None:
        dev = api_as("dev")
        assert dev.get("/api/v1/sales/forecast").json() == {"stages": [], "totals": {}}
        assert dev.get("/api/v1/sales/summary").json()["won"] == 0
        pid = str(history["pipeline"].id)
        assert dev.get("/api/v1/sales/funnel", params={"pipeline_id": pid}).status_code == 404
