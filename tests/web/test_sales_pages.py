"""The sales pages without a browser: the dashboard (data, filters, empty state, escaping),
My tasks (groups, tick with HTMX and without, who may tick), a deal's tasks panel, and the
deal list (sort, filters, pages)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.core.db import Database
from tests.conftest import Cast
from tests.sales.factories import make_deal, make_pipeline, stage_id
from tests.sales.test_analytics_period import make_eras
from tests.web.conftest import csrf_from, sign_in
from tests.web.test_auth import give_password

HTMX = {"HX-Request": "true"}
NOW = datetime.now(UTC)


def chart_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="sales-data">(.*?)</script>', html, re.S)
    assert match, "the dashboard carries no chart data"
    return dict(json.loads(match.group(1)))


def task(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/tasks", json={"title": "Call back", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def eras(ada_ctx: Context, cast: Cast) -> dict[str, Any]:
    """Two eras of history that disagree (see tests/sales/test_analytics_period.py)."""
    return make_eras(ada_ctx, cast)


class TestDashboard:
    def test_empty_state_without_deals(self, signed_in: TestClient, api: TestClient) -> None:
        make_pipeline(api, name="Empty", is_default=True)
        html = signed_in.get("/sales").text
        assert "No deals in Empty yet" in html
        assert "<canvas" not in html and 'id="sales-data"' not in html

    def test_charts_and_figures(self, signed_in: TestClient, api: TestClient, cast: Cast) -> None:
        pipeline = make_pipeline(api, name="Dash", currency="EUR", is_default=True)
        make_deal(api, pipeline, title="Open A", amount="1000", expected_close_date="2031-03-10")
        ben, proposal = str(cast.ben.user_id), stage_id(pipeline, "Proposal")
        make_deal(api, pipeline, title="Open B", amount="3000", expected_close_date="2031-04-02",
                  owner_id=ben, stage_id=proposal)  # fmt: skip
        won = make_deal(api, pipeline, title="Won", amount="500")
        lost = make_deal(api, pipeline, title="Lost", amount="700")
        api.post(f"/api/v1/deals/{won['id']}/won", json={})
        api.post(f"/api/v1/deals/{lost['id']}/lost", json={"reason": "price"})
        response = signed_in.get("/sales")
        assert response.status_code == 200
        html = response.text
        for chart in ("weighted", "forecast", "winrate", "funnel", "bottlenecks"):
            assert f'id="chart-{chart}"' in html
        assert "chart.umd.min.js" in html and "sales.js" in html
        data = chart_data(html)
        assert data["currency"] == "EUR"
        assert data["weighted"]["labels"] == ["2031-03", "2031-04"]
        by_owner = {d["label"]: d["data"] for d in data["weighted"]["datasets"]}
        assert by_owner == {"Ada": [100.0, 0.0], "Ben": [0.0, 1500.0]}  # 10% and 50%
        assert data["weighted_total"] == 1600.0
        assert data["summary"] == {"won": 1, "lost": 1, "win_rate": 0.5, "average": 500.0,
                                   "cycle_days": data["summary"]["cycle_days"]}  # fmt: skip
        assert [r["stage"] for r in data["funnel"]] == ["Lead", "Proposal", "Won"]
        assert [r["entered"] for r in data["funnel"]] == [3, 1, 1]
        lead = next(r for r in data["forecast"] if r["stage"] == "Lead")
        assert (lead["static"], lead["history"], lead["used"]) == (100.0, 500.0, "static")
        assert 'data-kpi="win-rate">50%' in html
        assert "1,600 EUR" in html

    def test_pipeline_filter(self, signed_in: TestClient, api: TestClient) -> None:
        first = make_pipeline(api, name="First", currency="EUR", is_default=True)
        second = make_pipeline(api, name="Second", currency="USD")
        make_deal(api, first, amount="100")
        make_deal(api, second, amount="200", currency="USD")
        html = signed_in.get("/sales", params={"pipeline": second["id"]}).text
        assert chart_data(html)["currency"] == "USD"
        assert f'<option value="{second["id"]}" selected>' in html
        # an unknown pipeline or period falls back to the defaults
        fallback = signed_in.get("/sales", params={"pipeline": "nope", "period": "x"}).text
        assert chart_data(fallback)["currency"] == "EUR"
        assert '<option value="365" selected>' in fallback

    def test_owner_and_period_filter_every_panel(
        self, signed_in: TestClient, api: TestClient, cast: Cast, eras: dict[str, Any]
    ) -> None:
        ben = str(cast.ben.user_id)
        params = {"pipeline": str(eras["pipeline"]), "period": "all"}
        everyone = chart_data(signed_in.get("/sales", params=params).text)
        assert everyone["summary"]["won"] == 10 and everyone["forecast_total"] == 750.0
        html = signed_in.get("/sales", params=params | {"owner": ben}).text
        assert f'<option value="{ben}" selected>Ben</option>' in html
        only_ben = chart_data(html)
        assert (only_ben["summary"]["won"], only_ben["summary"]["lost"]) == (2, 8)
        assert only_ben["forecast_total"] == 100.0  # O2's 500 at Ben's 20%
        assert [d["label"] for d in only_ben["weighted"]["datasets"]] == ["Ben"]
        assert [r["entered"] for r in only_ben["funnel"]] == [11, 11, 2]
        recent = chart_data(signed_in.get("/sales", params=params | {"period": "90"}).text)
        assert (recent["summary"]["won"], recent["summary"]["lost"]) == (2, 8)
        assert [r["entered"] for r in recent["funnel"]] == [12, 12, 2]
        assert recent["forecast_total"] == 300.0
        proposal = next(r for r in recent["bottlenecks"] if r["stage"] == "Proposal")
        assert proposal["historical"] == 20.0
        # an unknown owner means everyone
        unknown = signed_in.get("/sales", params=params | {"owner": "nobody"}).text
        assert chart_data(unknown)["summary"]["won"] == 10

    def test_names_cannot_break_out_of_the_json_block(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        evil = "</script><script>alert(1)</script>"
        stages = [{"name": evil, "probability": 20}, {"name": "Won", "is_won": True}]
        pipeline = make_pipeline(api, name="Evil", is_default=True, stages=stages)
        make_deal(api, pipeline)
        html = signed_in.get("/sales").text
        assert "<script>alert(1)" not in html
        assert chart_data(html)["funnel"][0]["stage"] == evil

    def test_tasks_and_duplicates_have_their_own_nav_icons(self, signed_in: TestClient) -> None:
        html = signed_in.get("/tasks").text

        def nav_icon(href: str) -> str:
            start = html.index(f'href="{href}"')
            return html[html.index("<svg", start) : html.index("</svg>", start)]

        assert nav_icon("/tasks") != nav_icon("/duplicates")

    def test_the_nav_has_sales_and_tasks(self, signed_in: TestClient) -> None:
        html = signed_in.get("/tasks").text
        assert 'href="/sales"' in html and 'href="/tasks" aria-current="page"' in html


class TestMyTasks:
    def test_groups_overdue_today_upcoming_and_no_date(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        task(api, title="Late one", due_at=(NOW - timedelta(days=1)).isoformat())
        task(api, title="Far one", due_at=(NOW + timedelta(days=5)).isoformat())
        task(api, title="Whenever")
        task(api, title="Not mine", assignee_id=str(cast.ben.user_id))
        html = signed_in.get("/tasks", params={"tz": "UTC"}).text
        groups = re.findall(r'data-group="([^"]+)"', html)
        assert groups == ["Overdue", "Upcoming", "No date"]
        overdue = html[html.index('data-group="Overdue"') : html.index('data-group="Upcoming"')]
        assert "Late one" in overdue and "is-overdue" in overdue
        assert "Not mine" not in html

    def test_today_is_the_readers_today(self, signed_in: TestClient, api: TestClient) -> None:
        # a zone where it is around noon now, so that in half an hour it is still today there
        now = datetime.now(UTC)
        shift = 12 - now.hour
        zone = f"Etc/GMT{-shift:+d}"  # POSIX sign: Etc/GMT-5 is five hours ahead of UTC
        task(api, title="Soon", due_at=(now + timedelta(minutes=30)).isoformat())
        html = signed_in.get("/tasks", params={"tz": zone}).text
        assert re.findall(r'data-group="([^"]+)"', html) == ["Today"]

    def test_tick_done_with_htmx_returns_the_row(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        made = task(api, title="Tick me")
        token = csrf_from(signed_in.get("/tasks").text)
        response = signed_in.post(
            f"/tasks/{made['id']}/toggle",
            data={"csrf_token": token, "done": "true", "version": 1},
            headers=HTMX,
        )
        assert response.status_code == 200
        assert "<html" not in response.text
        assert 'class="task-row is-done"' in response.text and "done." in response.text
        assert api.get(f"/api/v1/tasks/{made['id']}").json()["done"] is True
        again = signed_in.post(f"/tasks/{made['id']}/toggle",
                               data={"csrf_token": token, "done": "false"})  # fmt: skip
        assert again.status_code == 303
        assert api.get(f"/api/v1/tasks/{made['id']}").json()["done"] is False

    def test_a_member_cannot_tick_someone_elses_task(
        self, browser: TestClient, database: Database, api: TestClient, cast: Cast
    ) -> None:
        made = task(api, title="Ada's own")
        give_password(database, cast.ben.user_id)
        ben = sign_in(browser, cast.ben.email)
        token = csrf_from(ben.get("/tasks").text)
        response = ben.post(f"/tasks/{made['id']}/toggle",
                            data={"csrf_token": token, "done": "true"}, headers=HTMX)  # fmt: skip
        assert response.status_code == 200
        assert "Only the assignee" in response.text
        assert api.get(f"/api/v1/tasks/{made['id']}").json()["done"] is False

    def test_add_a_task_in_the_readers_zone(self, signed_in: TestClient, api: TestClient) -> None:
        token = csrf_from(signed_in.get("/tasks").text)
        response = signed_in.post("/tasks/new", data={
            "csrf_token": token, "title": "Send proposal", "due_date": "2031-05-04",
            "due_time": "09:30", "tz": "Europe/Berlin", "priority": "high",
        })  # fmt: skip
        assert response.status_code == 303 and response.headers["location"] == "/tasks"
        (made,) = api.get("/api/v1/tasks").json()["items"]
        assert made["title"] == "Send proposal" and made["priority"] == "high"
        assert made["due_at"].startswith("2031-05-04T07:30:00")  # 09:30 in Berlin, in UTC

    def test_bad_input_adds_nothing(self, signed_in: TestClient, api: TestClient) -> None:
        token = csrf_from(signed_in.get("/tasks").text)
        for data in ({"title": "", "due_date": ""}, {"title": "x", "due_date": "05/04/2031"},
                     {"title": "x", "priority": "urgent"}):  # fmt: skip
            response = signed_in.post("/tasks/new", data={"csrf_token": token, **data})
            assert response.status_code == 303
        assert api.get("/api/v1/tasks").json()["items"] == []
        assert "was not added" in signed_in.get("/tasks").text


class TestDealTasksPanel:
    def test_the_deal_page_loads_its_panel(self, signed_in: TestClient, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        task(api, title="Prepare demo", deal_id=deal["id"])
        task(api, title="Elsewhere")
        page = signed_in.get(f"/deals/{deal['id']}").text
        assert f'hx-get="/deals/{deal["id"]}/tasks"' in page
        panel = signed_in.get(f"/deals/{deal['id']}/tasks", headers=HTMX).text
        assert "Prepare demo" in panel and "Elsewhere" not in panel
        assert f'name="deal_id" value="{deal["id"]}"' in panel

    def test_adding_from_the_panel_links_the_deal(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        deal = make_deal(api, make_pipeline(api))
        token = csrf_from(signed_in.get(f"/deals/{deal['id']}").text)
        response = signed_in.post("/tasks/new", data={
            "csrf_token": token, "title": "Next step", "deal_id": deal["id"],
            "back": f"/deals/{deal['id']}",
        })  # fmt: skip
        assert response.headers["location"] == f"/deals/{deal['id']}"
        assert [t["title"] for t in api.get("/api/v1/tasks", params={"deal_id": deal["id"]})
                .json()["items"]] == ["Next step"]  # fmt: skip


class TestDealList:
    def test_sort_filter_and_pages(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        pipeline = make_pipeline(api, name="Listed")
        for i in range(52):
            make_deal(api, pipeline, title=f"Deal {i:02}", amount=str(100 + i))
        make_deal(api, pipeline, title="Ben big", amount="9999", owner_id=str(cast.ben.user_id))
        html = signed_in.get("/deals/list", params={"pipeline": pipeline["id"],
                                                    "sort": "-amount"}).text  # fmt: skip
        titles = re.findall(r'<a href="/deals/[0-9a-f-]{36}">([^<]+)</a></td>', html)
        assert titles[:3] == ["Ben big", "Deal 51", "Deal 50"] and len(titles) == 50
        more = re.search(r'hx-get="(/deals/list\?[^"]*cursor=[^"]+)"', html)
        assert more, "the first page links to the next"
        rest = signed_in.get(more.group(1).replace("&amp;", "&"), headers=HTMX).text
        assert re.findall(r'<a href="/deals/[0-9a-f-]{36}">([^<]+)</a></td>', rest) == [
            "Deal 02", "Deal 01", "Deal 00"
        ]  # fmt: skip
        mine = signed_in.get("/deals/list", params={"owner": str(cast.ben.user_id)}).text
        assert "Ben big" in mine and "Deal 00" not in mine
        won = api.get("/api/v1/deals", params={"title": "Deal 07"}).json()["items"][0]
        api.post(f"/api/v1/deals/{won['id']}/won", json={})
        only_won = signed_in.get("/deals/list", params={"status": "won"}).text
        assert "Deal 07" in only_won and "Deal 08" not in only_won

    def test_bad_parameters_fall_back(self, signed_in: TestClient, api: TestClient) -> None:
        make_deal(api, make_pipeline(api))
        response = signed_in.get("/deals/list", params={"sort": "nonsense", "status": "maybe",
                                                        "owner": "x", "stage": "y"})  # fmt: skip
        assert response.status_code == 200
        assert 'aria-sort="descending"' in response.text  # created_at, newest first

    def test_board_and_list_link_to_each_other(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        make_deal(api, make_pipeline(api, is_default=True))
        assert 'href="/deals/list' in signed_in.get("/deals").text
        assert 'href="/deals' in signed_in.get("/deals/list").text


class TestDealTimelinePage:
    def test_a_logged_activity_shows_on_the_deal_and_its_persons_timeline(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        person = api.post("/api/v1/people", json={"first_name": "Tess", "last_name": "Ting"}).json()
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline, title="Timeline deal", person_id=person["id"])
        api.post(
            f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stage_id(pipeline, "Proposal")}
        )
        url = f"/deals/{deal['id']}"
        page = signed_in.get(url).text
        assert "Nothing here yet" not in page  # the stage changes are there already
        assert "Entered Proposal" in page and "Entered Lead" in page
        assert 'href="/people/' + person["id"] + '">Tess Ting</a>' in page
        data = {"csrf_token": csrf_from(page), "kind": "meeting", "subject": "Demo <b>day</b>",
                "body": "Showed the roadmap"}  # fmt: skip
        response = signed_in.post(f"{url}/activities", data=data, headers=HTMX)
        assert response.status_code == 200
        fragment = response.text
        assert fragment.lstrip().startswith('<section id="deal-timeline"')
        assert "Demo &lt;b&gt;day&lt;/b&gt;" in fragment and "Showed the roadmap" in fragment
        # newest first: the meeting, then the stage changes
        assert fragment.index("Demo &lt;b&gt;") < fragment.index("Entered Proposal")
        assert fragment.index("Entered Proposal") < fragment.index("Entered Lead")
        (logged,) = api.get(f"/api/v1/deals/{deal['id']}/timeline").json()["items"]
        assert (logged["kind"], logged["person_id"]) == ("meeting", person["id"])
        assert "Demo &lt;b&gt;day&lt;/b&gt;" in signed_in.get(url).text
        assert "Demo &lt;b&gt;day&lt;/b&gt;" in signed_in.get(f"/people/{person['id']}").text

    def test_without_htmx_it_redirects_back_and_a_bad_kind_logs_nothing(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        deal = make_deal(api, make_pipeline(api), title="Plain deal")
        url = f"/deals/{deal['id']}"
        token = csrf_from(signed_in.get(url).text)
        response = signed_in.post(
            f"{url}/activities", data={"csrf_token": token, "kind": "note", "subject": "Plain"}
        )
        assert response.status_code == 303 and response.headers["location"] == url
        assert "Plain" in signed_in.get(url).text
        bad = signed_in.post(
            f"{url}/activities", data={"csrf_token": token, "kind": "purchase"}, headers=HTMX
        )
        assert bad.status_code == 422
        assert len(api.get(f"/api/v1/deals/{deal['id']}/timeline").json()["items"]) == 1

    def test_older_activity_comes_page_by_page(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        deal = make_deal(api, make_pipeline(api), title="Busy deal")
        start = NOW - timedelta(days=100)
        items = [
            {"kind": "note", "deal_id": deal["id"], "subject": f"note-{i:02d}",
             "occurred_at": (start + timedelta(days=i)).isoformat()}
            for i in range(35)
        ]  # fmt: skip
        assert api.post("/api/v1/activities/bulk", json={"items": items}).json()["created"] == 35
        page = signed_in.get(f"/deals/{deal['id']}").text
        assert "note-34" in page and "note-05" in page and "note-04" not in page
        more = re.search(r'hx-get="(/deals/[^"]+part=more[^"]+)"', page)
        assert more
        rest = signed_in.get(more.group(1).replace("&amp;", "&"), headers=HTMX).text
        assert "note-04" in rest and "note-00" in rest and "note-05" not in rest
        # the deal was created now: its stage entry sits on the first page, not the second
        assert "Entered Lead" in page and "Entered Lead" not in rest

    def test_read_only_sees_the_timeline_but_no_log_form(
        self, signed_in_as: Any, api: TestClient
    ) -> None:
        deal = make_deal(api, make_pipeline(api), title="Watched deal")
        api.post(
            "/api/v1/activities",
            json={"kind": "call", "deal_id": deal["id"], "subject": "Checked in by phone"},
        )
        html = signed_in_as("cleo").get(f"/deals/{deal['id']}").text
        assert (
            "Checked in by phone" in html and f'action="/deals/{deal["id"]}/activities"' not in html
        )
