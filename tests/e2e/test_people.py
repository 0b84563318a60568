"""People in a real browser: add one, find them with a typo, edit in place, see a conflict
between two tabs, log a call and see it on the timeline."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import add_person, sign_in

PERSON_URL = re.compile(r"/people/[0-9a-f-]{36}$")


def test_add_a_person_then_find_them_by_search_with_a_typo(server: Server, page: Page):
    sign_in(page, server)
    page.get_by_role("link", name="Add person").first.click()
    suffix = uuid.uuid4().hex[:6]
    page.get_by_label("First name").fill("Katherine")
    page.get_by_label("Last name").fill(f"Johnson{suffix}")
    page.get_by_label("Email").fill(f"kj.{suffix}@nasa.example.com")
    page.get_by_label("Lifecycle stage").select_option("customer")
    page.get_by_role("button", name="Add person").click()
    expect(page).to_have_url(PERSON_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Katherine Johnson{suffix}")
    expect(page.get_by_role("status")).to_contain_text("was added")
    page.wait_for_load_state("networkidle")  # the search box's script is listening
    record_url = page.url

    search = page.get_by_role("combobox", name="Search people and companies")
    search.click()
    search.press_sequentially(f"katherin johnson{suffix}", delay=15)
    option = page.get_by_role("listbox", name="Search results").get_by_role("option").first
    expect(option).to_contain_text(f"Katherine Johnson{suffix}")
    page.keyboard.press("Enter")
    expect(page).to_have_url(record_url)


def test_list_sorts_and_filters_without_reloading(server: Server, page: Page):
    tag = f"e2e{uuid.uuid4().hex[:6]}"
    for first in ("Bea", "Abe", "Cy"):
        add_person(server, first, "Listed", f"{first.lower()}.{tag}@example.com", tags=[tag])
    sign_in(page, server)
    page.get_by_label("Tag", exact=True).select_option(tag)
    rows = page.locator("#people-results tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Abe Listed")
    expect(page).to_have_url(re.compile(rf"tag={tag}"))
    page.get_by_role("link", name="Name").click()
    expect(rows.first).to_contain_text("Cy Listed")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Name")


def test_edit_a_field_in_place(server: Server, page: Page):
    person_id = add_person(server, "Edith", "Clarke", f"edith.{uuid.uuid4().hex[:6]}@example.com")
    sign_in(page, server)
    page.goto(f"{server.url}/people/{person_id}")
    details = page.locator("#person-details")
    details.get_by_role("link", name="Edit", exact=True).click()
    details.get_by_label("Job title").fill("Electrical engineer")
    details.get_by_role("button", name="Save").click()
    expect(details.get_by_text("Electrical engineer")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.reload()
    expect(page.locator("#person-details")).to_contain_text("Electrical engineer")


def test_two_tabs_editing_the_same_person_see_a_conflict(server: Server, new_page):  # type: ignore[no-untyped-def]
    person_id = add_person(server, "Hedy", "Lamarr", f"hedy.{uuid.uuid4().hex[:6]}@example.com")
    first, second = new_page(), new_page()
    for tab in (first, second):
        sign_in(tab, server)
        tab.goto(f"{server.url}/people/{person_id}")
        tab.locator("#person-details").get_by_role("link", name="Edit", exact=True).click()
    first.locator("#person-details").get_by_label("Job title").fill("Actress")
    first.locator("#person-details").get_by_role("button", name="Save").click()
    expect(first.locator("#person-details")).to_contain_text("Actress")
    second.locator("#person-details").get_by_label("Job title").fill("Inventor")
    second.locator("#person-details").get_by_role("button", name="Save").click()
    alert = second.locator("#person-details").get_by_role("alert")
    expect(alert).to_contain_text("Someone else changed this person")
    second.reload()
    expect(second.locator("#person-details")).to_contain_text("Actress")


def test_log_a_call_and_see_it_on_the_timeline(server: Server, page: Page):
    person_id = add_person(server, "Alan", "Kay", f"alan.{uuid.uuid4().hex[:6]}@example.com")
    sign_in(page, server)
    page.goto(f"{server.url}/people/{person_id}")
    expect(page.locator("#timeline")).to_contain_text("Nothing here yet")
    page.get_by_role("radio", name="Call").check()
    page.get_by_label("Subject").fill("Talked about Smalltalk")
    page.get_by_label("What happened?").fill("Wants a demo next week.")
    page.get_by_role("button", name="Log it").click()
    item = page.locator("#timeline .tl-item").first
    expect(item).to_contain_text("Talked about Smalltalk")
    expect(item).to_contain_text("Call · Phone")  # kind and channel in words
    expect(page.get_by_label("Subject")).to_have_value("")  # the form cleared itself
    expect(page.get_by_role("status")).to_contain_text("Call logged.")


def test_save_a_view_and_reopen_it(server: Server, page: Page):
    tag = f"view{uuid.uuid4().hex[:6]}"
    add_person(server, "Viewed", "Person", f"viewed.{tag}@example.com", tags=[tag])
    sign_in(page, server)
    page.get_by_label("Tag", exact=True).select_option(tag)
    expect(page.locator("#people-results tbody tr")).to_have_count(1)
    page.locator("summary", has_text="Save view").click()
    page.get_by_label("Name this view").fill(f"Tagged {tag}")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    page.goto(server.url + "/people")
    tabs = page.get_by_role("navigation", name="Saved views")
    tabs.get_by_role("link", name=f"Tagged {tag}").click()
    expect(page).to_have_url(re.compile(rf"tag={tag}.*view="))
    expect(page.get_by_label("Tag", exact=True)).to_have_value(tag)
    expect(page.locator("#people-results tbody tr")).to_have_count(1)
    current = tabs.locator("[aria-current=page]")
    expect(current).to_contain_text(f"Tagged {tag}")
