"""Workspace configuration in the settings area, in a real browser (Debian's Chromium):
a custom field made in Settings is set on a person and filters the people list."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import add_person, sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


# The page walk in test_bulk_and_record imports this module, so its helpers are not imported
# from there (a cycle); these are the same few lines.
def api(server: Server, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token()}"}
    return httpx.request(method, server.url + path, headers=headers, **kwargs)  # type: ignore[arg-type]


def ensure_field(server: Server, object_type: str, key: str, label: str, kind: str) -> None:
    body = {"object_type": object_type, "key": key, "label": label, "field_type": kind}
    response = api(server, "POST", "/api/v1/custom-fields", json=body)
    assert response.status_code in (201, 409), response.text


def group(server: Server, names: list[str]) -> tuple[str, list[str]]:
    """People with a tag of their own, so a test can list just them."""
    tag = f"cfg{uuid.uuid4().hex[:6]}"
    ids = [
        add_person(server, first, "Bulk", f"{first.lower()}.{tag}@example.com", tags=[tag])
        for first in names
    ]
    return tag, ids


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


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


def walk_settings_config(server: Server, page: Page, out: Path, label: str) -> None:
    """The configuration pages of the settings area, each with something in it: shot, and
    none may scroll sideways (the page walk calls this at desktop and phone width). The rules
    it adds touch no other test's leads (the server is shared): the routing rule is off, the
    scoring rule matches only its own "Walkthrough" person, for a point (the leads page ranks
    by score)."""
    ensure_field(server, "person", "nps", "Last NPS", "number")
    fields = api(server, "GET", "/api/v1/custom-fields").json()
    nps = next(f for f in fields if f["key"] == "nps")
    pipeline = api(server, "POST", "/api/v1/pipelines", json={"name": f"Walk {label}"}).json()
    first = pipeline["stages"][0]["id"]
    ensure_field(server, "deal", "seats", "Seats", "number")
    deal = api(server, "POST", "/api/v1/deals",
               json={"title": "Walk deal", "amount": "100", "currency": "EUR",
                     "pipeline_id": pipeline["id"], "stage_id": first,
                     "custom": {"seats": 12}}).json()  # fmt: skip
    api(server, "POST", "/api/v1/routing/rules",
        json={"name": f"Company owner {label}", "kind": "company_owner",
              "is_active": False})  # fmt: skip
    api(server, "POST", "/api/v1/scoring/rules",
        json={"name": f"Walker {label}", "kind": "job_title_contains",
              "params": {"text": "Walkthrough"},
              "points": 1})  # fmt: skip
    form = api(server, "POST", "/api/v1/lead-forms",
               json={"name": f"Contact {label}",
                     "allowed_origins": ["https://www.example.com"]}).json()  # fmt: skip
    person = add_person(server, "Walter", "Walk", f"walter.{uuid.uuid4().hex[:6]}@example.com",
                        job_title="Walkthrough guide")  # fmt: skip
    pages = [
        ("settings-fields", "/settings/fields", "Custom fields"),
        ("settings-field", f"/settings/fields/{nps['id']}", "Last NPS"),
        ("settings-pipelines", "/settings/pipelines", "Pipelines"),
        ("settings-pipeline", f"/settings/pipelines/{pipeline['id']}", pipeline["name"]),
        ("settings-routing", f"/settings/routing?q=Walter&person={person}", "Lead routing"),
        ("settings-scoring", "/settings/scoring", "Lead scoring"),
        ("settings-lead-forms", "/settings/lead-forms", "Lead forms"),
        ("settings-lead-form", f"/settings/lead-forms/{form['id']}", form["name"]),
        ("deal-custom-fields", f"/deals/{deal['id']}", "Fields"),
        ("deals-cf-filter", "/deals/list?cf=seats&cfop=gte&cfv=10", "Deals"),
    ]
    for name, path, heading in pages:
        page.goto(server.url + path)
        expect(page.get_by_role("heading", name=heading, exact=False).first).to_be_visible()
        page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), f"{path} scrolls sideways at {label} width"


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1280, 800),
                                                        ("phone", 375, 812)])  # fmt: skip
def test_the_custom_field_filter_is_whole_on_a_phone(  # type: ignore[no-untyped-def]
    server: Server, new_page, tmp_path: Path, label: str, width: int, height: int
):
    """The list's custom-field popover stays inside the window at either width."""
    ensure_field(server, "person", "nps", "Last NPS", "number")
    tag, _ids = group(server, ["Pia"])
    page = new_page(width, height)
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}")
    page.locator("summary", has_text="Custom field").click()
    panel = page.locator(".cf-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    page.get_by_label("Field", exact=True).select_option("nps")
    expect(page.get_by_label("Value", exact=True)).to_be_visible()
    out = Path(SHOTS) if SHOTS else tmp_path
    page.screenshot(path=str(out / f"people-cf-filter-{label}.png"))
    assert no_sideways_scroll(page)
