"""Members in the settings area, in real Chromium: an admin invites a member by link, the
member joins through it in a second browser, the admin deactivates them, and the member's
very next click lands on the sign-in page with a message."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import sign_in

SHOTS = os.environ.get("RAPPORT_SCREENSHOTS")


def test_invite_join_deactivate_and_the_next_click_is_refused(  # type: ignore[no-untyped-def]
    server: Server, new_page, tmp_path: Path
) -> None:
    out = Path(SHOTS) if SHOTS else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    email = f"nia.{uuid.uuid4().hex[:6]}@example.com"
    admin = new_page()
    sign_in(admin, server)
    admin.goto(f"{server.url}/settings")
    admin.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    expect(admin.get_by_role("heading", name="Members", level=2)).to_be_visible()
    admin.locator("summary", has_text="Invite by link").click()
    admin.locator("#invite-email").fill(email)
    admin.locator("#invite-role").select_option("member")
    admin.get_by_role("button", name="Create invite link").click()
    link = admin.locator("#invite-link")
    expect(link).to_have_value(re.compile(r"/invite/"))
    admin.screenshot(path=str(out / "settings-members-invited.png"), full_page=True)
    url = link.input_value()

    member = new_page()  # a second browser context: its own cookies
    member.goto(url)
    expect(member.get_by_role("heading", level=1)).to_contain_text("Join")
    member.get_by_label("Your name").fill("Nia Newcomer")
    member.get_by_label("Password").fill("a long enough password")
    member.get_by_role("button", name="Join and sign in").click()
    expect(member.get_by_role("navigation", name="Main")).to_be_visible()
    expect(member.get_by_role("status")).to_contain_text("Welcome")
    member.wait_for_load_state("networkidle")

    admin.goto(f"{server.url}/settings/members")
    row = admin.locator(f'tr[data-member="{email}"]')
    expect(row).to_contain_text("Active")
    row.locator("summary", has_text="Deactivate").click()
    row.get_by_role("button", name="Deactivate", exact=True).click()
    expect(admin.get_by_role("status")).to_contain_text("deactivated")
    expect(admin.locator(f'tr[data-member="{email}"]')).to_contain_text("Deactivated")

    member.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(member).to_have_url(re.compile(r"/login\?.*ended=1"))
    expect(member.locator("#login-notice")).to_contain_text("Your session has ended")
    member.screenshot(path=str(out / "login-session-ended.png"))
    # The link is spent: opening it again says so.
    member.goto(url)
    expect(member.get_by_role("heading", level=1)).to_have_text("This invite link no longer works")
