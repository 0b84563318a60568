"""The leads page and the person page's score panel in Debian Chromium (no console errors)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import follow, sign_in


def test_leads_page_orders_by_score_and_the_person_page_shows_the_panel(
    server: Server,
    page: Page,
) -> None:
    headers = {"Authorization": f"Bearer {server.token()}"}
    rule = {"name": "Decision maker", "kind": "job_title_contains", "params": {"text": "chief"},
            "points": 25}  # fmt: skip
    created = httpx.post(server.url + "/api/v1/scoring/rules", json=rule, headers=headers)
    assert created.status_code in (201, 200), created.text
    for email, title in (("low@lead.example.com", "Intern"), ("top@lead.example.com", "Chief")):
        body = {"email": email, "first_name": title + " Lead", "job_title": title}
        response = httpx.post(server.url + "/api/v1/leads", json=body, headers=headers)
        assert response.status_code == 201, response.text

    sign_in(page, server)
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads"))
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()
    rows = page.locator("#lead-rows tr")
    expect(rows.first).to_contain_text("Chief Lead")
    expect(rows.first).to_contain_text("Decision maker +25")
    expect(page.get_by_text("Ordered by rule score")).to_be_visible()

    rows.first.get_by_role("link", name="Chief Lead").click()
    panel = page.locator("#lead-score-panel")
    expect(panel.get_by_role("heading", name="Lead score")).to_be_visible()
    expect(panel.locator("[data-score]")).to_have_text("25")
    expect(panel).to_contain_text("Decision maker")
