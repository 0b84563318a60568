"""Exporting a list takes the view as shown (issue 14): its filters, its search text and its
sort, for people, companies, deals and tasks; through the app and through a real server
process, where a bulk action on all matching deals is also posted from a signed-in browser."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi.testclient import TestClient

from tests.live import Server, new_workspace, signed_in_browser
from tests.sales.factories import make_deal, make_pipeline, stage_id
from tests.web.conftest import csrf_from
from tests.web.test_bulk_pages import add_company
from tests.web.test_people import add


def export_link(html: str, fmt: str = "csv") -> str:
    match = re.search(rf'href="(/api/v1/exports/[a-z]+\.{fmt}[^"]*)"', html)
    assert match, html[:2000]
    return match.group(1).replace("&amp;", "&")


def column(body: str, name: str) -> list[str]:
    return [row[name] for row in csv.DictReader(io.StringIO(body))]


class TestDeals:
    def test_the_export_keeps_the_lists_sort(self, signed_in: TestClient, api: TestClient) -> None:
        pipe = make_pipeline(api)
        for title, amount in (("Middle", "500"), ("Largest", "900"), ("Smallest", "100")):
            make_deal(api, pipe, title=title, amount=amount)
        html = signed_in.get("/deals/list?sort=-amount").text
        link = export_link(html)
        assert dict(parse_qsl(link.split("?", 1)[1]))["sort"] == "-amount"
        body = signed_in.get(link).text
        assert column(body, "title") == ["Largest", "Middle", "Smallest"]
        ascending = signed_in.get(export_link(signed_in.get("/deals/list?sort=title").text)).text
        assert column(ascending, "title") == ["Largest", "Middle", "Smallest"]
        by_close = signed_in.get(export_link(signed_in.get("/deals/list?sort=amount").text)).text
        assert column(by_close, "title") == ["Smallest", "Middle", "Largest"]

    def test_the_export_keeps_the_search_and_filters(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        pipe = make_pipeline(api)
        make_deal(api, pipe, title="Zephyr expansion")
        make_deal(api, pipe, title="Acme renewal")
        won = make_deal(api, pipe, title="Zephyr pilot")
        assert api.post(f"/api/v1/deals/{won['id']}/won", json={}).status_code == 200
        html = signed_in.get("/deals/list?q=Zephyr&status=open").text
        assert "Zephyr expansion" in html and "Acme renewal" not in html
        assert "without the search text" not in html
        body = signed_in.get(export_link(html, "jsonl")).text
        assert "Zephyr expansion" in body
        assert "Acme renewal" not in body and "Zephyr pilot" not in body


class TestPeopleAndCompanies:
    def test_people_in_the_lists_order_and_search(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        for first in ("Bea", "Cal", "Abe"):
            add(api, first, "Order", email=f"{first.lower()}@example.com")
        body = signed_in.get(export_link(signed_in.get("/people?sort=-email").text)).text
        assert column(body, "first_name") == ["Cal", "Bea", "Abe"]
        searched = signed_in.get(export_link(signed_in.get("/people?q=Cal").text, "vcf")).text
        assert "Cal Order" in searched and "Bea" not in searched

    def test_companies_in_the_lists_order(self, signed_in: TestClient, api: TestClient) -> None:
        for name in ("Beta", "Gamma", "Alpha"):
            add_company(api, name)
        body = signed_in.get(export_link(signed_in.get("/companies?sort=-name").text)).text
        assert column(body, "name") == ["Gamma", "Beta", "Alpha"]


class TestTasks:
    def test_the_team_view_exports_in_due_order_and_done_by_when_done(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        now = datetime.now(UTC)
        made = {}
        for title, days in (("Later", 5), ("Soon", 1), ("Middle", 3)):
            due = (now + timedelta(days=days)).isoformat()
            response = api.post("/api/v1/tasks", json={"title": title, "due_at": due})
            made[title] = response.json()
        body = signed_in.get(export_link(signed_in.get("/tasks?view=team").text)).text
        assert column(body, "title") == ["Soon", "Middle", "Later"]
        for title in ("Middle", "Soon"):  # Soon is done last, so it comes first
            api.patch(f"/api/v1/tasks/{made[title]['id']}", json={"done": True})
        body = signed_in.get(export_link(signed_in.get("/tasks?view=done").text)).text
        assert column(body, "title") == ["Soon", "Middle"]


def _deal_titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return column(response.text, "title")


def test_a_real_server_moves_all_matching_deals_and_exports_the_view(
    live_server: Server,
) -> None:
    email, headers = new_workspace(live_server, "bulk")
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as api:
        pipe = make_pipeline(api)
        amounts = [str(100 + i) for i in range(60)]  # more than the page of 50
        made: list[dict[str, Any]] = [
            make_deal(api, pipe, title=f"Nimbus {i:02}", amount=a) for i, a in enumerate(amounts)
        ]
        make_deal(api, pipe, title="Other deal", amount="1")
        with signed_in_browser(live_server, email, csrf_from) as browser:
            page = browser.get("/deals/list", params={"q": "Nimbus", "sort": "-amount"})
            assert "Select all 60 matching" in page.text
            moved = browser.post("/deals/bulk", data={
                "csrf_token": csrf_from(page.text), "action": "stage",
                "stage_id": stage_id(pipe, "Proposal"), "scope": "all",
                "scope_query": "q=Nimbus&sort=-amount", "next": "/deals/list?q=Nimbus",
            })  # fmt: skip
            assert moved.status_code == 303 and moved.headers["location"] == "/deals/list?q=Nimbus"
            listed = browser.get("/deals/list", params={"sort": "-amount"})
            exported = browser.get(export_link(listed.text))
        in_proposal = api.get("/api/v1/deals", params={"stage_id": stage_id(pipe, "Proposal"),
                                                       "limit": 100}).json()["items"]  # fmt: skip
        assert sorted(d["id"] for d in in_proposal) == sorted(d["id"] for d in made)
        titles = _deal_titles(exported)
        assert titles[:3] == ["Nimbus 59", "Nimbus 58", "Nimbus 57"] and len(titles) == 61
