"""Workspace configuration in the settings area, in a real browser (Debian's Chromium):
a custom field made in Settings is set on a person and filters the people list."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_bulk_and_record import group, no_sideways_scroll
from tests.e2e.test_shell import sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


def test_a_custom_field_made_in_settings_filters_the_people_list(
    server: Server, page: Page, tmp_path: Path
):
    label = f"Shoe size {uuid.uuid4().hex[:4]}"
    key = label.lower().replace(" ", "_")
    tag, ids = group(server, ["Sam", "Sue"])
    sign_in(page, server)
    page.goto(f"{server.url}/settings")
    expect(page).to_have_url(re.compile(r"/settings/"))
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Custom fields"
    ).click()
    expect(page.get_by_role("heading", name="Custom fields")).to_be_visible()
    form = page.locator("form", has=page.get_by_role("button", name="Add field"))
    form.get_by_label("Name").fill(label)
    form.get_by_label("Type").select_option("number")
    form.get_by_role("button", name="Add field").click()
    expect(page.get_by_role("status")).to_contain_text(f"“{label}” was added.")
    expect(page.get_by_role("cell", name=key)).to_be_visible()

    # Set it on one of the two people, through the person page's edit form.
    for person_id, size in ((ids[0], "44"), (ids[1], "38")):
        page.goto(f"{server.url}/people/{person_id}")
        details = page.locator("#person-details")
        details.get_by_role("link", name="Edit", exact=True).click()
        details.get_by_label(label).fill(size)
        details.get_by_role("button", name="Save").click()
        expect(details.locator("div", has_text=label).locator("dd")).to_have_text(size)

    page.goto(f"{server.url}/people?tag={tag}")
    rows = page.locator("#people-results tbody tr")
    expect(rows).to_have_count(2)
    page.locator("summary", has_text="Custom field").click()
    page.get_by_label("Field", exact=True).select_option(key)
    page.get_by_label("Condition").select_option("gt")
    page.get_by_label("Value", exact=True).fill("40")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sam Bulk")
    # The popover is whole: not cut off by the list's box, nor past the window.
    panel = page.locator(".cf-panel")
    box = panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]  # type: ignore[index]
    assert page.evaluate(
        """() => { const p = document.querySelector('.cf-panel').getBoundingClientRect();
                   const hit = document.elementFromPoint(p.left + p.width / 2, p.bottom - 4);
                   return !!hit && !!hit.closest('.cf-panel'); }"""
    ), "the bottom of the custom-field popover is covered or clipped"
    out = Path(SHOTS) if SHOTS else tmp_path
    page.screenshot(path=str(out / "people-cf-filter-desktop.png"))
    assert no_sideways_scroll(page)
