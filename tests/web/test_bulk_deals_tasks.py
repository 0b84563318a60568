"""Bulk actions from the deal list and the task list (issue 14): on the ticked rows or on all
that the list keeps (beyond the loaded page), all or nothing, capped, audited and announced
per record like a single change; refused without the permission or the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select

from rapport.core import listing
from rapport.core.events import AuditEntry, OutboxEvent
from rapport.sales.views import deals as deal_views
from tests.conftest import Cast
from tests.sales.factories import make_deal, make_pipeline, stage_id
from tests.web.conftest import csrf_from
from tests.web.test_bulk_pages import flash_text
from tests.web.test_lists import NOW, task

MANY = 105  # more than a loaded page (50) and than the first 100 of anything


def post(client: TestClient, path: str, page: str, **data: Any) -> Any:
    token = csrf_from(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data})


def deals_in(api: TestClient, **params: str) -> list[dict[str, Any]]:
    """Every live deal the API lists with these filters (all its pages)."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": "500", **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/deals", params=query).json()
        found += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return found


def topics(connection: Connection, topic: str, ids: list[str]) -> tuple[int, int]:
    """How many audit rows and outbox events ``topic`` has for these records."""
    wanted = set(ids)
    audits = connection.execute(
        select(AuditEntry.record_id).where(AuditEntry.action == topic)
    ).scalars()
    events = connection.execute(
        select(OutboxEvent.record_id).where(OutboxEvent.topic == topic)
    ).scalars()
    return (
        sum(1 for r in audits if str(r) in wanted),
        sum(1 for r in events if str(r) in wanted),
    )


@pytest.fixture
def pipe(api: TestClient) -> dict[str, Any]:
    return make_pipeline(api)


class TestDealList:
    def test_rows_have_checkboxes_and_the_bar_offers_all_matching(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        made = [make_deal(api, pipe, title=f"Deal {i}") for i in range(3)]
        monkeypatch.setattr(deal_views, "LIST_LIMIT", 2)
        html = signed_in.get(f"/deals/list?pipeline={pipe['id']}").text
        assert 'form id="deals-bulk"' in html and "data-bulk-bar" in html
        assert f'value="{made[2]["id"]}" data-bulk-row aria-label="Select Deal 2"' in html
        assert 'data-bulk-matching data-total="3"' in html
        assert f'name="scope_query" value="pipeline={pipe["id"]}"' in html
        assert 'value="delete"' in html  # Ada (owner) may bin deals

    def test_read_only_gets_no_checkboxes_and_a_member_no_delete(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient, pipe: dict[str, Any]
    ) -> None:
        make_deal(api, pipe)
        assert "data-bulk-row" not in signed_in_as("cleo").get("/deals/list").text
        ben = signed_in_as("ben").get("/deals/list").text
        assert "data-bulk-row" in ben and 'value="delete"' not in ben


class TestDealBulk:
    def test_stage_for_all_matching_reaches_beyond_the_loaded_page(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any],
        connection: Connection,
    ) -> None:  # fmt: skip
        made = [make_deal(api, pipe, title=f"Bulk {i:03}") for i in range(MANY)]
        other = make_pipeline(api, name="Partners")
        outside = make_deal(api, other, title="Not in the filter")
        page = f"/deals/list?pipeline={pipe['id']}"
        assert signed_in.get(page).text.count("data-bulk-row") == 50  # one page loaded
        proposal = stage_id(pipe, "Proposal")
        response = post(signed_in, "/deals/bulk", page, action="stage", stage_id=proposal,
                        scope="all", scope_query=f"pipeline={pipe['id']}", next=page)  # fmt: skip
        assert response.status_code == 303 and response.headers["location"] == page
        assert f"{MANY} deals moved to the chosen stage" in flash_text(signed_in)
        assert len(deals_in(api, stage_id=proposal)) == MANY
        assert api.get(f"/api/v1/deals/{outside['id']}").json()["stage_id"] != proposal
        # Audited and announced per deal, as one move from the board is.
        assert topics(connection, "deal.moved", [d["id"] for d in made]) == (MANY, MANY)

    def test_search_is_re_run_for_all_matching(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any], cast: Cast
    ) -> None:
        found = make_deal(api, pipe, title="Zephyr expansion")
        other = make_deal(api, pipe, title="Acme renewal")
        post(signed_in, "/deals/bulk", "/deals/list", action="assign",
             owner_id=str(cast.ben.user_id), scope="all", scope_query="q=Zephyr")  # fmt: skip
        assert api.get(f"/api/v1/deals/{found['id']}").json()["owner_id"] == str(cast.ben.user_id)
        assert api.get(f"/api/v1/deals/{other['id']}").json()["owner_id"] == str(cast.ada.user_id)

    def test_change_owner_of_ticked_rows_audits_each(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any], cast: Cast,
        connection: Connection,
    ) -> None:  # fmt: skip
        made = [make_deal(api, pipe, title=f"Own {i}") for i in range(2)]
        ids = [d["id"] for d in made]
        post(signed_in, "/deals/bulk", "/deals/list", ids=ids, action="assign",
             owner_id=str(cast.ben.user_id))  # fmt: skip
        assert "2 deals now owned by Ben" in flash_text(signed_in)
        assert {api.get(f"/api/v1/deals/{i}").json()["owner_id"] for i in ids} == {
            str(cast.ben.user_id)
        }
        assert topics(connection, "deal.updated", ids) == (2, 2)

    def test_a_mix_of_pipelines_is_refused_with_a_clear_message(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any]
    ) -> None:
        other = make_pipeline(api, name="Partners")
        ids = [make_deal(api, pipe)["id"], make_deal(api, other)["id"]]
        post(signed_in, "/deals/bulk", "/deals/list", ids=ids, action="stage",
             stage_id=stage_id(pipe, "Proposal"))  # fmt: skip
        message = flash_text(signed_in)
        assert "Nothing was changed" in message and "in 2 pipelines" in message
        assert all(
            api.get(f"/api/v1/deals/{i}").json()["stage_id"] != stage_id(pipe, "Proposal")
            for i in ids
        )

    def test_one_refused_deal_rolls_back_them_all(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any]
    ) -> None:
        open_ones = [make_deal(api, pipe, title=f"Open {i}") for i in range(3)]
        closed = make_deal(api, pipe, title="Already won")
        assert api.post(f"/api/v1/deals/{closed['id']}/won", json={}).status_code == 200
        ids = [d["id"] for d in open_ones] + [closed["id"]]
        post(signed_in, "/deals/bulk", "/deals/list", ids=ids, action="stage",
             stage_id=stage_id(pipe, "Proposal"))  # fmt: skip
        message = flash_text(signed_in)
        assert "Nothing was changed" in message and "“Already won”" in message
        for deal in open_ones:
            assert api.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] == deal["stage_id"]

    def test_mark_won_and_lost(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any]
    ) -> None:
        won = [make_deal(api, pipe)["id"] for _ in range(2)]
        lost = make_deal(api, pipe)["id"]
        post(signed_in, "/deals/bulk", "/deals/list", ids=won, action="won")
        post(signed_in, "/deals/bulk", "/deals/list", ids=[lost], action="lost")
        assert {api.get(f"/api/v1/deals/{i}").json()["status"] for i in won} == {"won"}
        assert api.get(f"/api/v1/deals/{lost}").json()["status"] == "lost"

    def test_bin_needs_deals_delete_and_goes_through_the_one_soft_delete(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient,
        pipe: dict[str, Any], connection: Connection,
    ) -> None:  # fmt: skip
        ids = [make_deal(api, pipe, title=f"Bin {i}")["id"] for i in range(2)]
        ben = signed_in_as("ben")  # a member: deals:write, not deals:delete
        refused = post(ben, "/deals/bulk", "/deals/list", ids=ids, action="delete")
        assert refused.status_code == 403
        assert len(deals_in(api)) == 2
        post(signed_in, "/deals/bulk", "/deals/list", ids=ids, action="delete")
        assert "2 deals moved to the bin" in flash_text(signed_in)
        assert deals_in(api) == []
        assert topics(connection, "deal.deleted", ids) == (2, 2)
        # The bin's own restore brings one back, as after a single delete.
        assert api.post(f"/api/v1/deals/{ids[0]}/restore").status_code == 200
        assert [d["id"] for d in deals_in(api)] == [ids[0]]

    def test_needs_the_csrf_token_and_write_access(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient,
        pipe: dict[str, Any],
    ) -> None:  # fmt: skip
        deal = make_deal(api, pipe)
        proposal = stage_id(pipe, "Proposal")
        no_token = signed_in.post("/deals/bulk", data={"ids": [deal["id"]], "action": "stage",
                                                       "stage_id": proposal})  # fmt: skip
        assert no_token.status_code == 403
        cleo = signed_in_as("cleo")
        refused = post(cleo, "/deals/bulk", "/deals/list", ids=[deal["id"]], action="stage",
                       stage_id=proposal)  # fmt: skip
        assert refused.status_code == 403
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] != proposal

    def test_past_the_cap_nothing_changes_and_it_says_how_many(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        made = [make_deal(api, pipe)["id"] for _ in range(3)]
        monkeypatch.setattr(listing, "MAX_MATCHING", 2)
        post(signed_in, "/deals/bulk", "/deals/list", action="won", scope="all",
             scope_query=f"pipeline={pipe['id']}")  # fmt: skip
        message = flash_text(signed_in)
        assert "Nothing was changed. This would change 3 deals; narrow the filter below 2" in (
            message.replace(":", ".")
        )
        assert {api.get(f"/api/v1/deals/{i}").json()["status"] for i in made} == {"open"}

    @pytest.mark.parametrize(
        ("data", "said"),
        [
            ({"action": "explode"}, "Choose what to do with the selected deals"),
            ({"action": "stage"}, "Choose a stage to move them to"),
            ({"action": "assign", "owner_id": "00000000-0000-0000-0000-000000000000"},
             "Choose someone from the list"),
            ({"action": "won", "ids": []}, "Select at least one row first"),
        ],
    )  # fmt: skip
    def test_validation_messages(
        self, signed_in: TestClient, api: TestClient, pipe: dict[str, Any],
        data: dict[str, Any], said: str,
    ) -> None:  # fmt: skip
        deal = make_deal(api, pipe)
        body = {"ids": [deal["id"]], **data}
        response = post(signed_in, "/deals/bulk", "/deals/list", next="https://evil.example/",
                        **body)  # fmt: skip
        assert response.status_code == 303 and response.headers["location"] == "/deals/list"
        assert said in flash_text(signed_in)
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["version"] == deal["version"]


class TestTaskBulk:
    def test_done_for_all_matching_reaches_beyond_the_loaded_page(
        self, signed_in: TestClient, api: TestClient, connection: Connection
    ) -> None:
        made = [task(api, title=f"Todo {i:03}") for i in range(MANY)]
        page = "/tasks?view=team"
        html = signed_in.get(page).text
        assert html.count("data-bulk-row") == 50 and "Select all 105 matching" in html
        response = post(signed_in, "/tasks/bulk", page, action="done", scope="all",
                        scope_query="view=team", next=page)  # fmt: skip
        assert response.status_code == 303 and response.headers["location"] == page
        assert f"{MANY} tasks marked done" in flash_text(signed_in)
        assert all(api.get(f"/api/v1/tasks/{t['id']}").json()["done"] for t in made)
        assert topics(connection, "task.updated", [t["id"] for t in made]) == (MANY, MANY)
        post(signed_in, "/tasks/bulk", "/tasks?view=done", action="reopen", scope="all",
             scope_query="view=done")  # fmt: skip
        assert not any(api.get(f"/api/v1/tasks/{t['id']}").json()["done"] for t in made)

    def test_a_colleagues_task_refuses_a_members_whole_selection(
        self, signed_in_as: Callable[[str], TestClient], api: TestClient, cast: Cast
    ) -> None:
        ben = signed_in_as("ben")
        his = task(api, title="Bens task", assignee_id=str(cast.ben.user_id))
        adas = task(api, title="Adas task")
        post(ben, "/tasks/bulk", "/tasks?view=team", ids=[his["id"], adas["id"]], action="done")
        message = flash_text(ben)
        assert "Nothing was changed" in message and "“Adas task”" in message
        assert not api.get(f"/api/v1/tasks/{his['id']}").json()["done"]

    def test_reassign_and_change_the_due_date(
        self, signed_in: TestClient, api: TestClient, cast: Cast
    ) -> None:
        ids = [task(api, title=f"Move {i}")["id"] for i in range(2)]
        post(signed_in, "/tasks/bulk", "/tasks", ids=ids, action="due", due_date="2031-03-04",
             due_time="09:30", tz="UTC")  # fmt: skip
        assert "2 tasks now due on 2031-03-04" in flash_text(signed_in)
        dues = {api.get(f"/api/v1/tasks/{i}").json()["due_at"][:16] for i in ids}
        assert dues == {"2031-03-04T09:30"}
        post(signed_in, "/tasks/bulk", "/tasks", ids=ids, action="assign",
             assignee_id=str(cast.ben.user_id))  # fmt: skip
        assert "2 tasks now assigned to Ben" in flash_text(signed_in)
        owners = {api.get(f"/api/v1/tasks/{i}").json()["assignee_id"] for i in ids}
        assert owners == {str(cast.ben.user_id)}
        post(signed_in, "/tasks/bulk", "/tasks", ids=ids, action="due", due_date="31/02")
        assert "the due date or time is not a date" in flash_text(signed_in)

    def test_bin_goes_through_the_one_soft_delete(
        self, signed_in: TestClient, api: TestClient, connection: Connection
    ) -> None:
        ids = [task(api, title=f"Gone {i}")["id"] for i in range(2)]
        post(signed_in, "/tasks/bulk", "/tasks", ids=ids, action="delete")
        assert "2 tasks moved to the bin" in flash_text(signed_in)
        assert all(api.get(f"/api/v1/tasks/{i}").status_code == 404 for i in ids)
        assert topics(connection, "task.deleted", ids) == (2, 2)

    def test_read_only_and_csrf_are_refused(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient
    ) -> None:
        made = task(api)
        no_token = signed_in.post("/tasks/bulk", data={"ids": [made["id"]], "action": "done"})
        assert no_token.status_code == 403
        cleo = signed_in_as("cleo")
        assert post(cleo, "/tasks/bulk", "/tasks", ids=[made["id"]],
                    action="done").status_code == 403  # fmt: skip
        assert not api.get(f"/api/v1/tasks/{made['id']}").json()["done"]

    def test_past_the_cap_nothing_changes(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        made = [task(api)["id"] for _ in range(3)]
        monkeypatch.setattr(listing, "MAX_MATCHING", 2)
        post(signed_in, "/tasks/bulk", "/tasks", action="done", scope="all", scope_query="")
        assert "This would change 3 tasks; narrow the filter below 2" in flash_text(signed_in)
        assert not any(api.get(f"/api/v1/tasks/{i}").json()["done"] for i in made)

    def test_my_tasks_offer_checkboxes_but_not_on_done_rows(
        self, signed_in: TestClient, api: TestClient
    ) -> None:
        open_one = task(api, title="Still open", due_at=(NOW + timedelta(days=1)).isoformat())
        done = task(api, title="Finished")
        api.patch(f"/api/v1/tasks/{done['id']}", json={"done": True})
        html = signed_in.get("/tasks").text
        assert 'form id="tasks-bulk"' in html
        assert f'value="{open_one["id"]}" form="tasks-bulk" data-bulk-row' in html
        assert f'value="{done["id"]}" form="tasks-bulk"' not in html
        assert re.search(r'name="action" value="done"', html)
