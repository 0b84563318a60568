"""The web app in a real browser: first run, signing in and out, the shell and global search."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import OWNER_EMAIL, OWNER_PASSWORD, WORKSPACE, Server

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


def sign_in(page: Page, server: Server, email: str = OWNER_EMAIL) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.wait_for_load_state("networkidle")  # scripts (htmx) ready before the test acts


def follow(page: Page, link: Locator) -> None:
    """Click a link and wait until the new page has loaded and run its scripts, so the
    test never acts on a control whose (deferred) handler is not attached yet."""
    with page.expect_navigation(wait_until="load"):
        link.click()
    page.wait_for_load_state("networkidle")


def add_person(server: Server, first: str, last: str, email: str, **extra: object) -> str:
    """A person through the JSON API (which also indexes them for search); returns the id."""
    response = httpx.post(
        server.url + "/api/v1/people",
        json={"first_name": first, "last_name": last, "email": email, **extra},
        headers={"Authorization": f"Bearer {server.token()}"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestFirstRun:
    def test_setup_creates_the_owner_and_signs_them_in(self, fresh_server: Server, page: Page):
        page.goto(fresh_server.url + "/")
        expect(page).to_have_url(re.compile(r"/setup$"))
        expect(page.get_by_text(WORKSPACE)).to_be_visible()  # rapport init made the workspace
        page.get_by_label("Your name").fill("Olivia Owner")
        page.get_by_label("Email").fill("olivia@northwind.test")
        page.get_by_label("Password").fill("short")
        page.get_by_role("button", name="Create owner account").click()
        expect(page.locator("#password-error")).to_contain_text("at least 10")
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "setup-error-desktop.png"))
        page.get_by_label("Password").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Create owner account").click()
        expect(page).to_have_url(re.compile(r"/people$"))
        expect(page.get_by_role("status")).to_contain_text("Welcome to Rapport")
        expect(page.locator(".user-name")).to_have_text("Olivia Owner")
        page.goto(fresh_server.url + "/setup")
        expect(page).to_have_url(re.compile(r"/people$"))  # signed in: /setup -> /login -> /


class TestSignIn:
    def test_right_password_opens_the_app(self, server: Server, page: Page):
        sign_in(page, server)
        expect(page).to_have_url(re.compile(r"/people$"))
        expect(page.locator(".workspace-name")).to_have_text(WORKSPACE)
        expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()

    def test_wrong_password_shows_an_error(self, server: Server, page: Page):
        page.goto(server.url + "/login")
        page.get_by_label("Email").fill(OWNER_EMAIL)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
        expect(page.get_by_label("Email")).to_have_value(OWNER_EMAIL)

    def test_signed_out_visitor_returns_to_the_page_they_asked_for(
        self, server: Server, page: Page
    ):
        page.goto(server.url + "/companies")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fcompanies$"))
        page.get_by_label("Email").fill(OWNER_EMAIL)
        page.get_by_label("Password").fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/companies$"))

    def test_sign_out_ends_the_session(self, server: Server, page: Page):
        sign_in(page, server)
        page.get_by_label(re.compile("Account menu")).click()
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.get_by_role("status")).to_contain_text("signed out")
        page.goto(server.url + "/people")
        expect(page).to_have_url(re.compile(r"/login\?next="))


class TestShell:
    def test_slash_focuses_search_and_escape_leaves_it(self, server: Server, page: Page):
        sign_in(page, server)
        search = page.get_by_role("combobox", name="Search people and companies")
        expect(search).not_to_be_focused()
        page.keyboard.press("/")
        expect(search).to_be_focused()
        expect(search).to_have_value("")  # the slash was not typed into the box
        page.keyboard.press("Escape")
        expect(search).not_to_be_focused()

    def test_disabled_sections_are_marked_coming_soon(self, server: Server, page: Page):
        sign_in(page, server)
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Companies")).to_be_visible()
        expect(nav.get_by_role("link", name="Deals")).to_be_visible()
        expect(nav.get_by_role("link", name="Tickets")).to_have_count(0)
        expect(nav.get_by_text("Tickets")).to_be_visible()

    def test_search_finds_a_person_despite_a_typo(self, server: Server, page: Page):
        person_id = add_person(
            server, "Grace", "Hopper", f"grace.{uuid.uuid4().hex[:6]}@navy.example.com"
        )
        add_person(server, "Gracie", "Hopper", f"gracie.{uuid.uuid4().hex[:6]}@navy.example.com")
        sign_in(page, server)
        search = page.get_by_role("combobox", name="Search people and companies")
        search.click()
        search.press_sequentially("grace hoper", delay=20)
        dropdown = page.get_by_role("listbox", name="Search results")
        expect(dropdown).to_be_visible()
        expect(search).to_have_attribute("aria-expanded", "true")
        expect(dropdown.get_by_role("group", name="People")).to_be_visible()
        first = dropdown.get_by_role("option").first
        expect(first).to_contain_text("Grace Hopper")
        expect(first).to_have_attribute("href", f"/people/{person_id}")
        expect(first).to_have_attribute("aria-selected", "true")
        page.keyboard.press("ArrowDown")
        expect(first).to_have_attribute("aria-selected", "false")
        page.keyboard.press("ArrowUp")
        expect(first).to_have_attribute("aria-selected", "true")
        page.keyboard.press("Escape")
        expect(dropdown).to_be_hidden()

    def test_search_says_when_nothing_matches(self, server: Server, page: Page):
        sign_in(page, server)
        search = page.get_by_role("combobox", name="Search people and companies")
        search.fill("zzqxj")
        expect(page.locator("#search-results")).to_contain_text("No matches for “zzqxj”")

    def test_search_works_without_javascript_as_a_page(self, server: Server, page: Page):
        sign_in(page, server)
        page.goto(server.url + "/search?q=nobody+here")
        expect(page.get_by_role("heading", name="Results for “nobody here”")).to_be_visible()


@pytest.mark.parametrize(
    ("label", "width", "height"), [("desktop", 1280, 800), ("phone", 390, 844)]
)
def test_sign_in_search_and_menu_work_at_desktop_and_phone_width(  # type: ignore[no-untyped-def]
    server: Server, new_page, tmp_path: Path, label: str, width: int, height: int
):
    """The sign-in, search dropdown and account menu at both widths; with RAPPORT_SCREENSHOTS
    set, the pictures are kept there to look at."""
    out = Path(SHOTS) if SHOTS else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    for first, last in (("Ada", "Lovelace"), ("Adam", "Smith"), ("Adele", "Adkins")):
        add_person(server, first, last, f"{first.lower()}.{uuid.uuid4().hex[:6]}@example.com")
    page = new_page(width, height)
    page.goto(server.url + "/login")
    page.screenshot(path=str(out / f"login-{label}.png"))
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.screenshot(path=str(out / f"login-error-{label}.png"))
    sign_in(page, server)
    page.screenshot(path=str(out / f"people-empty-{label}.png"))
    page.keyboard.press("/")
    page.keyboard.type("ad", delay=30)
    expect(page.get_by_role("listbox", name="Search results")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.screenshot(path=str(out / f"search-{label}.png"))
    page.keyboard.press("Escape")
    page.get_by_label(re.compile("Account menu")).click()
    page.screenshot(path=str(out / f"menu-{label}.png"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    page.screenshot(path=str(out / f"signed-out-{label}.png"))
