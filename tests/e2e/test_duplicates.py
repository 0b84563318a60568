"""The duplicates review queue in a real browser: merge a pair with HTMX, then undo it."""

from __future__ import annotations

import random
import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.test_shell import add_person, follow, sign_in


def test_merge_a_pair_from_the_queue_and_undo_it(server: Server, page: Page) -> None:
    tag = uuid.uuid4().hex[:6]
    phone = f"+1 415 555 {random.randrange(10_000):04d}"
    first = add_person(server, "Hedwig", f"Quux{tag}", f"hq{tag}@example.org", phone=phone)
    api = httpx.Client(base_url=server.url,
                       headers={"Authorization": f"Bearer {server.token()}"})  # fmt: skip
    phone = api.get(f"/api/v1/people/{first}").json()["phone"]
    second = add_person(server, "Hedwig", f"Qux{tag}", f"hq{tag}@other.example.org", phone=phone)
    assert api.post("/api/v1/duplicates/scan", json={}).status_code == 200
    pairs = api.get("/api/v1/duplicates", params={"limit": 500}).json()["items"]
    ours = next(p for p in pairs if {p["person_a"], p["person_b"]} == {first, second})
    for other in pairs:  # put ours first in the queue: skip the rest
        if other["id"] != ours["id"]:
            api.post(f"/api/v1/duplicates/{other['id']}/decision", json={"decision": "skip"})

    sign_in(page, server)
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates"))
    card = page.locator(f"#pair-{ours['id']}")
    expect(card).to_be_visible()
    expect(card.locator("mark").first).to_be_visible()  # the differing surname is marked
    card.get_by_role("button", name="Merge").click()
    expect(card).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("Merged")
    assert api.get(f"/api/v1/people/{second}").status_code == 404
    page.get_by_role("status").get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("undone")
    # Undo keeps the reviewer in the queue, with the pair back in it.
    expect(page).to_have_url(f"{server.url}/duplicates")
    expect(page.locator(f"#pair-{ours['id']}")).to_be_visible()
    assert api.get(f"/api/v1/people/{second}").status_code == 200
