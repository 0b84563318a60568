"""The lists of people, companies, deals and tasks (issue 14, item 3): a capped count that
follows the filters, a sort on every column shown (or a column that says it cannot sort),
select all matching (a bulk action on the whole filter, capped, all or nothing, undoable),
infinite scroll, export of the current view and the Import button; and the task list's views,
filters, count after a tick and record picker."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from rapport.core import listing
from rapport.core.db import get_database
from rapport.hub.service import bulk_actions
from rapport.hub.views import people as people_views
from rapport.sales.views import task_list
from tests.conftest import Cast
from tests.web.conftest import csrf_from
from tests.web.test_bulk_pages import UNDO, add_company, flash_text
from tests.web.test_people import add

HTMX = {"HX-Request": "true"}


def count_of(html: str, list_id: str) -> str:
    match = re.search(rf'id="{list_id}-count"[^>]*>\s*<strong>([^<]+)</strong>\s*(\w+)', html)
    assert match, html[:3000]
    return f"{match.group(1)} {match.group(2)}"


def tagged(api: TestClient, tag: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [add(api, f"P{i:02}", tag.capitalize(), tags=[tag], **extra) for i in range(n)]


def tags_of(api: TestClient, person_id: str) -> set[str]:
    return {t["name"] for t in api.get(f"/api/v1/people/{person_id}").json()["tags"]}


class TestCount:
    def test_people_count_follows_the_filters_and_search(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        tagged(api, "alpha", 3)
        add(api, "Zed", "Other", lifecycle_stage="customer")
        assert count_of(signed_in.get("/people").text, "people") == "4 people"
        assert count_of(signed_in.get("/people?tag=alpha").text, "people") == "3 people"
        assert count_of(signed_in.get("/people?stage=customer").text, "people") == "1 person"
        assert count_of(signed_in.get("/people?q=Zed").text, "people") == "1 person"

    def test_over_the_cap_it_says_so(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tagged(api, "many", 4)
        monkeypatch.setattr(listing, "COUNT_CAP", 3)
        assert count_of(signed_in.get("/people").text, "people") == "3+ people"
        monkeypatch.setattr(listing, "COUNT_CAP", 4)
        assert count_of(signed_in.get("/people").text, "people") == "4 people"

    def test_the_count_query_is_capped(self, signed_in: TestClient, api: TestClient) -> None:
        """``count(*)`` over a LIMITed subquery, never the whole table."""
        tagged(api, "cap", 2)
        statements: list[str] = []
        engine = get_database().engine

        def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            signed_in.get("/people")
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        counts = [s for s in statements if "count(*)" in s.lower() and "people" in s]
        assert counts, statements
        assert all("LIMIT" in s.upper() for s in counts), counts

    def test_companies_deals_and_tasks_count(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        add_company(api, "Initech")
        add_company(api, "Hooli", industry="Software")
        html = signed_in.get("/companies?industry=soft").text
        assert count_of(html, "companies") == "1 company"
        for title in ("One", "Two"):
            response = api.post("/api/v1/deals", json={"title": title, "currency": "EUR"})
            assert response.status_code == 201, response.text
        assert count_of(signed_in.get("/deals/list").text, "deals") == "2 deals"
        for _ in range(3):
            api.post("/api/v1/tasks", json={"title": "Call"})
        html = signed_in.get("/tasks").text
        assert re.search(r'id="task-count"[^>]*>3<', html), html

    def test_scrolled_rows_do_not_count_again(self, signed_in: TestClient, api: TestClient) -> None:
        tagged(api, "rows", 2)
        html = signed_in.get("/people?part=rows", headers=HTMX).text
        assert "people-count" not in html


class TestSort:
    def test_every_people_column_sorts_or_says_it_cannot(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        add(api, "Ada", "Lovelace", email="b@example.com", phone="+441234567890")
        add(api, "Alan", "Turing", email="a@example.com")
        every = "&".join(f"cols={c.key}" for c in people_views.COLUMNS)
        html = signed_in.get(f"/people?{every}").text
        head = html[html.index("<thead>") : html.index("</thead>")]
        for col in (people_views.NAME_COLUMN, *people_views.COLUMNS):
            cell = re.search(rf"<th[^>]*>\s*(?:<a[^>]*>|<span[^>]*>)\s*{col.label}\b", head)
            assert cell, col.label
            if col.sort:
                assert f"sort={col.sort}" in cell.group(0) or "sort=-" in cell.group(0), col
                sorted_html = signed_in.get(f"/people?sort={col.sort}&{every}").text
                assert 'aria-sort="ascending"' in sorted_html, col.sort
                down = signed_in.get(f"/people?sort=-{col.sort}").text
                assert "alert-error" not in down, col.sort
            else:
                assert "Can't sort by this column" in cell.group(0), col.label

    def test_email_sort_orders_the_rows(self, signed_in: TestClient, api: TestClient) -> None:
        add(api, "Zoe", "Zed", email="a@example.com")
        add(api, "Abe", "Alpha", email="z@example.com")
        html = signed_in.get("/people?sort=email").text
        assert html.index("Zoe Zed") < html.index("Abe Alpha")
        html = signed_in.get("/people?sort=-email").text
        assert html.index("Abe Alpha") < html.index("Zoe Zed")

    def test_company_columns_sort(self, signed_in: TestClient, api: TestClient) -> None:
        add_company(api, "Big", size=900, industry="Aero")
        add_company(api, "Small", size=5, industry="Zinc")
        html = signed_in.get("/companies?sort=size").text
        assert html.index(">Small<") < html.index(">Big<")
        html = signed_in.get("/companies?sort=-industry").text
        assert html.index(">Small<") < html.index(">Big<")
        assert "Can't sort by this column" in signed_in.get("/companies?cols=owner").text

    def test_deals_sort_by_title(self, signed_in: TestClient, api: TestClient) -> None:
        for title in ("Beta deal", "Alpha deal"):
            api.post("/api/v1/deals", json={"title": title, "currency": "EUR"})
        html = signed_in.get("/deals/list?sort=title").text
        assert html.index("Alpha deal") < html.index("Beta deal")
        assert "Can't sort by this column" in html  # stage, status, owner


class TestSelectAllMatching:
    def post(self, client: TestClient, path: str, **data: Any) -> Any:
        token = csrf_from(client.get(path.rsplit("/", 1)[0]).text)
        return client.post(path, data={"csrf_token": token, **data})

    def test_the_bar_offers_it_when_more_rows_match_than_are_loaded(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tagged(api, "offer", 3)
        monkeypatch.setattr(people_views, "PAGE_SIZE", 2)
        html = signed_in.get("/people?tag=offer").text
        assert 'data-bulk-matching data-total="3"' in html and "Select all 3 matching" in html
        assert 'name="scope_query" value="tag=offer"' in html
        monkeypatch.setattr(people_views, "PAGE_SIZE", 50)
        assert "data-bulk-matching" not in signed_in.get("/people?tag=offer").text

    def test_tags_every_person_the_filter_keeps(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        kept = tagged(api, "keep", 3)
        other = add(api, "Not", "Kept")
        response = self.post(signed_in, "/people/bulk", scope="all", scope_query="tag=keep",
                             action="tag", tags="vip", next="/people?tag=keep")  # fmt: skip
        assert response.status_code == 303
        assert response.headers["location"] == "/people?tag=keep"
        assert "Tagged 3 people with “vip”" in flash_text(signed_in)
        assert all("vip" in tags_of(api, p["id"]) for p in kept)
        assert "vip" not in tags_of(api, other["id"])

    def test_search_and_custom_filters_are_re_run(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        tagged(api, "srch", 2)
        add(api, "Quentin", "Unique")
        self.post(signed_in, "/people/bulk", scope="all", scope_query="q=Quentin",
                  action="tag", tags="found")  # fmt: skip
        people = api.get("/api/v1/people", params={"tag": "found"}).json()["items"]
        assert [p["first_name"] for p in people] == ["Quentin"]

    def test_past_the_cap_nothing_changes_and_it_says_how_many(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        kept = tagged(api, "big", 3)
        monkeypatch.setattr(bulk_actions, "MAX_MATCHING", 2)
        self.post(signed_in, "/people/bulk", scope="all", scope_query="tag=big",
                  action="tag", tags="vip")  # fmt: skip
        message = flash_text(signed_in)
        assert "This would change 3 people; narrow the filter below 2" in message
        assert all("vip" not in tags_of(api, p["id"]) for p in kept)

    def test_delete_all_matching_then_undo(self, signed_in: TestClient, api: TestClient) -> None:
        tagged(api, "gone", 3)
        self.post(signed_in, "/people/bulk", scope="all", scope_query="tag=gone",
                  action="delete")  # fmt: skip
        assert api.get("/api/v1/people", params={"tag": "gone"}).json()["items"] == []
        undo = UNDO.search(signed_in.get("/people").text)
        assert undo
        token = csrf_from(signed_in.get("/people").text)
        signed_in.post(undo.group(1), data={"csrf_token": token})
        assert len(api.get("/api/v1/people", params={"tag": "gone"}).json()["items"]) == 3

    def test_companies_too(self, signed_in: TestClient, api: TestClient) -> None:
        made = [add_company(api, f"Soft {i}", industry="Software") for i in range(3)]
        add_company(api, "Hard", industry="Steel")
        self.post(signed_in, "/companies/bulk", scope="all", scope_query="industry=soft",
                  action="tag", tags="saas")  # fmt: skip
        for company in made:
            names = {
                t["name"] for t in api.get(f"/api/v1/companies/{company['id']}").json()["tags"]
            }
            assert "saas" in names

    def test_needs_the_csrf_token_and_the_permission(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient
    ) -> None:
        kept = tagged(api, "perm", 2)
        refused = signed_in.post("/people/bulk", data={"scope": "all", "scope_query": "tag=perm",
                                                       "action": "tag", "tags": "x"})  # fmt: skip
        assert refused.status_code == 403
        cleo = signed_in_as("cleo")  # read-only
        token = csrf_from(cleo.get("/people").text)
        cleo.post("/people/bulk", data={"csrf_token": token, "scope": "all",
                                        "scope_query": "tag=perm", "action": "tag",
                                        "tags": "x"})  # fmt: skip
        assert all("x" not in tags_of(api, p["id"]) for p in kept)

    def test_a_bad_scope_is_refused(self, signed_in: TestClient) -> None:
        response = self.post(signed_in, "/people/bulk", scope="everything", action="tag")
        assert response.status_code == 422


class TestScroll:
    def test_the_last_row_loads_the_next_page_when_it_shows(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tagged(api, "scroll", 5)
        monkeypatch.setattr(people_views, "PAGE_SIZE", 2)
        seen: list[str] = []
        html = signed_in.get("/people?tag=scroll").text
        pages = 0
        while True:
            seen += re.findall(r"P0\d Scroll", html)
            more = re.search(
                r'class="load-more" hx-get="([^"]+)" hx-trigger="intersect once"', html
            )
            if not more:
                break
            html = signed_in.get(more.group(1).replace("&amp;", "&"), headers=HTMX).text
            pages += 1
        assert pages == 2 and sorted(set(seen)) == [f"P0{i} Scroll" for i in range(5)]


class TestExportAndImport:
    def export_link(self, html: str, fmt: str) -> str:
        match = re.search(rf'href="(/api/v1/exports/[a-z]+\.{fmt}[^"]*)"', html)
        assert match, html[:2000]
        return match.group(1).replace("&amp;", "&")

    def test_people_export_carries_the_filters(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        tagged(api, "exp", 2, lifecycle_stage="customer")
        add(api, "Not", "Exported")
        html = signed_in.get("/people?tag=exp&stage=customer").text
        link = self.export_link(html, "csv")
        assert dict(parse_qsl(link.split("?", 1)[1])) == {
            "tag": "exp", "lifecycle_stage": "customer", "sort": "full_name",
        }  # fmt: skip
        for fmt in ("jsonl", "vcf"):
            assert self.export_link(html, fmt).startswith(f"/api/v1/exports/people.{fmt}?")
        body = signed_in.get(link).text  # the browser's session may download it
        assert "P00" in body and "Exported" not in body

    def test_a_searched_view_exports_only_its_matches(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        tagged(api, "srch", 2)
        add(api, "Quentin", "Unique", tags=["srch"])
        plain = signed_in.get("/people?tag=srch").text
        assert "This view, as" in plain
        searched = signed_in.get("/people?tag=srch&q=Quentin").text
        assert "This view, as" in searched and "without the search text" not in searched
        link = self.export_link(searched, "csv")
        assert dict(parse_qsl(link.split("?", 1)[1]))["q"] == "Quentin"
        body = signed_in.get(link).text
        assert "Quentin" in body and "P00" not in body and "P01" not in body

    def test_custom_field_filters_go_to_the_export(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        field = {"object_type": "person", "key": "nps", "label": "NPS", "field_type": "number"}
        api.post("/api/v1/custom-fields", json=field)
        add(api, "High", "Score", custom={"nps": 9})
        add(api, "Low", "Score", custom={"nps": 2})
        html = signed_in.get("/people?cf=nps&cfop=gte&cfv=8").text
        body = signed_in.get(self.export_link(html, "jsonl")).text
        assert "High" in body and "Low" not in body

    def test_company_and_deal_exports(self, signed_in: TestClient, api: TestClient) -> None:
        add_company(api, "Soft", industry="Software")
        add_company(api, "Steel", industry="Steel")
        html = signed_in.get("/companies?industry=soft").text
        body = signed_in.get(self.export_link(html, "csv")).text
        assert "Soft" in body and "Steel" not in body
        won = api.post("/api/v1/deals", json={"title": "Won one", "currency": "EUR"}).json()
        api.post("/api/v1/deals", json={"title": "Open one", "currency": "EUR"})
        closed = api.post(f"/api/v1/deals/{won['id']}/won", json={})
        assert closed.status_code == 200, closed.text
        html = signed_in.get("/deals/list?status=won").text
        body = signed_in.get(self.export_link(html, "csv")).text
        assert "Won one" in body and "Open one" not in body

    def test_who_may_not_export_sees_no_export(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient
    ) -> None:
        add(api, "Some", "One")
        html = signed_in_as("ben").get("/people").text  # a member: no export:read
        assert "/api/v1/exports/" not in html

    def test_the_import_button_goes_to_imports(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient]
    ) -> None:
        for path in ("/people", "/companies"):
            html = signed_in.get(path).text
            assert re.search(r'<a class="button" href="/imports">.*Import CSV</a>', html), path
            assert "Coming soon" not in html
        assert (
            'href="/imports"'
            not in signed_in_as("cleo")
            .get("/people")
            .text.split('<div class="page-actions">')[1]
            .split("</div>")[0]
        )


NOW = datetime.now(UTC)


def task(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/tasks", json={"title": "Call back", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestTaskList:
    def test_views_mine_team_and_done(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        task(api, title="Mine open")
        task(api, title="Bens open", assignee_id=str(cast.ben.user_id))
        done = task(api, title="Mine done")
        api.patch(f"/api/v1/tasks/{done['id']}", json={"done": True})
        mine = signed_in.get("/tasks").text
        assert "Mine open" in mine and "Bens open" not in mine
        team = signed_in.get("/tasks?view=team").text
        assert "Mine open" in team and "Bens open" in team and "Mine done" not in team
        assert 'aria-current="page">Team<' in team
        finished = signed_in.get("/tasks?view=done").text
        assert "Mine done" in finished and "Mine open" not in finished

    def test_my_tasks_past_its_first_rows_leads_to_all_of_them(
        self, signed_in: TestClient, api: TestClient, cast: Cast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from rapport.sales.views import sales as sales_views

        monkeypatch.setattr(sales_views, "MAX_TASKS", 2)
        for day in range(3):
            task(api, title=f"Due in {day + 1}", due_at=(NOW + timedelta(days=day + 1)).isoformat())
        mine = signed_in.get("/tasks").text
        assert "Due in 1" in mine and "Due in 2" in mine and "Due in 3" not in mine
        link = re.search(r'data-more>.*?<a href="([^"]+)">See all of them', mine, re.S)
        assert link is not None
        everything = signed_in.get(link.group(1).replace("&amp;", "&")).text
        assert all(f"Due in {day}" in everything for day in (1, 2, 3))
        assert f"assignee={cast.ada.user_id}" in link.group(1)

    def test_filters_by_assignee_due_and_linked_record(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        person = add(api, "Linked", "Person")
        task(api, title="Late", due_at=(NOW - timedelta(days=2)).isoformat())
        task(api, title="Someday")
        task(api, title="About someone", person_id=person["id"],
             due_at=(NOW + timedelta(days=30)).isoformat())  # fmt: skip
        task(api, title="For Ben", assignee_id=str(cast.ben.user_id))
        html = signed_in.get("/tasks?view=team&due=overdue").text
        assert "Late" in html and "Someday" not in html
        html = signed_in.get("/tasks?view=team&due=none").text
        assert "Someday" in html and "Late" not in html and "About someone" not in html
        html = signed_in.get("/tasks?view=team&about=person").text
        assert "About someone" in html and "Someday" not in html
        html = signed_in.get("/tasks?view=team&about=none").text
        assert "About someone" not in html and "Someday" in html
        html = signed_in.get(f"/tasks?view=team&assignee={cast.ben.user_id}").text
        assert "For Ben" in html and "Someday" not in html
        html = signed_in.get("/tasks?view=team&assignee=none").text
        assert "No tasks match" in html
        assert re.search(r'id="task-count"[^>]*>0<', html)

    def test_ticking_returns_the_row_and_the_lower_count(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        made = task(api, title="Tick me")
        task(api, title="Stay open")
        page = signed_in.get("/tasks").text
        assert re.search(r'id="task-count"[^>]*>2<', page)
        token = csrf_from(page)
        answer = signed_in.post(f"/tasks/{made['id']}/toggle", headers=HTMX,
                                data={"csrf_token": token, "done": "true",
                                      "version": made["version"], "back": "/tasks"})  # fmt: skip
        assert f'id="task-{made["id"]}"' in answer.text and "is-done" in answer.text
        assert re.search(r'id="task-count" hx-swap-oob="true"[^>]*>1<', answer.text), answer.text
        panel = signed_in.post(f"/tasks/{made['id']}/toggle", headers=HTMX,
                               data={"csrf_token": token, "done": "false",
                                     "back": "/people/x"})  # fmt: skip
        assert 'id="task-count"' not in panel.text  # a record's panel has no list count

    def test_the_team_view_scrolls_on(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for i in range(5):
            task(api, title=f"Task {i}", due_at=(NOW + timedelta(hours=i + 1)).isoformat())
        monkeypatch.setattr(task_list, "PAGE_SIZE", 2)
        html = signed_in.get("/tasks?view=team").text
        title = r'class="task-title">(Task \d)<'
        seen = re.findall(title, html)
        while more := re.search(r'hx-get="([^"]+)" hx-trigger="intersect once"', html):
            html = signed_in.get(more.group(1).replace("&amp;", "&"), headers=HTMX).text
            seen += re.findall(title, html)
        assert seen == [f"Task {i}" for i in range(5)]

    def test_the_picker_offers_records_and_links_the_new_task(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        person = add(api, "Grace", "Hopper")
        company = add_company(api, "Hopper Labs")
        html = signed_in.get("/tasks/link-options", params={"about_q": "Hopper"}).text
        assert f'value="person:{person["id"]}"' in html
        assert f'value="company:{company["id"]}"' in html
        assert (
            "No person, company or deal matches"
            in signed_in.get("/tasks/link-options", params={"about_q": "zzqqxx"}).text
        )
        token = csrf_from(signed_in.get("/tasks").text)
        response = signed_in.post("/tasks/new", data={
            "csrf_token": token, "title": "Call Grace", "link": f"person:{person['id']}",
        })  # fmt: skip
        assert response.status_code == 303
        (made,) = api.get("/api/v1/tasks", params={"person_id": person["id"]}).json()["items"]
        assert made["title"] == "Call Grace"
        signed_in.post("/tasks/new", data={"csrf_token": token, "title": "Odd link",
                                           "link": "ticket:nonsense"})  # fmt: skip
        odd = [t for t in api.get("/api/v1/tasks").json()["items"] if t["title"] == "Odd link"]
        assert odd and odd[0]["person_id"] is None and odd[0]["company_id"] is None

    def test_the_picker_needs_write_access(self, signed_in_as: Callable[[str], TestClient]) -> None:
        response = signed_in_as("cleo").get("/tasks/link-options", params={"about_q": "x"})
        assert response.status_code == 403

    def test_the_export_carries_the_view(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        task(api, title="Mine open")
        task(api, title="Bens open", assignee_id=str(cast.ben.user_id))
        html = signed_in.get("/tasks").text
        link = re.search(r'href="(/api/v1/exports/tasks\.csv[^"]*)"', html)
        assert link
        body = signed_in.get(link.group(1).replace("&amp;", "&")).text
        assert "Mine open" in body and "Bens open" not in body
        html = signed_in.get("/tasks?view=team").text
        link = re.search(r'href="(/api/v1/exports/tasks\.csv[^"]*)"', html)
        assert link
        body = signed_in.get(link.group(1).replace("&amp;", "&")).text
        assert "Mine open" in body and "Bens open" in body
