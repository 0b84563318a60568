"""Companies in a real browser: add one through the form, find it in the list, open it, delete
it and undo."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import follow, sign_in

COMPANY_URL = re.compile(r"/companies/[0-9a-f-]{36}$")


def test_add_a_company_see_it_in_the_list_and_open_it(server: Server, page: Page):
    sign_in(page, server)
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Companies"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Companies")
    page.get_by_role("link", name="Add company").first.click()
    suffix = uuid.uuid4().hex[:6]
    name = f"Difference Engines {suffix}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Domain").fill(f"https://www.engines-{suffix}.example.com/")
    page.get_by_label("Industry").fill("Machinery")
    page.get_by_label("Employees").fill("42")
    page.get_by_role("button", name="Add company").click()
    expect(page).to_have_url(COMPANY_URL)
    record_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("link", name=f"engines-{suffix}.example.com")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("was added")

    page.goto(server.url + "/companies")
    page.get_by_label("Filter by industry").fill("machin")
    row_link = page.locator("#company-results").get_by_role("link", name=name)
    expect(row_link).to_be_visible()
    row_link.click()
    expect(page).to_have_url(record_url)

    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/companies$"))
    toast = page.get_by_role("status")
    expect(toast).to_contain_text("moved to the bin")
    toast.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(record_url)
    expect(page.get_by_role("status")).to_contain_text("was restored")
