"""Lists in a real browser (issue 14, item 3): select all the people a filter keeps, more than
the first page, and tag them; export the current view and import it back into another
workspace unchanged."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import SHOTS, follow, sign_in
from tests.live import start_server

FIELDS = ("first_name", "last_name", "email", "phone", "job_title", "lifecycle_stage", "source")


def api(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token()}"}
    return httpx.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


def add_many(server: Server, tag: str, n: int, **extra: Any) -> None:
    items = [
        {"first_name": f"Many{i:03}", "last_name": tag.capitalize(),
         "email": f"many{i}.{tag}@example.com", "tags": [tag], **extra}
        for i in range(n)
    ]  # fmt: skip
    response = api(server, "POST", "/api/v1/people/bulk", json={"items": items})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == n, response.text


def people_tagged(server: Server, tag: str | None) -> list[dict[str, Any]]:
    """The people with this tag (None: everyone)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"tag": tag, "limit": 200} if tag else {"limit": 200}
        params |= {"cursor": cursor} if cursor else {}
        body = api(server, "GET", "/api/v1/people", params=params).json()
        found += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def test_select_all_matching_and_tag_them(server: Server, page: Page) -> None:
    tag = f"all{uuid.uuid4().hex[:6]}"
    add_many(server, tag, 63)  # more than the first page of 50
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}")
    expect(page.locator("#people-count")).to_contain_text("63 people")
    page.get_by_label("Select all loaded rows").check()
    bar = page.get_by_role("region", name="Selected people")
    expect(bar).to_contain_text("50 selected")
    bar.get_by_role("button", name="Select all 63 matching").click()
    expect(bar).to_contain_text("63 selected")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "people-select-all-matching.png"))
    bar.locator("summary", has_text="Tag").click()
    bar.get_by_label("Tag names, comma-separated").fill(f"{tag}-done")
    bar.get_by_role("button", name="Add tags").click()
    expect(page.get_by_role("status")).to_contain_text(f"Tagged 63 people with “{tag}-done”")
    assert len(people_tagged(server, f"{tag}-done")) == 63


@pytest.fixture
def other_server(tmp_path: Path) -> Iterator[Server]:
    """A second installation: another workspace to import the export into."""
    running = start_server(tmp_path, with_owner=True)
    yield running
    running.stop()
    running.drop_database()


def test_export_the_view_and_import_it_elsewhere(
    server: Server, other_server: Server, page: Page, tmp_path: Path
) -> None:
    tag = f"exp{uuid.uuid4().hex[:6]}"
    add_many(server, tag, 4, job_title="Buyer", lifecycle_stage="customer", source="fair")
    add_many(server, tag + "x", 2)  # not in the view
    sign_in(page, server)
    page.goto(f"{server.url}/people?tag={tag}&stage=customer")
    expect(page.locator("#people-count")).to_contain_text("4 people")
    page.locator("summary", has_text="Export").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    exported = tmp_path / "people.csv"
    download_info.value.save_as(exported)
    text = exported.read_text(encoding="utf-8")
    assert text.count("@example.com") == 4 and f"{tag}x" not in text

    sign_in(page, other_server)
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports"))
    page.get_by_label("File").set_input_files(str(exported))
    page.get_by_label("Records").select_option("person")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Upload and preview").click()
    # The ids are the first workspace's: in another one the rows are new people, as they are.
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Start import").click()
    expect(page).to_have_url(re.compile(r"/imports/[0-9a-f-]{36}$"))
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done")
    expect(progress.locator('[data-count="created"]')).to_have_text("4")

    def shape(people: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(tuple(p[f] for f in FIELDS) for p in people)

    original = people_tagged(server, tag)
    imported = people_tagged(other_server, None)  # a new workspace: only what was imported
    assert len(imported) == 4
    assert shape(imported) == shape(original)
