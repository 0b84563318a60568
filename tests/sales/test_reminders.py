"""Reminder rules, run at a given ``now``: follow-ups on quiet open deals (per workspace and per
pipeline, never two open at once) and the first-touch SLA of routed leads (once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.hub.models import ActivityKind, Direction
from rapport.hub.schemas import ActivityIn
from rapport.hub.service import timeline
from rapport.sales import jobs
from rapport.sales.service.reminders import check_first_touch_sla, create_follow_up_reminders
from tests.conftest import Cast
from tests.sales.factories import make_deal, make_pipeline

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def tasks_of(api: TestClient, **params: Any) -> list[dict[str, Any]]:
    return list(api.get("/api/v1/tasks", params={"limit": 500, **params}).json()["items"])


def log(ctx: Context, when: datetime, direction: Direction, **links: Any) -> None:
    timeline.log(
        ctx,
        ActivityIn(kind=ActivityKind.CALL, direction=direction, occurred_at=when, **links),
    )
    ctx.session.flush()


class TestFollowUp:
    def test_a_quiet_open_deal_gets_one_task_for_its_owner(
        self, api: TestClient, ada_ctx: Context, cast: Cast
    ) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline, title="Quiet deal", owner_id=str(cast.ben.user_id))
        assert create_follow_up_reminders(ada_ctx, NOW + 13 * DAY) == 0  # not quiet long enough
        assert create_follow_up_reminders(ada_ctx, NOW + 15 * DAY) == 1
        assert create_follow_up_reminders(ada_ctx, NOW + 16 * DAY) == 0  # one is open already
        (made,) = tasks_of(api, deal_id=deal["id"])
        assert made["title"] == "Follow up: Quiet deal"
        assert made["assignee_id"] == str(cast.ben.user_id)
        assert made["source"] == "follow_up" and not made["done"]
        assert "No activity on this open deal for 15 days" in made["notes"]

    def test_after_the_task_is_done_it_may_remind_again_later(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        deal = make_deal(api, make_pipeline(api))
        create_follow_up_reminders(ada_ctx, NOW + 15 * DAY)
        (made,) = tasks_of(api, deal_id=deal["id"])
        api.patch(f"/api/v1/tasks/{made['id']}", json={"done": True})
        # ticked done now: that is activity, so 15 quiet days count from today again
        assert create_follow_up_reminders(ada_ctx, NOW + 10 * DAY) == 0
        assert create_follow_up_reminders(ada_ctx, NOW + 16 * DAY) == 1
        assert len(tasks_of(api, deal_id=deal["id"], status="open")) == 1

    def test_timeline_activity_on_the_deals_person_resets_the_clock(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        person = api.post("/api/v1/people", json={"first_name": "Pia"}).json()
        make_deal(api, make_pipeline(api), person_id=person["id"])
        log(ada_ctx, NOW + 10 * DAY, Direction.INBOUND, person_id=person["id"])
        assert create_follow_up_reminders(ada_ctx, NOW + 20 * DAY) == 0
        assert create_follow_up_reminders(ada_ctx, NOW + 25 * DAY) == 1

    def test_closed_and_ownerless_deals_are_left_alone(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        pipeline = make_pipeline(api)
        won = make_deal(api, pipeline)
        api.post(f"/api/v1/deals/{won['id']}/won", json={})
        ownerless = make_deal(api, pipeline)
        api.patch(f"/api/v1/deals/{ownerless['id']}", json={"owner_id": None})
        assert create_follow_up_reminders(ada_ctx, NOW + 30 * DAY) == 0

    def test_days_per_pipeline_and_switching_off(self, api: TestClient, ada_ctx: Context) -> None:
        fast, slow = make_pipeline(api, name="Fast"), make_pipeline(api, name="Slow")
        fast_deal = make_deal(api, fast)
        make_deal(api, slow)
        response = api.patch("/api/v1/sales/settings",
                             json={"follow_up_days_by_pipeline": {fast["id"]: 3}})  # fmt: skip
        assert response.status_code == 200, response.text
        assert create_follow_up_reminders(ada_ctx, NOW + 4 * DAY) == 1
        assert [t["deal_id"] for t in tasks_of(api)] == [fast_deal["id"]]
        api.patch("/api/v1/sales/settings",
                  json={"follow_up_days": None, "follow_up_days_by_pipeline": {}})  # fmt: skip
        assert create_follow_up_reminders(ada_ctx, NOW + 60 * DAY) == 0

    def test_bad_settings_are_422(self, api: TestClient) -> None:
        for body in ({"follow_up_days": 0}, {"first_touch_sla_hours": -1},
                     {"follow_up_days_by_pipeline": {"not-a-uuid": 3}}):  # fmt: skip
            assert api.patch("/api/v1/sales/settings", json=body).status_code == 422
        assert api.get("/api/v1/sales/settings").json()["follow_up_days"] == 14


def _routed_lead(api: TestClient, cast: Cast) -> str:
    team = api.post("/api/v1/teams", json={"name": "SLA", "member_ids": [str(cast.ben.user_id)]})
    rule = {"name": "Inbound", "kind": "round_robin", "team_id": team.json()["id"]}
    assert api.post("/api/v1/routing/rules", json=rule).status_code == 201
    lead = api.post("/api/v1/leads", json={"email": "sla@lead.example.org", "first_name": "Sam"})
    return str(lead.json()["person_id"])


class TestFirstTouchSla:
    def test_an_untouched_lead_reminds_its_owner_once(
        self, api: TestClient, ada_ctx: Context, cast: Cast
    ) -> None:
        person_id = _routed_lead(api, cast)
        assert check_first_touch_sla(ada_ctx, NOW + 23 * timedelta(hours=1)) == 0
        assert check_first_touch_sla(ada_ctx, NOW + 25 * timedelta(hours=1)) == 1
        assert check_first_touch_sla(ada_ctx, NOW + 50 * timedelta(hours=1)) == 0
        (made,) = tasks_of(api, person_id=person_id)
        assert made["title"].startswith("First touch overdue: Sam")
        assert made["assignee_id"] == str(cast.ben.user_id)
        assert (made["priority"], made["source"]) == ("high", "sla")
        (assignment,) = api.get(f"/api/v1/people/{person_id}/assignments").json()
        assert assignment["sla_reminded_at"] is not None

    def test_an_outbound_touch_in_time_means_no_reminder(
        self, api: TestClient, ada_ctx: Context, cast: Cast
    ) -> None:
        person_id = _routed_lead(api, cast)
        log(ada_ctx, NOW + timedelta(hours=2), Direction.OUTBOUND, person_id=person_id)
        assert check_first_touch_sla(ada_ctx, NOW + 25 * timedelta(hours=1)) == 0
        assert tasks_of(api, person_id=person_id) == []
        (assignment,) = api.get(f"/api/v1/people/{person_id}/assignments").json()
        assert assignment["first_touched_at"] is not None

    def test_an_inbound_message_is_not_a_touch(
        self, api: TestClient, ada_ctx: Context, cast: Cast
    ) -> None:
        person_id = _routed_lead(api, cast)
        log(ada_ctx, NOW + timedelta(hours=2), Direction.INBOUND, person_id=person_id)
        assert check_first_touch_sla(ada_ctx, NOW + 25 * timedelta(hours=1)) == 1

    def test_the_job_runs_every_workspace(self, api: TestClient, cast: Cast) -> None:
        _routed_lead(api, cast)
        make_deal(api, make_pipeline(api))
        run = jobs.run_reminders(NOW + 15 * DAY)
        assert run.workspaces >= 2  # other tests may have committed workspaces of their own
        assert run.follow_ups >= 1 and run.sla_reminders >= 1
        assert sorted(t["source"] for t in tasks_of(api)) == ["follow_up", "sla"]
        jobs.run_reminders(NOW + 16 * DAY)
        assert len(tasks_of(api)) == 2


class TestDealTimelineActivity:
    def test_an_activity_linked_to_the_deal_suppresses_the_reminder(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        # no person, no company: only the deal's own timeline can say it is not quiet
        deal = make_deal(api, make_pipeline(api), title="Linked deal")
        log(ada_ctx, NOW + 10 * DAY, Direction.OUTBOUND, deal_id=deal["id"])
        assert create_follow_up_reminders(ada_ctx, NOW + 20 * DAY) == 0
        assert tasks_of(api, deal_id=deal["id"]) == []
        assert create_follow_up_reminders(ada_ctx, NOW + 25 * DAY) == 1
