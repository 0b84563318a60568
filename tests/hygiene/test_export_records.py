"""The generic export of any record type: deals and tasks as CSV or JSON lines, filtered like
their lists or by a saved view, live records of the caller's workspace only; through the app
and through a real server process (where the bin, a saved view and the export are written and
read by separate requests)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rapport.core import csv_cells, listing
from rapport.core.context import Context
from rapport.sales.views.deals import VIEW_PARAMS
from rapport.web import saved_views
from tests.live import Server, new_workspace, signed_in_browser
from tests.sales.factories import make_deal, make_pipeline
from tests.web.conftest import csrf_from

Api = Callable[[str], TestClient]
DEAL_HEADER = [
    "id", "title", "amount", "currency", "status", "pipeline_id", "stage_id", "owner_id",
    "person_id", "company_id", "expected_close_date", "closed_at", "close_reason", "created_at",
    "updated_at",
]  # fmt: skip


def _rows(text: str) -> list[dict[str, str]]:
    """A CSV export's rows as our import reads them, after checking no cell is a formula."""
    header, *rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    return [dict(zip(header, csv_cells.restore_row(row), strict=True)) for row in rows]


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(row["title"] for row in _rows(response.text))


class TestDeals:
    def test_csv_has_the_columns_and_inert_cells(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        deal = make_deal(api, pipeline, title="=HYPERLINK(1)", amount="12.50")
        response = api.get("/api/v1/exports/deals.csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == 'attachment; filename="deals.csv"'
        assert next(csv.reader(io.StringIO(response.text))) == DEAL_HEADER
        (row,) = _rows(response.text)
        assert row["title"] == "=HYPERLINK(1)"  # written '=HYPERLINK(1), read back whole
        assert (row["id"], row["amount"], row["status"]) == (deal["id"], "12.50", "open")
        assert row["person_id"] == "" and row["created_at"] == deal["created_at"].replace(
            "Z", "+00:00"
        )

    def test_filters_like_the_list_and_the_bin_stays_out(self, api: TestClient) -> None:
        pipeline = make_pipeline(api)
        won, _open, binned = (make_deal(api, pipeline, title=t) for t in ("Won", "Open", "Bin"))
        api.post(f"/api/v1/deals/{won['id']}/won", json={})
        assert api.delete(f"/api/v1/deals/{binned['id']}").status_code == 200
        assert _titles(api.get("/api/v1/exports/deals.csv")) == ["Open", "Won"]
        assert _titles(api.get("/api/v1/exports/deals.csv", params={"status": "won"})) == ["Won"]
        expression = json.dumps({"field": "title", "op": "startswith", "value": "op"})
        by_filter = api.get("/api/v1/exports/deals.csv", params={"filter": expression})
        assert _titles(by_filter) == ["Open"]
        assert api.post(f"/api/v1/deals/{binned['id']}/restore").status_code == 200
        assert _titles(api.get("/api/v1/exports/deals.csv")) == ["Bin", "Open", "Won"]

    def test_json_lines_keep_types_as_text(self, api: TestClient) -> None:
        make_deal(api, make_pipeline(api), title="Lined", amount="1000.10")
        response = api.get("/api/v1/exports/deals.jsonl")
        assert response.headers["content-type"].startswith("application/x-ndjson")
        (line,) = _lines(response.text)
        assert list(line) == DEAL_HEADER
        assert (line["title"], line["amount"], line["person_id"]) == ("Lined", "1000.10", None)

    def test_a_saved_deal_view_filters_the_export(self, api: TestClient, ada_ctx: Context) -> None:
        pipeline = make_pipeline(api)
        won = make_deal(api, pipeline, title="Won")
        make_deal(api, pipeline, title="Open")
        api.post(f"/api/v1/deals/{won['id']}/won", json={})
        view = saved_views.save_view(
            ada_ctx, "deal", name="Won", query="status=won&sort=-amount", allowed=VIEW_PARAMS
        )
        person_view = saved_views.save_view(
            ada_ctx, "person", name="Leads", query="stage=lead", allowed=("stage",)
        )
        ada_ctx.session.flush()
        exported = api.get("/api/v1/exports/deals.csv", params={"view": str(view.id)})
        assert _titles(exported) == ["Won"]
        wrong = api.get("/api/v1/exports/deals.csv", params={"view": str(person_view.id)})
        assert wrong.status_code == 422 and "does not list deals" in wrong.text
        missing = api.get("/api/v1/exports/deals.csv", params={"view": str(uuid.uuid4())})
        assert missing.status_code == 404

    def test_mistakes_are_answered_before_the_stream(self, api: TestClient) -> None:
        bad_sort = api.get("/api/v1/exports/deals.csv", params={"sort": "colour"})
        assert bad_sort.status_code == 422 and "cannot sort by 'colour'" in bad_sort.text
        unknown = api.get("/api/v1/exports/deals.csv", params={"colour": "red"})
        assert unknown.status_code == 422 and "unknown field 'colour'" in unknown.text
        assert api.get("/api/v1/exports/deals.xlsx").status_code == 404

    def test_keyset_chunks_cover_every_row_once(
        self, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pipeline = make_pipeline(api)
        for n in range(5):
            make_deal(api, pipeline, title=f"Deal {n}")
        monkeypatch.setattr(listing, "EXPORT_CHUNK", 2)
        assert _titles(api.get("/api/v1/exports/deals.csv")) == [f"Deal {n}" for n in range(5)]


class TestTasks:
    def test_tasks_export_filtered_by_their_fields(self, api: TestClient) -> None:
        deal = make_deal(api, make_pipeline(api))
        about = api.post("/api/v1/tasks", json={"title": "+Call", "deal_id": deal["id"]}).json()
        api.post("/api/v1/tasks", json={"title": "Other", "priority": "high"})
        rows = _lines(api.get("/api/v1/exports/tasks.jsonl", params={"deal_id": deal["id"]}).text)
        assert [(r["id"], r["title"], r["deal_id"]) for r in rows] == [
            (about["id"], "+Call", deal["id"])
        ]
        assert _titles(api.get("/api/v1/exports/tasks.csv", params={"priority": "high"})) == [
            "Other"
        ]
        assert api.delete(f"/api/v1/tasks/{about['id']}").status_code == 200
        assert _titles(api.get("/api/v1/exports/tasks.csv")) == ["Other"]


class TestAccess:
    def test_managers_export_members_and_read_only_do_not(
        self, api: TestClient, api_as: Api
    ) -> None:
        make_deal(api, make_pipeline(api), title="Secret")
        assert _titles(api_as("max").get("/api/v1/exports/deals.csv")) == ["Secret"]
        for who in ("ben", "cleo"):
            assert api_as(who).get("/api/v1/exports/deals.csv").status_code == 403, who
            assert api_as(who).get("/api/v1/exports/tasks.jsonl").status_code == 403, who

    def test_another_workspace_exports_only_its_own(self, api: TestClient, api_as: Api) -> None:
        make_deal(api, make_pipeline(api), title="Acme only")
        assert _titles(api_as("dev").get("/api/v1/exports/deals.csv")) == []


# --- through a real server -----------------------------------------------------------------


def test_a_real_server_bins_restores_saves_a_view_and_exports_through_it(
    live_server: Server,
) -> None:
    email, headers = new_workspace(live_server, "records")
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as api:
        pipeline = make_pipeline(api)
        won, binned = (make_deal(api, pipeline, title=t) for t in ("=Won", "Binned"))
        assert api.post(f"/api/v1/deals/{won['id']}/won", json={}).status_code == 200
        task = api.post("/api/v1/tasks", json={"title": "Chase", "deal_id": binned["id"]}).json()
        assert api.delete(f"/api/v1/deals/{binned['id']}").status_code == 200
        assert api.delete(f"/api/v1/tasks/{task['id']}").status_code == 200
        assert api.delete(f"/api/v1/tasks/{task['id']}").status_code == 404  # already binned
        assert _titles(api.get("/api/v1/exports/deals.csv")) == ["=Won"]
        assert _lines(api.get("/api/v1/exports/tasks.jsonl").text) == []
        assert api.post(f"/api/v1/deals/{binned['id']}/restore").status_code == 200
        assert api.post(f"/api/v1/tasks/{task['id']}/restore").status_code == 200
        assert _titles(api.get("/api/v1/exports/deals.csv")) == ["=Won", "Binned"]
        assert [t["title"] for t in _lines(api.get("/api/v1/exports/tasks.jsonl").text)] == [
            "Chase"
        ]
        with signed_in_browser(live_server, email, csrf_from) as browser:
            page = browser.get("/deals/list", params={"status": "won"})
            saved = browser.post("/deals/list/views", data={
                "csrf_token": csrf_from(page.text), "name": "Won", "query": "status=won",
            })  # fmt: skip
            assert saved.status_code == 303, saved.text
            view_id = saved.headers["location"].rsplit("view=", 1)[1]
        by_view = api.get("/api/v1/exports/deals.csv", params={"view": view_id})
        assert _titles(by_view) == ["=Won"]
