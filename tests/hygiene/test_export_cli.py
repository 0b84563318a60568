"""``rapport export``: the same bytes as the API's export, to a file (with a progress bar) or
stdout, filtered by a filter expression or a saved view; bad input exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rapport.cli import app
from rapport.core.context import Context
from rapport.hub.views.people import VIEW_PARAMS
from rapport.web import saved_views
from tests.hygiene.jobs_helper import drain_jobs

PEOPLE = (
    "email,first_name,last_name,lifecycle_stage,plan,tags\n"
    "al@example.com,Al,Able,customer,pro,vip\n"
    "bo@example.com,Bo,Baker,lead,,\n"
    "cy@example.com,Cy,Cole,customer,free,vip; beta\n"
)
COMPANIES = (
    "name,domain,industry,tags\nInitech,initech.com,Software,vip\nGlobex,globex.com,Energy,\n"
)


def _load(api: TestClient) -> None:
    field = {"object_type": "person", "key": "plan", "label": "Plan", "field_type": "text"}
    assert api.post("/api/v1/custom-fields", json=field).status_code == 201
    for name, text, kind in (("p.csv", PEOPLE, "person"), ("c.csv", COMPANIES, "company")):
        files = {"file": (name, text.encode(), "text/csv")}
        response = api.post("/api/v1/imports", files=files, data={"object": kind})
        assert response.status_code == 202, response.text
    drain_jobs()


def _export(*args: str) -> Any:
    result = CliRunner().invoke(app, ["export", *args])
    return result


class TestExportCli:
    def test_a_file_holds_exactly_what_the_api_exports_in_each_format(
        self, api: TestClient, cast: Any, tmp_path: Path
    ) -> None:
        _load(api)
        for what, fmt in (("people", "csv"), ("people", "jsonl"), ("people", "vcf"),
                          ("companies", "csv"), ("companies", "jsonl"),
                          ("companies", "vcf")):  # fmt: skip
            out = tmp_path / f"{what}.{fmt}"
            result = _export(what, "-w", str(cast.acme), "--format", fmt, "--output", str(out))
            assert result.exit_code == 0, result.output
            expected = api.get(f"/api/v1/exports/{what}.{fmt}").text
            assert out.read_bytes().decode() == expected, (what, fmt)
            assert f"{what} written to" in result.output
            total = 3 if what == "people" else 2  # the bar's total: the rows that match
            assert f"{total}/{total}" in result.output
        people = (tmp_path / "people.csv").read_text()
        assert "custom.plan" in people and "al@example.com" in people

    def test_deals_and_tasks_export_as_the_api_does(
        self, api: TestClient, cast: Any, tmp_path: Path
    ) -> None:
        assert api.post("/api/v1/pipelines/default").status_code in (200, 201)
        for title in ("Renewal, 2027", 'The "big" one'):
            deal = {"title": title, "amount": "1200.50", "currency": "EUR"}
            assert api.post("/api/v1/deals", json=deal).status_code == 201
        assert api.post("/api/v1/tasks", json={"title": "Call back"}).status_code == 201
        for what, fmt in (("deals", "csv"), ("deals", "jsonl"), ("tasks", "csv")):
            out = tmp_path / f"{what}.{fmt}"
            result = _export(what, "-w", str(cast.acme), "--format", fmt, "--output", str(out))
            assert result.exit_code == 0, result.output
            assert out.read_bytes().decode() == api.get(f"/api/v1/exports/{what}.{fmt}").text
            assert f"{what} written to" in result.output
        deals = [json.loads(line) for line in (tmp_path / "deals.jsonl").read_text().splitlines()]
        assert sorted(d["title"] for d in deals) == ["Renewal, 2027", 'The "big" one']

    def test_stdout_by_default_and_filters_as_the_api_does(
        self, api: TestClient, cast: Any
    ) -> None:
        _load(api)
        customers = json.dumps({"field": "lifecycle_stage", "op": "eq", "value": "customer"})
        result = _export("people", "-w", "acme", "--format", "jsonl", "--filter", customers)
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert sorted(p["email"] for p in lines) == ["al@example.com", "cy@example.com"]
        expected = api.get("/api/v1/exports/people.jsonl", params={"filter": customers}).text
        assert result.stdout_bytes.decode() == expected
        vip = json.dumps({"field": "tag", "op": "eq", "value": "vip"})
        companies = _export("companies", "-w", str(cast.acme), "--format", "csv", "--filter", vip)
        assert companies.exit_code == 0, companies.output
        assert "Initech" in companies.stdout and "Globex" not in companies.stdout
        expected = api.get("/api/v1/exports/companies.csv", params={"filter": vip}).text
        assert companies.stdout_bytes.decode() == expected  # (Result.stdout folds \r\n)

    def test_a_saved_view_even_a_private_one_filters_the_export(
        self, api: TestClient, ada_ctx: Context, cast: Any, tmp_path: Path
    ) -> None:
        _load(api)
        view = saved_views.save_view(
            ada_ctx, "person", name="Leads", query="stage=lead", allowed=VIEW_PARAMS
        )
        ada_ctx.session.commit()
        out = tmp_path / "leads.csv"
        args = ["-w", str(cast.acme), "--format", "csv", "--view", str(view.id), "-o", str(out)]
        result = _export("people", *args)
        assert result.exit_code == 0, result.output
        assert "1/1" in result.output  # one lead: the bar counts what the view keeps
        expected = api.get("/api/v1/exports/people.csv", params={"view": str(view.id)}).text
        assert out.read_bytes().decode() == expected
        assert "bo@example.com" in out.read_text() and "al@example.com" not in out.read_text()

    def test_bad_input_exits_non_zero_with_a_clear_message(
        self, api: TestClient, cast: Any, tmp_path: Path
    ) -> None:
        _load(api)
        ws = str(cast.acme)
        bad_json = _export("people", "-w", ws, "--format", "csv", "--filter", "{nope")
        assert bad_json.exit_code != 0 and "filter is not valid JSON" in bad_json.output
        unknown = json.dumps({"field": "shoe_size", "op": "eq", "value": "9"})
        bad_field = _export("people", "-w", ws, "--format", "csv", "--filter", unknown)
        assert bad_field.exit_code != 0 and "shoe_size" in bad_field.output
        assert bad_field.stdout == ""
        bad_format = _export("people", "-w", ws, "--format", "xlsx")
        assert bad_format.exit_code != 0 and "unknown format 'xlsx'" in bad_format.output
        bad_what = _export("leads", "-w", ws, "--format", "csv")
        assert bad_what.exit_code != 0 and "people | companies | deals | tasks" in bad_what.output
        bad_view = _export("people", "-w", ws, "--format", "csv", "--view", "nope")
        assert bad_view.exit_code != 0 and "saved view" in bad_view.output
        out = tmp_path / "none.csv"
        nothing = _export("people", "-w", ws, "--format", "csv", "--filter", "{", "-o", str(out))
        assert nothing.exit_code != 0 and not out.exists()
