"""Records you can work on, in a real browser: a deal edited in place with a conflict from a
second tab, deals found by global search, the command menu driven by the keyboard alone."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_bulk_and_record import no_sideways_scroll
from tests.e2e.test_kanban import add_deal, api, new_pipeline
from tests.e2e.test_shell import sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


def test_a_deal_amount_edited_in_two_tabs_shows_the_conflict(server: Server, new_page) -> None:  # type: ignore[no-untyped-def]
    pipeline_id, _ = new_pipeline(server)
    deal_id = add_deal(server, pipeline_id, f"Conflict {uuid.uuid4().hex[:4]}", "12500")
    first, second = new_page(), new_page()
    for tab in (first, second):
        sign_in(tab, server)
        tab.goto(f"{server.url}/deals/{deal_id}")
        tab.get_by_role("link", name="Edit amount").click()
        expect(tab.get_by_label("Amount", exact=True)).to_be_focused()
    first.get_by_label("Amount", exact=True).fill("15000")
    first.get_by_role("button", name="Save").click()
    expect(first.locator("#deal-field-amount")).to_contain_text("15,000 EUR")
    expect(first.locator("#deal-summary [data-amount]")).to_have_text("15,000 EUR")

    second.get_by_label("Amount", exact=True).fill("9000")
    second.get_by_role("button", name="Save").click()
    notice = second.locator("[data-conflict]")
    expect(notice).to_contain_text("Someone else changed amount")
    expect(notice.locator("[data-theirs]")).to_have_text("15,000 EUR")
    expect(notice.locator("[data-yours]")).to_have_text("9000")
    assert api(server, "GET", f"/deals/{deal_id}")["amount"] == "15000.00"
    if SHOTS:
        second.screenshot(path=str(Path(SHOTS) / "deal-conflict.png"), full_page=True)
    second.get_by_role("button", name="Keep mine").click()
    expect(second.locator("#deal-summary [data-amount]")).to_have_text("9,000 EUR")
    assert api(server, "GET", f"/deals/{deal_id}")["amount"] == "9000.00"

    # the first tab is now behind: it takes theirs instead
    first.get_by_role("link", name="Edit amount").click()
    first.get_by_label("Amount", exact=True).fill("1")
    api(server, "PATCH", f"/deals/{deal_id}", json={"amount": "4000"})
    first.get_by_role("button", name="Save").click()
    expect(first.locator("[data-theirs]")).to_have_text("4,000 EUR")
    first.get_by_role("link", name="Take theirs").click()
    expect(first.locator("#deal-field-amount")).to_contain_text("4,000 EUR")
    assert api(server, "GET", f"/deals/{deal_id}")["amount"] == "4000.00"


def test_search_finds_a_deal_by_its_title(server: Server, page: Page) -> None:
    pipeline_id, _ = new_pipeline(server)
    word = "Quasar" + uuid.uuid4().hex[:4]
    deal_id = add_deal(server, pipeline_id, f"{word} expansion", "4200")
    sign_in(page, server)
    page.get_by_role("combobox", name="Search").fill(word.lower())
    option = page.locator("#search-results").get_by_role("option", name=f"{word} expansion")
    expect(option).to_be_visible()
    expect(option).to_contain_text("4,200 EUR")
    option.click()
    page.wait_for_url(f"{server.url}/deals/{deal_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{word} expansion")


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1280, 800),
                                                        ("phone", 375, 812)])  # fmt: skip
def test_walk_the_deal_pages(  # type: ignore[no-untyped-def]
    server: Server, new_page, errors: list[str], label: str, width: int, height: int
) -> None:
    """The board, the list, a deal page with an editor open and the new-deal form, at desktop
    and phone width: no console error, no sideways scroll of the page."""
    out = Path(SHOTS) if SHOTS else None
    pipeline_id, _ = new_pipeline(server)
    company = api(server, "POST", "/companies", json={"name": f"Walk Deals {uuid.uuid4().hex[:4]}"})
    deal_id = add_deal(server, pipeline_id, "Overdue renewal with a long title", "1250000",
                       expected_close_date="2024-01-15", company_id=company["id"])  # fmt: skip
    add_deal(server, pipeline_id, "Fresh deal", "980")
    page = new_page(width, height)
    sign_in(page, server)
    for path, name in (
        (f"/deals?pipeline={pipeline_id}", "board"),
        (f"/deals/list?pipeline={pipeline_id}", "list"),
        (f"/deals/{deal_id}", "deal"),
        (f"/deals/new?pipeline={pipeline_id}", "new-deal"),
    ):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        if name == "deal":
            page.get_by_role("link", name="Edit expected close").click()
            expect(page.get_by_label("Expected close", exact=True)).to_be_visible()
        if name in ("board", "list", "deal"):
            expect(page.get_by_text("Overdue").first).to_be_visible()
        if out:
            page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), f"the {name} page scrolls sideways"
    page.goto(f"{server.url}/companies/{company['id']}")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Subject").fill("Walk call")
    page.get_by_role("button", name="Log it").click()
    expect(page.locator("#timeline")).to_contain_text("Walk call")
    expect(page.locator("#company-stats")).not_to_contain_text("Last activity—")
    if out:
        page.screenshot(path=str(out / f"company-log-{label}.png"), full_page=True)
    assert no_sideways_scroll(page), "the company page scrolls sideways"
    page.get_by_role("button", name="Open the command menu").click()
    menu = page.get_by_role("dialog", name="Command menu")
    expect(menu).to_be_visible()
    page.keyboard.type("walk deals")
    expect(menu.get_by_role("option").first).to_be_visible()
    if out:
        page.screenshot(path=str(out / f"command-menu-{label}.png"))
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    assert not errors, errors


def test_the_command_menu_creates_a_deal_by_keyboard_alone(server: Server, page: Page) -> None:
    pipeline_id, _ = new_pipeline(server)
    title = f"Keyboard deal {uuid.uuid4().hex[:6]}"
    sign_in(page, server)
    page.keyboard.press("Control+k")
    menu = page.get_by_role("dialog", name="Command menu")
    expect(menu).to_be_visible()
    combo = menu.get_by_role("combobox", name="Command or search")
    expect(combo).to_be_focused()
    page.keyboard.type("new deal")
    expect(menu.get_by_role("option", name="New deal")).to_have_attribute("aria-selected", "true")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "command-menu-desktop.png"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/deals/new")
    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.type(title)
    page.keyboard.press("Tab")
    page.keyboard.type("4321")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    found = api(server, "GET", "/deals", params={"limit": 200})["items"]
    made = [d for d in found if d["title"] == title]
    assert len(made) == 1 and made[0]["amount"] == "4321.00"
    del pipeline_id


def test_the_command_menu_jumps_to_a_record_and_logs_a_call(server: Server, page: Page) -> None:
    pipeline_id, _ = new_pipeline(server)
    word = "Nebula" + uuid.uuid4().hex[:4]
    deal_id = add_deal(server, pipeline_id, f"{word} rollout", "800")
    sign_in(page, server)
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.get_by_role("button", name="Open the command menu").click()
    menu = page.get_by_role("dialog", name="Command menu")
    page.keyboard.type(word.lower())
    record = menu.get_by_role("option", name=f"{word} rollout")
    expect(record).to_be_visible()
    expect(menu.get_by_role("option", name="Log a call")).to_have_count(0)  # not on a record
    # Down from the empty action list reaches the record; Enter opens it
    page.keyboard.press("End")
    expect(record).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/deals/{deal_id}")
    page.keyboard.press("Control+k")
    page.keyboard.type("log a call")
    expect(menu.get_by_role("option", name="Log a call")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(menu).to_be_hidden()
    expect(page.get_by_label("Call", exact=True)).to_be_checked()
    expect(page.locator("#deal-log-subject")).to_be_focused()
    page.keyboard.type("Called about the rollout")
    page.keyboard.press("Enter")
    expect(page.locator("#deal-timeline")).to_contain_text("Called about the rollout")
