"""Bulk actions, custom fields and the main pages in a real browser (Debian's Chromium).

Every page of these tests fails its test on a console error (see conftest). With
RAPPORT_SCREENSHOTS set, the walk-through keeps its pictures there to look at.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_settings_config import walk_settings_config
from tests.e2e.test_shell import add_person, sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


def api(server: Server, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token()}"}
    return httpx.request(method, server.url + path, headers=headers, **kwargs)  # type: ignore[arg-type]


def ensure_field(server: Server, object_type: str, key: str, label: str, kind: str) -> None:
    body = {"object_type": object_type, "key": key, "label": label, "field_type": kind}
    response = api(server, "POST", "/api/v1/custom-fields", json=body)
    assert response.status_code in (201, 409), response.text


def group(server: Server, names: list[str]) -> tuple[str, list[str]]:
    """People with a tag of their own, so a test can list just them."""
    tag = f"grp{uuid.uuid4().hex[:6]}"
    ids = [
        add_person(server, first, "Bulk", f"{first.lower()}.{tag}@example.com", tags=[tag])
        for first in names
    ]
    return tag, ids


def no_sideways_scroll(page: Page) -> bool:
    """The page fits its width (tables scroll inside their own box, not the page)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def overlaps(page: Page, selector: str) -> list[str]:
    """The pairs of ``selector``'s visible children whose boxes overlap, text spilling out of
    its box, and the header overlapping what follows it (none, if the layout holds)."""
    return list(page.evaluate(
        """(selector) => {
          const box = document.querySelector(selector);
          const parts = [...box.children].filter((el) => el.offsetParent !== null);
          const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
                                && a.top < b.bottom - 1 && b.top < a.bottom - 1;
          const found = [];
          parts.forEach((a, i) => parts.slice(i + 1).forEach((b) => {
            if (hit(a.getBoundingClientRect(), b.getBoundingClientRect()))
              found.push(a.className + " / " + b.className);
          }));
          // Text wider than its own box spills over its neighbours though the boxes do not.
          box.querySelectorAll("h1, p, .badge").forEach((el) => {
            if (el.scrollWidth > el.clientWidth + 1) found.push(el.tagName + " overflows");
          });
          const next = box.nextElementSibling;
          if (next && hit(box.getBoundingClientRect(), next.getBoundingClientRect()))
            found.push(selector + " / " + next.className);
          return found;
        }""",
        selector,
    ))  # fmt: skip


def walk_words_pages(server: Server, page: Page, out: Path, label: str) -> None:
    """The leads, duplicates, data-quality and merges pages: plain words, nothing hidden or
    sideways at this width; the two records of a pair side by side or stacked, both in view."""
    tag = uuid.uuid4().hex[:6]
    phone = f"+1 415 555 {int(tag, 16) % 10_000:04d}"
    ours = {add_person(server, "Walburga", f"Quist{tag}", f"wq{tag}@example.org", phone=phone),
            add_person(server, "Walburga", f"Qist{tag}", f"wq{tag}@other.example.org",
                       phone=phone)}  # fmt: skip
    assert api(server, "POST", "/api/v1/duplicates/scan", json={}).status_code == 200
    pairs = api(server, "GET", "/api/v1/duplicates", params={"limit": 500}).json()["items"]
    for other in pairs:  # ours first in the queue: skip the rest
        if {other["person_a"], other["person_b"]} != ours:
            api(server, "POST", f"/api/v1/duplicates/{other['id']}/decision",
                json={"decision": "skip"})  # fmt: skip
    long_name = add_person(server, "Maximiliana", "Bartholomäusbergerhofer-Sigmaringen",
                           f"mt{tag}@example.org", job_title="Head of Procurement")  # fmt: skip
    page.goto(f"{server.url}/people/{long_name}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maximiliana")
    page.screenshot(path=str(out / f"person-long-name-{label}.png"))
    assert not overlaps(page, ".record-header"), "a long name overlaps the person header"
    assert no_sideways_scroll(page), "a long name makes the person page scroll sideways"
    for path, heading, name in (("/leads", "Leads", "leads"), ("/duplicates", "Duplicates",
                                "duplicates"), ("/quality", "Data quality", "quality"),
                                ("/merges", "Merges", "merges")):  # fmt: skip
        page.goto(server.url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), f"{path} scrolls sideways"
        if path == "/duplicates":
            pair = page.locator("[data-pair]", has_text=f"Quist{tag}")
            merged_in = pair.locator('td[data-side="Merged in"]').first
            expect(merged_in).to_be_visible()
            box = merged_in.bounding_box()
            assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]
            assert int(pair.locator("[data-probability]").inner_text().split()[0]) < 100
            expect(pair).to_contain_text("Lead")  # the stage in words
        if path == "/quality":  # every figure shown whole, inside the page
            for figure in page.locator(".quality-share, .stat dd").all():
                fig = figure.bounding_box()
                assert fig is not None and fig["x"] + fig["width"] <= page.viewport_size["width"]
                assert figure.evaluate("el => el.scrollWidth <= el.clientWidth + 1")


def tags_of(server: Server, person_id: str) -> set[str]:
    body = api(server, "GET", f"/api/v1/people/{person_id}").json()
    return {t["name"] for t in body["tags"]}


def test_bulk_tag_two_people(server: Server, page: Page):
    tag, ids = group(server, ["Ida", "Ivo", "Ines"])
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}")
    rows = page.locator("#people-results tbody tr")
    expect(rows).to_have_count(3)
    bar = page.get_by_role("region", name="Selected people")
    expect(bar).to_be_hidden()
    page.get_by_label("Select Ida Bulk").check()
    page.get_by_label("Select Ines Bulk").check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("2 selected")
    expect(page.get_by_label("Select all loaded rows")).to_have_js_property("indeterminate", True)
    bar.locator("summary", has_text="Tag").click()
    bar.get_by_label("Tag names, comma-separated").fill("vip-e2e")
    bar.get_by_role("button", name="Add tags").click()
    expect(page.get_by_role("status")).to_contain_text("Tagged 2 people with “vip-e2e”")
    expect(page).to_have_url(re.compile(rf"tag={tag}"))  # back to the same list
    assert "vip-e2e" in tags_of(server, ids[0]) and "vip-e2e" in tags_of(server, ids[2])
    assert "vip-e2e" not in tags_of(server, ids[1])


def test_bulk_delete_then_undo(server: Server, page: Page):
    tag, ids = group(server, ["Dora", "Dan"])
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}")
    rows = page.locator("#people-results tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Select all loaded rows").check()
    bar = page.get_by_role("region", name="Selected people")
    expect(bar).to_contain_text("2 selected")
    bar.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete 2 people?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    bar.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    toast = page.get_by_role("status")
    expect(toast).to_contain_text("2 people moved to the bin.")
    expect(page.get_by_role("heading", name="No people match")).to_be_visible()
    toast.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("2 people restored.")
    page.goto(f"{server.url}/people?tag={tag}")
    expect(rows).to_have_count(2)
    assert api(server, "GET", f"/api/v1/people/{ids[0]}").status_code == 200


def test_delete_a_person_from_their_page_then_undo(server: Server, page: Page):
    person_id = add_person(server, "Una", "Undone", f"una.{uuid.uuid4().hex[:6]}@example.com")
    sign_in(page, server)
    page.goto(f"{server.url}/people/{person_id}")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Una Undone was moved to the bin.")
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(page).to_have_url(f"{server.url}/people/{person_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Una Undone")


def test_edit_a_custom_field(server: Server, page: Page):
    ensure_field(server, "person", "nps", "Last NPS", "number")
    person_id = add_person(server, "Cora", "Custom", f"cora.{uuid.uuid4().hex[:6]}@example.com")
    sign_in(page, server)
    page.goto(f"{server.url}/people/{person_id}")
    details = page.locator("#person-details")
    details.get_by_role("link", name="Edit", exact=True).click()
    details.get_by_label("Last NPS").fill("ten")
    details.get_by_role("button", name="Save").click()
    expect(details.locator(".field-error")).to_contain_text("is not a number")
    expect(details.get_by_label("Last NPS")).to_have_attribute("aria-invalid", "true")
    details.get_by_label("Last NPS").fill("9")
    details.get_by_role("button", name="Save").click()
    expect(details.locator("dl")).to_contain_text("Last NPS")
    expect(details.locator("div", has_text="Last NPS").locator("dd")).to_have_text("9")
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    body = api(server, "GET", f"/api/v1/people/{person_id}").json()
    assert body["custom"]["nps"] == 9


def test_filter_by_a_custom_field(server: Server, page: Page):
    ensure_field(server, "person", "nps", "Last NPS", "number")
    tag, ids = group(server, ["Fay", "Fox"])
    api(server, "PATCH", f"/api/v1/people/{ids[0]}", json={"custom": {"nps": 10}})
    api(server, "PATCH", f"/api/v1/people/{ids[1]}", json={"custom": {"nps": 3}})
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}")
    rows = page.locator("#people-results tbody tr")
    expect(rows).to_have_count(2)
    page.locator("summary", has_text="Custom field").click()
    page.get_by_label("Field", exact=True).select_option("nps")
    # Only the operators a number takes are offered.
    expect(page.locator("#people-cfop option[value=contains]")).to_be_disabled()
    page.get_by_label("Condition").select_option("gte")
    page.get_by_label("Value", exact=True).fill("8")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Fay Bulk")
    expect(page).to_have_url(re.compile(r"cf=nps&cfop=gte&cfv=8"))
    page.reload()
    expect(rows).to_have_count(1)


@pytest.mark.parametrize(("label", "width", "height"), [("desktop", 1280, 800),
                                                        ("phone", 375, 812)])  # fmt: skip
def test_walk_the_main_pages_without_console_errors(  # type: ignore[no-untyped-def]
    server: Server,
    new_page,
    errors: list[str],
    tmp_path: Path,
    label: str,
    width: int,
    height: int,
):
    """People list with the bulk bar, a person page, the companies list and a company page,
    an error page: at desktop and phone width, none may log a console error."""
    out = Path(SHOTS) if SHOTS else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    ensure_field(server, "person", "nps", "Last NPS", "number")
    company = api(server, "POST", "/api/v1/companies",
                  json={"name": f"Walk Co {uuid.uuid4().hex[:4]}", "industry": "Software",
                        "size": 120, "tags": ["partner"]}).json()  # fmt: skip
    tag, ids = group(server, ["Wendy", "Walt", "Wanda"])
    api(server, "PATCH", f"/api/v1/people/{ids[0]}",
        json={"company_id": company["id"], "job_title": "CTO", "custom": {"nps": 9}})  # fmt: skip
    api(server, "POST", "/api/v1/activities",
        json={"kind": "purchase", "person_id": ids[0], "amount": "129.90", "currency": "EUR",
              "subject": "Annual plan"})  # fmt: skip
    page = new_page(width, height)
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}")
    page.get_by_label("Select all loaded rows").check()
    expect(page.get_by_role("region", name="Selected people")).to_be_visible()
    page.screenshot(path=str(out / f"people-bulk-{label}.png"), full_page=True)
    assert no_sideways_scroll(page), "the people list scrolls sideways"
    page.goto(f"{server.url}/people/{ids[0]}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Wendy Bulk")
    expect(page.get_by_role("heading", name="Communication")).to_be_visible()
    page.get_by_label("Purchase").check()
    expect(page.get_by_label("Amount")).to_be_visible()
    page.screenshot(path=str(out / f"person-{label}.png"), full_page=True)
    assert no_sideways_scroll(page), "the person page scrolls sideways"
    assert not overlaps(page, ".record-header"), "the person header overlaps"
    page.goto(f"{server.url}/companies")
    expect(page.get_by_role("heading", level=1)).to_have_text("Companies")
    page.get_by_label(f"Select {company['name']}").check()
    expect(page.get_by_role("region", name="Selected companies")).to_be_visible()
    page.screenshot(path=str(out / f"companies-{label}.png"), full_page=True)
    assert no_sideways_scroll(page), "the companies list scrolls sideways"
    page.goto(f"{server.url}/companies/{company['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(company["name"])
    page.screenshot(path=str(out / f"company-{label}.png"), full_page=True)
    # The page may not scroll sideways at phone width.
    assert no_sideways_scroll(page), "the company page scrolls sideways"
    assert not overlaps(page, ".record-header"), "the company header overlaps"
    walk_words_pages(server, page, out, label)
    walk_settings_config(server, page, out, label)  # custom fields, pipelines, rules, forms
    # The other lists: deals, and the task list's three views (count, filters, picker).
    walk = (
        ("/deals/list", "deals-list"),
        ("/tasks", "tasks-mine"),
        ("/tasks?view=team", "tasks-team"),
        ("/tasks?view=done", "tasks-done"),
    )
    for path, name in walk:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.screenshot(path=str(out / f"{name}-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), f"{path} scrolls sideways"
    assert not errors, errors
    missing_url = f"{server.url}/people/{uuid.uuid4()}"
    missing = page.goto(missing_url)
    assert missing is not None and missing.status == 404
    # Chromium logs the 404 of the document itself; that one is expected, nothing else is.
    errors[:] = [e for e in errors if missing_url not in e]
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_attached()
    page.screenshot(path=str(out / f"not-found-{label}.png"))
    # The settings area: every section of the accounts domain.
    for path in ("profile", "tokens", "workspace", "members", "teams"):
        page.goto(f"{server.url}/settings/{path}")
        expect(page.get_by_role("navigation", name="Settings")).to_be_visible()
        page.screenshot(path=str(out / f"settings-{path}-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), f"/settings/{path} scrolls sideways"
    assert not errors, errors
