"""People custom fields and tags through import and export: mapping by header, key or label,
values typed by the hub's rules, bad cells rejected by line and column, tags created and added,
reruns and export → import round trips (CSV, JSON lines, vCard) that change nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rapport.core.context import Context
from rapport.hygiene.service import columns, import_uploads
from tests.hygiene.jobs_helper import drain_jobs

FIELDS = (
    ("plan", "select", {"label": "Plan", "options": ["free", "pro", "gold"]}),
    ("seats", "number", {"label": "Seat count"}),
    ("renewal", "date", {"label": "Renewal date"}),
    ("vip", "boolean", {"label": "VIP"}),
    ("budget", "money", {"label": "Budget", "currency": "EUR"}),
    ("topics", "multiselect", {"label": "Topics", "options": ["ai", "crm", "web"]}),
    ("notes", "text", {"label": "Notes"}),
)
# Headers: custom.<key>, the key itself, the label (any case/punctuation), and tags.
PEOPLE = (
    "email,first_name,custom.plan,seats,Renewal Date,vip,budget,topics,notes,Tags\n"
    "ada@example.com,Ada,pro,12,2026-03-01,yes,1200.5,ai; crm,Likes tea,vip; Beta\n"
    "bob@example.com,Bob,platinum,3,,,,,,\n"  # line 3: not an option
    "cy@example.com,Cy,free,many,,,,,,\n"  # line 4: not a number
    "di@example.com,Di,,,31/12/2026,,,,,\n"  # line 5: not a date
    "eve@example.com,Eve,,,,perhaps,,,,\n"  # line 6: not a boolean
    "fay@example.com,Fay,gold,,,no,,web,,beta\n"
)


def _define(client: TestClient, object_type: str = "person") -> None:
    for key, kind, extra in FIELDS:
        body = {"object_type": object_type, "key": key, "field_type": kind, **extra}
        response = client.post("/api/v1/custom-fields", json=body)
        assert response.status_code == 201, response.text


def _upload(client: TestClient, name: str, text: str, **form: Any) -> dict[str, Any]:
    files = {"file": (name, text.encode(), "application/octet-stream")}
    response = client.post("/api/v1/imports", files=files, data=form)
    assert response.status_code == 202, response.text
    drain_jobs()
    job = client.get(f"/api/v1/imports/{response.json()['id']}").json()
    assert job["status"] == "done", job
    return job


def _rejects(client: TestClient, job: dict[str, Any]) -> list[tuple[str, str, str]]:
    text = client.get(f"/api/v1/imports/{job['id']}/rejects.csv").text
    return [(r["line"], r["column"], r["reason"]) for r in csv.DictReader(io.StringIO(text))]


def _person(client: TestClient, email: str) -> dict[str, Any]:
    found = client.get("/api/v1/people", params={"email": email}).json()["items"]
    assert len(found) == 1, email
    return dict(client.get(f"/api/v1/people/{found[0]['id']}").json())


def _state(client: TestClient) -> list[tuple[Any, ...]]:
    items = client.get("/api/v1/people", params={"limit": 200}).json()["items"]
    people = [client.get(f"/api/v1/people/{p['id']}").json() for p in items]
    return sorted(
        (p["id"], p["version"], json.dumps(p["custom"], sort_keys=True),
         sorted(t["name"] for t in p["tags"]))
        for p in people
    )  # fmt: skip


def _without_ids(body: str, fmt: str) -> str:
    """An export without its Rapport ids, for another workspace (people match by email)."""
    lines = body.splitlines()
    if fmt == "csv":
        lines = [line.split(",", 1)[1] for line in lines]
    elif fmt == "jsonl":
        lines = [json.dumps({k: v for k, v in json.loads(x).items() if k != "id"})
                 for x in lines]  # fmt: skip
    return "\n".join(lines) + "\n"


NAME = st.text(alphabet=st.sampled_from("ab ;,\\&-é"), min_size=1, max_size=12).map(
    lambda t: " ".join(t.split())
)


@given(st.lists(NAME.filter(bool), max_size=6))
def test_a_list_joined_into_one_cell_splits_back_into_the_same_names(names: list[str]) -> None:
    assert columns.split_tags(columns.join_list(names)) == list(dict.fromkeys(names))


class TestPeopleCustomImport:
    def test_custom_fields_are_mapped_typed_and_bad_cells_rejected_by_line_and_column(
        self, api: TestClient
    ) -> None:
        _define(api)
        job = _upload(api, "people.csv", PEOPLE)
        assert job["mapping"]["custom.plan"] == "custom.plan"
        assert job["mapping"]["seats"] == "custom.seats"  # the key
        assert job["mapping"]["Renewal Date"] == "custom.renewal"  # the label
        assert job["mapping"]["Tags"] == "tags"
        assert (job["created"], job["rejected"]) == (2, 4)
        rejects = _rejects(api, job)
        assert [(line, column) for line, column, _ in rejects] == [
            ("3", "custom.plan"),
            ("4", "seats"),
            ("5", "Renewal Date"),
            ("6", "vip"),
        ]
        assert "platinum" in rejects[0][2] and "not a number" in rejects[1][2]
        assert "not a date" in rejects[2][2] and "true or false" in rejects[3][2]
        ada = _person(api, "ada@example.com")
        assert ada["custom"] == {
            "plan": "pro",
            "seats": 12,
            "renewal": "2026-03-01",
            "vip": True,
            "budget": {"amount": "1200.50", "currency": "EUR"},
            "topics": ["ai", "crm"],
            "notes": "Likes tea",
        }
        assert sorted(t["name"] for t in ada["tags"]) == ["Beta", "vip"]
        fay = _person(api, "fay@example.com")
        assert fay["custom"] == {"plan": "gold", "vip": False, "topics": ["web"]}
        # "beta" is the tag "Beta" (tags are case-insensitive): one tag, not two.
        assert [t["name"] for t in fay["tags"]] == ["Beta"]
        tags = api.get("/api/v1/tags", params={"limit": 100}).json()["items"]
        assert sorted(t["name"] for t in tags) == ["Beta", "vip"]
        # The people list filters by the imported values (they are stored typed).
        gold = api.get("/api/v1/people", params={"filter": json.dumps(
            {"field": "cf.plan", "op": "eq", "value": "gold"})}).json()["items"]  # fmt: skip
        assert [p["email"] for p in gold] == ["fay@example.com"]

    def test_rerun_changes_nothing_and_a_changed_value_or_new_tag_is_an_update(
        self, api: TestClient
    ) -> None:
        _define(api)
        _upload(api, "people.csv", PEOPLE)
        before = _state(api)
        again = _upload(api, "people.csv", PEOPLE)
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
        assert _state(api) == before
        change = (
            "email,plan,seats,tags\n"
            "ada@example.com,pro,13,\n"  # a changed value
            "fay@example.com,gold,,Newsletter\n"  # a new tag (the old ones stay)
            "zoe@example.com,free,1,\n"  # a new person
        )
        job = _upload(api, "change.csv", change)
        assert (job["created"], job["updated"], job["unchanged"]) == (1, 2, 0)
        ada = _person(api, "ada@example.com")
        assert ada["custom"]["seats"] == 13 and ada["custom"]["plan"] == "pro"
        assert ada["custom"]["notes"] == "Likes tea"  # not in the file: kept
        fay = _person(api, "fay@example.com")
        assert sorted(t["name"] for t in fay["tags"]) == ["Beta", "Newsletter"]

    def test_unknown_custom_field_in_the_mapping_is_refused_with_a_clear_message(
        self, api: TestClient
    ) -> None:
        _define(api)
        files = {"file": ("p.csv", b"email,Level\nada@example.com,3\n", "text/csv")}
        response = api.post("/api/v1/imports", files=files, data={"map": ["Level=custom.level"]})
        assert response.status_code == 422, response.text
        body = response.text
        assert "unknown custom field 'custom.level'" in body and "custom.plan" in body
        known = api.post("/api/v1/imports", files=files, data={"map": ["Level=custom.seats"]})
        assert known.status_code == 202, known.text
        drain_jobs()
        assert _person(api, "ada@example.com")["custom"] == {"seats": 3}

    def test_a_new_person_needs_the_required_custom_fields(self, api: TestClient) -> None:
        body = {"object_type": "person", "key": "region", "label": "Sales region",
                "field_type": "text", "required": True}  # fmt: skip
        assert api.post("/api/v1/custom-fields", json=body).status_code == 201
        text = "email,Sales Region\nada@example.com,EMEA\nbob@example.com,\n"
        job = _upload(api, "p.csv", text)
        assert (job["created"], job["rejected"]) == (1, 1)
        assert _rejects(api, job) == [("3", "Sales Region", "Sales region is required")]
        assert _person(api, "ada@example.com")["custom"] == {"region": "EMEA"}
        # Without the column at all, the field is named by its target.
        job = _upload(api, "q.csv", "email\ncy@example.com\n")
        assert _rejects(api, job) == [("2", "custom.region", "Sales region is required")]

    def test_company_custom_fields_are_not_people_fields(self, api: TestClient) -> None:
        _define(api, "company")
        job = _upload(api, "p.csv", "email,plan\nada@example.com,pro\n")
        assert "plan" not in job["mapping"]
        assert _person(api, "ada@example.com")["custom"] == {}

    def test_the_web_mapping_offers_people_custom_fields_and_previews_their_problems(
        self, api: TestClient, ada_ctx: Context
    ) -> None:
        _define(api)
        targets = dict(import_uploads.targets(ada_ctx, "person"))
        assert targets["custom.plan"] == "custom: Plan" and "tags" in targets
        staged = import_uploads.stage(
            ada_ctx, filename="p.csv", stream=io.BytesIO(PEOPLE.encode()), object="person"
        )
        view = import_uploads.preview(ada_ctx, staged)
        assert view.mapping["Renewal Date"] == "custom.renewal"
        assert [r.ok for r in view.rows] == [True, False, False, False, False]
        plan = view.columns.index("custom.plan")
        assert view.rows[1].cells[plan][1] is not None  # the bad option, on its cell
        assert view.rows[0].cells[view.columns.index("seats")][0] == "12"
        import_uploads.discard(staged)


class TestPeopleCustomExport:
    def test_exports_carry_custom_fields_and_tags_in_every_format(self, api: TestClient) -> None:
        _define(api)
        _upload(api, "people.csv", PEOPLE)
        text = api.get("/api/v1/exports/people.csv").text
        rows = {r["email"]: r for r in csv.DictReader(io.StringIO(text))}
        ada = rows["ada@example.com"]
        assert ada["tags"] == "Beta; vip"
        assert (ada["custom.plan"], ada["custom.seats"], ada["custom.vip"]) == ("pro", "12", "true")
        assert ada["custom.budget"] == "1200.50 EUR" and ada["custom.topics"] == "ai; crm"
        assert rows["fay@example.com"]["custom.seats"] == ""
        lines = api.get("/api/v1/exports/people.jsonl").text.splitlines()
        by_email = {json.loads(line)["email"]: json.loads(line) for line in lines}
        assert by_email["ada@example.com"]["tags"] == ["Beta", "vip"]
        assert by_email["ada@example.com"]["custom"]["budget"] == {
            "amount": "1200.50",
            "currency": "EUR",
        }
        assert by_email["fay@example.com"]["custom"] == {
            "plan": "gold",
            "vip": False,
            "topics": ["web"],
        }
        cards = api.get("/api/v1/exports/people.vcf").text
        assert "CATEGORIES:Beta,vip" in cards
        assert "X-RAPPORT-FIELD;X-KEY=budget:1200.50 EUR" in cards

    def test_csv_and_jsonl_round_trips_change_nothing(self, api: TestClient) -> None:
        _define(api)
        _upload(api, "people.csv", PEOPLE)
        before = _state(api)
        for fmt in ("csv", "jsonl", "vcf"):
            body = api.get(f"/api/v1/exports/people.{fmt}").text
            job = _upload(api, f"people.{fmt}", body)
            assert (job["created"], job["updated"], job["rejected"]) == (0, 0, 0), (fmt, job)
            assert job["unchanged"] == 2
            assert _state(api) == before, fmt

    @pytest.mark.parametrize("fmt", ["csv", "jsonl", "vcf"])
    def test_a_round_trip_into_a_fresh_workspace_rebuilds_the_same_values(
        self, api: TestClient, api_as: Any, fmt: str
    ) -> None:
        _define(api)
        _upload(api, "people.csv", PEOPLE)
        globex = api_as("dev")
        _define(globex)
        _upload(
            globex,
            f"people.{fmt}",
            _without_ids(api.get(f"/api/v1/exports/people.{fmt}").text, fmt),
        )
        for email in ("ada@example.com", "fay@example.com"):
            person = _person(globex, email)
            assert person["custom"] == _person(api, email)["custom"], fmt
        ada = _person(globex, "ada@example.com")
        assert sorted(t["name"] for t in ada["tags"]) == ["Beta", "vip"]

    @pytest.mark.parametrize("fmt", ["csv", "jsonl", "vcf"])
    def test_tag_names_holding_separators_survive_a_round_trip(
        self, api: TestClient, api_as: Any, fmt: str
    ) -> None:
        names = ["R&D, EMEA", "a;b", "back\\slash", "plain"]
        body = {"first_name": "Sep", "email": "sep@example.com", "tags": names}
        assert api.post("/api/v1/people", json=body).status_code == 201
        globex = api_as("dev")
        _upload(
            globex,
            f"people.{fmt}",
            _without_ids(api.get(f"/api/v1/exports/people.{fmt}").text, fmt),
        )
        copy = _person(globex, "sep@example.com")
        assert sorted(t["name"] for t in copy["tags"]) == sorted(names)
