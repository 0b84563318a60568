"""Bulk actions on the deal and task lists in a real browser (issue 14): select all the deals a
search and filter keep, more than the loaded page, and move them to a stage; the deal and task
lists with a selection, at desktop and phone width, fit their width."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_bulk_and_record import no_sideways_scroll
from tests.e2e.test_shell import sign_in
from tests.sales.factories import make_deal, make_pipeline, stage_id


def api_client(server: Server) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.token()}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def test_select_all_matching_deals_and_move_them_to_a_stage(
    server: Server, page: Page, tmp_path: Path
) -> None:
    word = f"Orbit{uuid.uuid4().hex[:5]}"
    with api_client(server) as api:
        pipe = make_pipeline(api, name=f"Bulk {word}")
        for i in range(57):  # more than the page of 50
            make_deal(api, pipe, title=f"{word} {i:02}", amount=str(100 + i))
        make_deal(api, pipe, title="Another deal")  # in the pipeline, not in the search
    sign_in(page, server)
    page.goto(f"{server.url}/deals/list?pipeline={pipe['id']}&q={word}")
    expect(page.locator("#deals-count")).to_contain_text("57 deals")
    page.get_by_label("Select all loaded rows").check()
    bar = page.get_by_role("region", name="Selected deals")
    expect(bar).to_contain_text("50 selected")
    bar.get_by_role("button", name="Select all 57 matching").click()
    expect(bar).to_contain_text("57 selected")
    shots = Path(os.environ.get("RAPPORT_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "deals-select-all-matching.png"))
    bar.locator("summary", has_text="Stage").click()
    bar.get_by_label("Move to stage").select_option(label="Proposal")
    bar.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("57 deals moved to the chosen stage")
    expect(page).to_have_url(re.compile(rf"q={word}"))
    with api_client(server) as api:
        moved = api.get("/api/v1/deals", params={"stage_id": stage_id(pipe, "Proposal"),
                                                  "limit": 200}).json()["items"]  # fmt: skip
    assert len(moved) == 57 and all(d["title"].startswith(word) for d in moved)


def test_the_deal_and_task_lists_with_a_selection_fit_desktop_and_phone(
    server: Server, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    with api_client(server) as api:
        pipe = make_pipeline(api, name=f"Fit {uuid.uuid4().hex[:4]}")
        first = make_deal(api, pipe, title="A deal with a rather long title to wrap")
        for title in ("Send the proposal to the harbour master", "Book the site visit"):
            assert api.post("/api/v1/tasks", json={"title": title, "due_at": due}).is_success
    shots = Path(os.environ.get("RAPPORT_SCREENSHOTS") or tmp_path)
    for width, label in ((1280, "desktop"), (375, "phone")):
        page = new_page(width, 800)
        sign_in(page, server)
        page.goto(f"{server.url}/deals/list?pipeline={pipe['id']}")
        page.get_by_label(f"Select {first['title']}").check()
        expect(page.get_by_role("region", name="Selected deals")).to_be_visible()
        page.screenshot(path=str(shots / f"deals-bulk-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), "the deal list scrolls sideways"
        page.goto(f"{server.url}/tasks?view=team")
        page.get_by_label("Select “Book the site visit”").check()
        bar = page.get_by_role("region", name="Selected tasks")
        expect(bar).to_contain_text("1 selected")
        page.screenshot(path=str(shots / f"tasks-bulk-{label}.png"), full_page=True)
        assert no_sideways_scroll(page), "the task list scrolls sideways"
