"""The sales pages in a real browser: the dashboard draws every chart (no console errors) and
filters by period and owner, My tasks ticks a task done with HTMX, a deal's panel adds a task,
a deal page logs a meeting onto its own timeline, and a person's deals and tasks panels tick,
add, and start a deal with them."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_kanban import api, stage_ids
from tests.e2e.test_shell import follow, sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")
CHARTS = ("weighted", "forecast", "winrate", "funnel", "bottlenecks")


def sales_pipeline(server: Server) -> tuple[str, dict[str, str]]:
    """A pipeline of this test's own with open, won and lost deals."""
    name = f"Dashboard {uuid.uuid4().hex[:6]}"
    pipeline = api(server, "POST", "/pipelines", json={"name": name, "currency": "EUR"})
    stages = stage_ids(server, pipeline["id"])
    deals = [
        ("Harbour cranes", "12000", "Qualification", "2031-01-15"),
        ("Ferry refit", "48000", "Proposal", "2031-02-20"),
        ("Dock lighting", "7500", "Discovery", "2031-02-03"),
        ("Port software", "30000", "Negotiation", "2031-03-30"),
    ]
    for title, amount, stage, close in deals:
        body = {"title": title, "amount": amount, "currency": "EUR", "pipeline_id": pipeline["id"],
                "stage_id": stages[stage], "expected_close_date": close}  # fmt: skip
        api(server, "POST", "/deals", json=body)
    for title, outcome in (("Crane service", "won"), ("Tug charter", "lost")):
        body = {"title": title, "amount": "9000", "currency": "EUR", "pipeline_id": pipeline["id"]}
        deal = api(server, "POST", "/deals", json=body)
        api(server, "POST", f"/deals/{deal['id']}/{outcome}", json={})
    return pipeline["id"], stages


def test_dashboard_draws_every_chart(server: Server, page: Page) -> None:
    pipeline_id, _stages = sales_pipeline(server)
    sign_in(page, server)
    follow(page, page.get_by_role("link", name="Sales"))
    expect(page).to_have_url(re.compile(r"/sales$"))
    page.get_by_label("Pipeline", exact=True).select_option(pipeline_id)  # the form submits itself
    expect(page).to_have_url(re.compile(rf"pipeline={pipeline_id}"))
    for chart in CHARTS:
        expect(page.locator(f"#chart-{chart}")).to_have_attribute("data-rendered", "")
    drawn = page.evaluate(
        """ids => ids.map(id => {
               const chart = window.Chart.getChart(document.getElementById('chart-' + id));
               return chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : -1;
           })""",
        list(CHARTS),
    )
    assert all(points > 0 for points in drawn), dict(zip(CHARTS, drawn, strict=True))
    expect(page.locator('[data-kpi="win-rate"]')).to_contain_text("50%")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "sales-dashboard.png"), full_page=True)
    page.get_by_label("Period: deals closed, or stages entered, in").select_option("all")
    expect(page).to_have_url(re.compile(r"period=all"))
    expect(page.locator("#chart-winrate")).to_have_attribute("data-rendered", "")
    page.get_by_label("Owner", exact=True).select_option(index=1)  # the first member
    expect(page).to_have_url(re.compile(r"owner=[0-9a-f-]{36}"))
    expect(page.get_by_label("Owner", exact=True)).to_have_value(re.compile(r"[0-9a-f-]{36}"))
    expect(page.locator("#chart-funnel")).to_have_attribute("data-rendered", "")


def test_tick_a_task_done(server: Server, page: Page) -> None:
    title = f"Call the harbour master {uuid.uuid4().hex[:4]}"
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    made = api(server, "POST", "/tasks", json={"title": title, "due_at": yesterday,
                                                "priority": "high"})  # fmt: skip
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    api(server, "POST", "/tasks", json={"title": "Send the brochure", "due_at": later})
    sign_in(page, server)
    follow(page, page.get_by_role("link", name="Tasks"))
    expect(page).to_have_url(re.compile(r"/tasks$"))
    overdue = page.locator('[data-group="Overdue"]')
    row = overdue.locator(f'[data-task-id="{made["id"]}"]')
    expect(row).to_contain_text(title)
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "my-tasks.png"), full_page=True)
    row.get_by_role("checkbox", name=f"Mark “{title}” done").click()
    expect(row).to_have_class(re.compile(r"is-done"))
    expect(page.get_by_role("status")).to_contain_text("done.")
    assert api(server, "GET", f"/tasks/{made['id']}")["done"] is True
    row.get_by_role("checkbox", name=f"Mark “{title}” not done").click()
    expect(row).not_to_have_class(re.compile(r"is-done"))
    assert api(server, "GET", f"/tasks/{made['id']}")["done"] is False


def test_add_a_task_on_a_deal(server: Server, page: Page) -> None:
    pipeline_id, _stages = sales_pipeline(server)
    deal = api(server, "GET", "/deals", params={"pipeline_id": pipeline_id})["items"][0]
    sign_in(page, server)
    page.goto(server.url + f"/deals/{deal['id']}")
    panel = page.locator("#deal-tasks")
    expect(panel).to_contain_text("No open tasks on this deal.")
    panel.get_by_label("Task", exact=True).fill("Book the site visit")
    panel.get_by_label("Due date", exact=True).fill("2031-06-01")
    panel.get_by_role("button", name="Add").click()
    expect(page.locator("#deal-tasks")).to_contain_text("Book the site visit")
    (made,) = api(server, "GET", "/tasks", params={"deal_id": deal["id"]})["items"]
    assert made["title"] == "Book the site visit" and made["due_at"].startswith("2031-06-01")


def test_log_a_meeting_on_a_deal_page(server: Server, page: Page) -> None:
    pipeline_id, _stages = sales_pipeline(server)
    deal = api(server, "GET", "/deals", params={"pipeline_id": pipeline_id})["items"][0]
    subject = f"Site walk-through {uuid.uuid4().hex[:4]}"
    sign_in(page, server)
    page.goto(server.url + f"/deals/{deal['id']}")
    timeline = page.locator("#deal-timeline")
    expect(timeline).to_contain_text("Entered")  # the stage change is on it already
    expect(page.locator("#deal-tasks")).to_be_visible()  # htmx has run on this page
    form = page.locator("form.quick-log")
    form.get_by_role("radio", name="Meeting").check()
    form.get_by_label("Subject").fill(subject)
    form.get_by_label("What happened?").fill("Walked the docks with the harbour master")
    form.get_by_role("button", name="Log it").click()
    expect(page.locator("#deal-timeline")).to_contain_text(subject)
    expect(page.locator("#deal-timeline .tl-meeting")).to_have_count(1)
    (logged,) = api(server, "GET", f"/deals/{deal['id']}/timeline")["items"]
    assert (logged["kind"], logged["subject"]) == ("meeting", subject)


def test_a_persons_deals_and_tasks_panels(server: Server, page: Page) -> None:
    name = f"Grace {uuid.uuid4().hex[:4]}"
    person = api(server, "POST", "/people", json={"first_name": name, "last_name": "Hopper"})
    pipeline_id, _stages = sales_pipeline(server)
    api(server, "POST", "/deals", json={"title": "Compiler licence", "amount": "4200",
        "currency": "EUR", "pipeline_id": pipeline_id, "person_id": person["id"]})  # fmt: skip
    made = api(
        server, "POST", "/tasks", json={"title": "Send the manual", "person_id": person["id"]}
    )
    sign_in(page, server)
    page.goto(server.url + f"/people/{person['id']}")
    expect(page.locator("#person-deals")).to_contain_text("Compiler licence")
    tasks = page.locator("#person-tasks")
    row = tasks.locator(f'[data-task-id="{made["id"]}"]')
    expect(row).to_contain_text("Send the manual")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "person-panels.png"), full_page=True)
    row.get_by_role("checkbox", name="Mark “Send the manual” done").click()
    expect(row).to_have_class(re.compile(r"is-done"))
    assert api(server, "GET", f"/tasks/{made['id']}")["done"] is True

    tasks.get_by_label("Task", exact=True).fill("Book the demo")
    tasks.get_by_role("button", name="Add").click()
    expect(page.locator("#person-tasks")).to_contain_text("Book the demo")
    expect(page.locator("#person-tasks")).not_to_contain_text("Send the manual")
    (added,) = api(server, "GET", "/tasks", params={"person_id": person["id"], "status": "open"})[
        "items"
    ]
    assert added["title"] == "Book the demo"

    follow(page, page.locator("#person-deals").get_by_role("link", name="New deal"))
    expect(page.locator(".page-header")).to_contain_text(name)
    page.get_by_label("Title").fill("Training days")
    page.get_by_role("button", name="Add deal").click()
    expect(page.locator(".record-title")).to_contain_text(name)
