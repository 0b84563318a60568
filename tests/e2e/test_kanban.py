"""The deals board in a real browser: drag a card to another stage, see the column totals
change, and find the deal in its new stage through the JSON API."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import follow, sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


def api(server: Server, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(
        method,
        server.url + "/api/v1" + path,
        headers={"Authorization": f"Bearer {server.token()}"},
        **kwargs,
    )
    assert response.status_code < 300, response.text
    return response.json()


def stage_ids(server: Server, pipeline_id: str) -> dict[str, str]:
    pipeline = api(server, "GET", f"/pipelines/{pipeline_id}")
    return {s["name"]: s["id"] for s in pipeline["stages"]}


def new_pipeline(server: Server) -> tuple[str, dict[str, str]]:
    """A pipeline of this test's own, so that other tests' deals do not change the totals."""
    name = f"Board {uuid.uuid4().hex[:6]}"
    pipeline = api(server, "POST", "/pipelines", json={"name": name, "currency": "EUR"})
    return pipeline["id"], stage_ids(server, pipeline["id"])


def add_deal(server: Server, pipeline_id: str, title: str, amount: str, **extra: Any) -> str:
    body = {"title": title, "amount": amount, "currency": "EUR", "pipeline_id": pipeline_id}
    return str(api(server, "POST", "/deals", json={**body, **extra})["id"])


def drag(page: Page, card: Any, target: Any) -> None:
    """A real drag: press on the card, move in small steps onto the column, release."""
    card.scroll_into_view_if_needed()
    start = card.bounding_box()
    end = target.bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 10, start["y"] + 20, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 30, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 40, steps=5)
    page.mouse.up()


def column(page: Page, stage_id: str) -> Any:
    return page.locator(f'section.board-column[data-stage-id="{stage_id}"]')


def test_drag_a_deal_to_another_stage(server: Server, page: Page):
    pipeline_id, stages = new_pipeline(server)
    deal_id = add_deal(server, pipeline_id, "Wind turbine order", "1200")
    add_deal(server, pipeline_id, "Solar panels", "300", expected_close_date="2030-06-30")
    add_deal(server, pipeline_id, "Battery pack", "4500.50", stage_id=stages["Proposal"])
    sign_in(page, server)
    follow(page, page.get_by_role("link", name="Deals"))
    expect(page).to_have_url(re.compile(r"/deals$"))
    page.get_by_label("Pipeline").select_option(pipeline_id)
    expect(page).to_have_url(re.compile(rf"pipeline={pipeline_id}"))
    first, proposal = column(page, stages["Qualification"]), column(page, stages["Proposal"])
    expect(first.locator("[data-total]")).to_have_text("1,500 EUR")
    expect(proposal.locator("[data-total]")).to_have_text("4,500.50 EUR")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "kanban.png"), full_page=True)

    card = first.locator(".deal-card", has_text="Wind turbine order")
    drag(page, card, proposal.locator("[data-column]"))

    expect(proposal.locator(".deal-card", has_text="Wind turbine order")).to_be_visible()
    expect(first.locator("[data-total]")).to_have_text("300 EUR")
    expect(first.locator("[data-count]")).to_have_text("1")
    expect(proposal.locator("[data-total]")).to_have_text("5,700.50 EUR")
    expect(proposal.locator("[data-count]")).to_have_text("2")
    expect(page.get_by_role("status")).to_contain_text("moved to Proposal")
    assert api(server, "GET", f"/deals/{deal_id}")["stage_id"] == stages["Proposal"]


def test_a_stale_card_goes_back_with_a_message(server: Server, page: Page):
    pipeline_id, stages = new_pipeline(server)
    deal_id = add_deal(server, pipeline_id, "Heat pumps", "800")
    sign_in(page, server)
    page.goto(f"{server.url}/deals?pipeline={pipeline_id}")
    first, discovery = column(page, stages["Qualification"]), column(page, stages["Discovery"])
    expect(first.locator(".deal-card")).to_have_count(1)
    # someone else changes the deal after the board was loaded
    api(server, "PATCH", f"/deals/{deal_id}", json={"amount": "900"})
    drag(page, first.locator(".deal-card"), discovery.locator("[data-column]"))
    expect(page.get_by_role("status")).to_contain_text("nothing was moved")
    expect(first.locator(".deal-card", has_text="Heat pumps")).to_be_visible()
    expect(first.locator("[data-total]")).to_have_text("900 EUR")
    expect(discovery.locator(".deal-card")).to_have_count(0)
    assert api(server, "GET", f"/deals/{deal_id}")["stage_id"] == stages["Qualification"]


def test_move_without_dragging(server: Server, page: Page):
    pipeline_id, stages = new_pipeline(server)
    deal_id = add_deal(server, pipeline_id, "Keyboard move", "50")
    sign_in(page, server)
    page.goto(f"{server.url}/deals?pipeline={pipeline_id}")
    card = page.locator(".deal-card", has_text="Keyboard move")
    card.get_by_text("Move to…").click()
    card.get_by_label(re.compile("Move .* to stage")).select_option(stages["Negotiation"])
    card.get_by_role("button", name="Move").click()
    negotiation = column(page, stages["Negotiation"])
    expect(negotiation.locator("[data-total]")).to_have_text("50 EUR")
    assert api(server, "GET", f"/deals/{deal_id}")["stage_id"] == stages["Negotiation"]
    card = negotiation.locator(".deal-card", has_text="Keyboard move")
    card.get_by_role("link", name="Keyboard move").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard move")
    expect(page.locator("[data-stage]")).to_have_text("Negotiation")
    page.get_by_label("Reason (optional)").fill("Budget approved")
    page.get_by_role("button", name="Mark won").click()
    expect(page.get_by_role("status")).to_contain_text("is won")
    expect(page.locator("[data-stage]")).to_have_text("Won")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "deal.png"), full_page=True)
    assert api(server, "GET", f"/deals/{deal_id}")["status"] == "won"
