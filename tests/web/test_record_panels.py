"""Record-page panels: the deals and tasks panels sales registers on people's and companies'
pages (and tasks on a deal's), the new-deal form they start, and a panel of a domain the pages
do not know about showing up on a company's and a deal's page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event

from rapport import domains
from rapport.core import registry
from rapport.core.context import Context
from rapport.core.registry import Domain, Panel
from rapport.hub.public import people
from rapport.sales.views.panels import PANEL_ROWS, deals_panel
from tests.conftest import Cast
from tests.sales.factories import make_deal, make_pipeline
from tests.web.conftest import csrf_from
from tests.web.test_people import add
from tests.web.test_sales_pages import HTMX, task

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()
NEXT_MONTH = (date.today() + timedelta(days=30)).isoformat()


def section(html: str, element_id: str) -> str:
    """The ``<section id=...>`` of a page, so that an assertion looks at one panel only."""
    match = re.search(rf'<section id="{element_id}".*?</section>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(0)


def company(api: TestClient, name: str) -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def pipeline(api: TestClient) -> dict[str, Any]:
    return make_pipeline(api)


@pytest.fixture
def lovelace(api: TestClient) -> dict[str, Any]:
    """Ada Lovelace of Analytical Engines Ltd."""
    firm = company(api, "Analytical Engines Ltd")
    return add(api, "Ada", "Lovelace", company_id=firm["id"])


class TestDealsPanel:
    def test_a_persons_deals_open_first_with_stage_amount_and_overdue_flag(
        self, signed_in: TestClient, api: TestClient, pipeline: dict[str, Any], lovelace: Any
    ) -> None:
        person = lovelace["id"]
        won = make_deal(api, pipeline, title="Engine parts", person_id=person)
        assert api.post(f"/api/v1/deals/{won['id']}/won", json={}).status_code == 200
        late = make_deal(api, pipeline, title="Difference engine", amount="12500.50",
                         person_id=person, expected_close_date=YESTERDAY)  # fmt: skip
        make_deal(api, pipeline, title="Punch cards", person_id=person,
                  expected_close_date=NEXT_MONTH)  # fmt: skip
        make_deal(api, pipeline, title="Someone else's", person_id=add(api, "Alan", "T")["id"])

        panel = section(signed_in.get(f"/people/{person}").text, "person-deals")

        titles = re.findall(r'class="deal-title" href="/deals/[^"]+">([^<]+)<', panel)
        assert titles == ["Difference engine", "Punch cards", "Engine parts"]
        assert "data-count>3<" in panel
        assert f'href="/deals/{late["id"]}"' in panel
        assert "12,500.50 EUR" in panel and "1,000 EUR" in panel
        overdue = panel[panel.index("Difference engine") : panel.index("Punch cards")]
        assert "Overdue" in overdue and "Lead" in overdue
        assert "Overdue" not in panel[panel.index("Punch cards") :]
        assert "Won" in panel[panel.index("Engine parts") :]
        new_deal = f'href="/deals/new?person={person}&amp;company={lovelace["company_id"]}"'
        assert new_deal in panel

    def test_a_companys_deals_and_the_empty_state(
        self, signed_in: TestClient, api: TestClient, pipeline: dict[str, Any]
    ) -> None:
        firm, other = company(api, "Babbage & Co"), company(api, "Quiet Ltd")
        make_deal(api, pipeline, title="Mill upgrade", company_id=firm["id"])

        panel = section(signed_in.get(f"/companies/{firm['id']}").text, "company-deals")
        assert "Mill upgrade" in panel and f'href="/deals/new?company={firm["id"]}"' in panel

        empty = section(signed_in.get(f"/companies/{other['id']}").text, "company-deals")
        assert "No deals with this company yet." in empty and "deal-title" not in empty

    def test_a_long_history_shows_the_first_rows_only(
        self, signed_in: TestClient, api: TestClient, pipeline: dict[str, Any]
    ) -> None:
        firm = company(api, "Busy Ltd")
        for n in range(PANEL_ROWS + 1):
            make_deal(api, pipeline, title=f"Deal {n}", company_id=firm["id"])
        panel = section(signed_in.get(f"/companies/{firm['id']}").text, "company-deals")
        assert panel.count('class="deal-title"') == PANEL_ROWS
        assert f"data-count>{PANEL_ROWS}+<" in panel and "Showing the first" in panel

    def test_the_panel_costs_one_query(
        self, ada_ctx: Context, connection: Connection, api: TestClient, pipeline: Any
    ) -> None:
        person = add(api, "Grace", "Hopper")
        for n in range(3):
            make_deal(api, pipeline, title=f"Deal {n}", person_id=person["id"])
        record = people.get(ada_ctx, uuid.UUID(person["id"]))
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(connection, "before_cursor_execute", count)
        try:
            data = deals_panel(ada_ctx, record)
        finally:
            event.remove(connection, "before_cursor_execute", count)
        assert data is not None and len(data["rows"]) == 3
        assert len(statements) == 1, statements

    def test_read_only_sees_the_deals_but_cannot_start_one(
        self, signed_in_as: Any, api: TestClient, pipeline: dict[str, Any], lovelace: Any
    ) -> None:
        make_deal(api, pipeline, title="Engine parts", person_id=lovelace["id"])
        page = signed_in_as("cleo").get(f"/people/{lovelace['id']}").text
        panel = section(page, "person-deals")
        assert "Engine parts" in panel and "New deal" not in panel


class TestNewDealFromAPanel:
    def test_the_form_is_with_the_person_and_company_and_the_deal_shows_on_their_pages(
        self, signed_in: TestClient, api: TestClient, pipeline: dict[str, Any], lovelace: Any
    ) -> None:
        person, firm = lovelace["id"], lovelace["company_id"]
        form = signed_in.get("/deals/new", params={"person": person, "company": firm}).text
        assert "with <a" in form and "Ada Lovelace" in form and "Analytical Engines Ltd" in form
        assert f'name="person_id" value="{person}"' in form
        assert f'name="company_id" value="{firm}"' in form
        assert f'href="/people/{person}">Cancel</a>' in form

        response = signed_in.post("/deals/new", data={
            "csrf_token": csrf_from(form), "title": "Analytical engine", "amount": "900",
            "currency": "EUR", "pipeline": pipeline["id"], "person_id": person, "company_id": firm,
        })  # fmt: skip
        assert response.status_code == 303
        deal = api.get(response.headers["location"].replace("/deals/", "/api/v1/deals/")).json()
        assert (deal["person_id"], deal["company_id"]) == (person, firm)
        for page, panel in ((f"/people/{person}", "person-deals"),
                            (f"/companies/{firm}", "company-deals")):  # fmt: skip
            assert "Analytical engine" in section(signed_in.get(page).text, panel)

    def test_an_unknown_person_is_left_out(self, signed_in: TestClient) -> None:
        for person in ("not-an-id", "01890000-0000-7000-8000-000000000000"):
            form = signed_in.get("/deals/new", params={"person": person}).text
            assert 'name="person_id"' not in form and "with <a" not in form


class TestTasksPanel:
    @pytest.mark.parametrize("kind", ["person", "company"])
    def test_open_linked_tasks_tick_done_and_add(
        self, kind: str, signed_in: TestClient, api: TestClient, cast: Cast, lovelace: Any
    ) -> None:
        record = lovelace["id"] if kind == "person" else lovelace["company_id"]
        page_url = f"/people/{record}" if kind == "person" else f"/companies/{record}"
        link = f"{kind}_id"
        late = task(api, title="Send the notes", due_at=(datetime.now(UTC) - timedelta(days=2))
                    .isoformat(), assignee_id=str(cast.ben.user_id), **{link: record})  # fmt: skip
        done = task(api, title="Already done", **{link: record})
        assert api.patch(f"/api/v1/tasks/{done['id']}", json={"done": True}).status_code == 200
        task(api, title="Not about them")

        page = signed_in.get(page_url).text
        assert f'hx-get="{page_url}/tasks"' in page
        panel = section(signed_in.get(f"{page_url}/tasks", headers=HTMX).text, f"{kind}-tasks")
        assert "Send the notes" in panel
        assert "Already done" not in panel and "Not about them" not in panel
        assert "Overdue" in panel and "Ben" in panel  # the overdue flag and the assignee
        assert f'href="{page_url}"' not in panel  # no link to the page it is on

        ticked = signed_in.post(
            f"/tasks/{late['id']}/toggle",
            data={"csrf_token": csrf_from(page), "done": "true", "back": page_url},
            headers=HTMX,
        )
        assert ticked.status_code == 200 and "is-done" in ticked.text
        panel = section(signed_in.get(f"{page_url}/tasks", headers=HTMX).text, f"{kind}-tasks")
        assert "Send the notes" not in panel and f"No open tasks on this {kind}." in panel

        added = signed_in.post("/tasks/new", data={
            "csrf_token": csrf_from(page), "title": "Book a visit", link: record,
            "back": page_url,
        })  # fmt: skip
        assert added.status_code == 303 and added.headers["location"] == page_url
        (made,) = api.get("/api/v1/tasks", params={link: record, "status": "open"}).json()["items"]
        assert made["title"] == "Book a visit"
        assert "Book a visit" in signed_in.get(f"{page_url}/tasks", headers=HTMX).text

    def test_the_add_form_links_the_record_and_read_only_gets_none(
        self, signed_in: TestClient, signed_in_as: Any, lovelace: Any
    ) -> None:
        url = f"/companies/{lovelace['company_id']}/tasks"
        panel = signed_in.get(url, headers=HTMX).text
        assert f'name="company_id" value="{lovelace["company_id"]}"' in panel
        assert 'name="back" value="/companies/' in panel
        assert "Add a task" in signed_in.get(url, headers=HTMX).text
        assert 'action="/tasks/new"' not in signed_in_as("cleo").get(url, headers=HTMX).text

    def test_a_record_of_another_workspace_is_not_found(
        self, signed_in: TestClient, api_as: Any
    ) -> None:
        theirs = add(api_as("dev"), "Globex", "Person")
        assert signed_in.get(f"/people/{theirs['id']}/tasks", headers=HTMX).status_code == 404

    def test_the_deal_page_shows_it_as_a_registered_panel(
        self, signed_in: TestClient, api: TestClient, pipeline: dict[str, Any]
    ) -> None:
        deal = make_deal(api, pipeline)
        task(api, title="Prepare demo", deal_id=deal["id"])
        assert "sales/_record_tasks_slot.html" in [p.template for p in registry.panels("deal")]
        page = signed_in.get(f"/deals/{deal['id']}").text
        assert f'hx-get="/deals/{deal["id"]}/tasks"' in page
        panel = section(signed_in.get(f"/deals/{deal['id']}/tasks", headers=HTMX).text,
                        "deal-tasks")  # fmt: skip
        assert "Prepare demo" in panel and f'href="/deals/{deal["id"]}"' not in panel


# --- a domain the pages do not know -----------------------------------------------------------


def _subject(_ctx: Any, record: Any) -> dict[str, Any]:
    return {"subject": getattr(record, "name", None) or record.title}


@pytest.fixture
def tickets(tmp_path: Path, database: object) -> Iterator[None]:
    """A "tickets" domain registered next to the real ones, with a panel on companies' and
    deals' pages (the app reads the panels at render time)."""
    folder = tmp_path / "tickets"
    folder.mkdir()
    (folder / "_open.html").write_text(
        '<section class="card" id="tickets-panel">Tickets of {{ panel_data.subject }}</section>'
    )
    real = domains.install()
    panels = [
        Panel(kind, "tickets/_open.html", order=5, load=_subject) for kind in ("company", "deal")
    ]
    registry.install([*real, Domain(name="tickets", templates=tmp_path, panels=panels)])
    try:
        yield
    finally:
        registry.install(real)


def test_another_domains_panel_shows_on_company_and_deal_pages(
    tickets: None, signed_in: TestClient, api: TestClient, pipeline: dict[str, Any]
) -> None:
    firm = company(api, "Babbage & Co")
    deal = make_deal(api, pipeline, title="Mill upgrade", company_id=firm["id"])

    page = signed_in.get(f"/companies/{firm['id']}").text
    assert '<section class="card" id="tickets-panel">Tickets of Babbage &amp; Co</section>' in page
    assert page.index('id="tickets-panel"') < page.index('id="company-deals"')  # by order

    page = signed_in.get(f"/deals/{deal['id']}").text
    assert '<section class="card" id="tickets-panel">Tickets of Mill upgrade</section>' in page
