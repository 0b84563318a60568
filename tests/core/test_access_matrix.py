"""Every endpoint, every role, and the other workspace: who may do what, read off the
OpenAPI document so a new endpoint cannot slip past these checks unnoticed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

Api = Callable[[str], TestClient]
ROLES = ("ada", "ann", "max", "ben", "cleo")  # owner, admin, manager, member, read-only
EVERYONE = set(ROLES)
WRITERS = {"ada", "ann", "max", "ben"}
MANAGERS = {"ada", "ann", "max"}
ADMINS = {"ada", "ann"}

# Which cast members may call each operation (everyone else must get 403).
MATRIX: dict[tuple[str, str], set[str]] = {
    ("get", "/api/v1/me"): EVERYONE,
    ("get", "/api/v1/tokens"): EVERYONE,
    ("post", "/api/v1/tokens"): EVERYONE,
    ("delete", "/api/v1/tokens/{token_id}"): EVERYONE,
    ("get", "/api/v1/people"): EVERYONE,
    ("post", "/api/v1/people"): WRITERS,
    ("post", "/api/v1/people/bulk"): WRITERS,
    ("post", "/api/v1/people/bulk-actions"): WRITERS,
    ("post", "/api/v1/companies/bulk-actions"): WRITERS,
    ("get", "/api/v1/people/{person_id}"): EVERYONE,
    ("patch", "/api/v1/people/{person_id}"): WRITERS,
    ("delete", "/api/v1/people/{person_id}"): MANAGERS,
    ("post", "/api/v1/people/{person_id}/restore"): MANAGERS,
    ("get", "/api/v1/people/{person_id}/timeline"): EVERYONE,
    ("get", "/api/v1/people/{person_id}/summary"): EVERYONE,
    ("get", "/api/v1/companies"): EVERYONE,
    ("post", "/api/v1/companies"): WRITERS,
    ("get", "/api/v1/companies/{company_id}"): EVERYONE,
    ("patch", "/api/v1/companies/{company_id}"): WRITERS,
    ("delete", "/api/v1/companies/{company_id}"): MANAGERS,
    ("post", "/api/v1/companies/{company_id}/restore"): MANAGERS,
    ("get", "/api/v1/companies/{company_id}/people"): EVERYONE,
    ("get", "/api/v1/companies/{company_id}/timeline"): EVERYONE,
    ("get", "/api/v1/tags"): EVERYONE,
    ("post", "/api/v1/tags"): WRITERS,
    ("post", "/api/v1/tags/add"): WRITERS,
    ("post", "/api/v1/tags/remove"): WRITERS,
    ("get", "/api/v1/tags/{tag_id}"): EVERYONE,
    ("patch", "/api/v1/tags/{tag_id}"): WRITERS,
    ("delete", "/api/v1/tags/{tag_id}"): MANAGERS,
    ("get", "/api/v1/custom-fields"): EVERYONE,
    ("post", "/api/v1/custom-fields"): ADMINS,
    ("get", "/api/v1/custom-fields/{field_id}"): EVERYONE,
    ("patch", "/api/v1/custom-fields/{field_id}"): ADMINS,
    ("delete", "/api/v1/custom-fields/{field_id}"): ADMINS,
    ("get", "/api/v1/activities"): EVERYONE,
    ("post", "/api/v1/activities"): WRITERS,
    ("post", "/api/v1/activities/bulk"): WRITERS,
    ("get", "/api/v1/activities/{activity_id}"): EVERYONE,
    ("patch", "/api/v1/activities/{activity_id}"): WRITERS,
    ("delete", "/api/v1/activities/{activity_id}"): MANAGERS,
    ("post", "/api/v1/activities/{activity_id}/restore"): MANAGERS,
    ("get", "/api/v1/audit"): MANAGERS,
    ("get", "/api/v1/jobs"): ADMINS,
    ("post", "/api/v1/imports"): WRITERS,
    ("get", "/api/v1/imports/{import_id}"): EVERYONE,
    ("get", "/api/v1/imports/{import_id}/rejects.csv"): EVERYONE,
    ("get", "/api/v1/imports"): EVERYONE,
    ("get", "/api/v1/import-mappings"): EVERYONE,
    ("post", "/api/v1/import-mappings"): WRITERS,
    ("get", "/api/v1/import-mappings/{mapping_id}"): EVERYONE,
    ("put", "/api/v1/import-mappings/{mapping_id}"): WRITERS,
    ("delete", "/api/v1/import-mappings/{mapping_id}"): WRITERS,
    ("get", "/api/v1/exports/people.csv"): MANAGERS,
    ("get", "/api/v1/exports/people.vcf"): MANAGERS,
    ("get", "/api/v1/exports/people.jsonl"): MANAGERS,
    ("get", "/api/v1/exports/companies.csv"): MANAGERS,
    ("get", "/api/v1/exports/companies.jsonl"): MANAGERS,
    ("get", "/api/v1/exports/companies.vcf"): MANAGERS,
    ("post", "/api/v1/merges"): MANAGERS,
    ("post", "/api/v1/merges/{merge_id}/undo"): MANAGERS,
    ("post", "/api/v1/duplicates/scan"): MANAGERS,
    ("get", "/api/v1/duplicates"): EVERYONE,
    ("post", "/api/v1/duplicates/{candidate_id}/decision"): MANAGERS,
    ("get", "/api/v1/quality"): EVERYONE,
    ("post", "/api/v1/company-duplicates/scan"): MANAGERS,
    ("get", "/api/v1/company-duplicates"): EVERYONE,
    ("post", "/api/v1/company-duplicates/{candidate_id}/decision"): MANAGERS,
    ("post", "/api/v1/company-merges"): MANAGERS,
    ("post", "/api/v1/company-merges/{merge_id}/undo"): MANAGERS,
    ("post", "/api/v1/quality/stale"): MANAGERS,
    ("get", "/api/v1/hygiene/settings"): EVERYONE,
    ("put", "/api/v1/hygiene/settings"): ADMINS,
    ("post", "/api/v1/people/{person_id}/bounce"): WRITERS,
    ("delete", "/api/v1/people/{person_id}/bounce"): WRITERS,
}
MATRIX |= {  # sales
    ("get", "/api/v1/pipelines"): EVERYONE,
    ("post", "/api/v1/pipelines"): ADMINS,
    ("post", "/api/v1/pipelines/default"): WRITERS,
    ("get", "/api/v1/pipelines/{pipeline_id}"): EVERYONE,
    ("patch", "/api/v1/pipelines/{pipeline_id}"): ADMINS,
    ("delete", "/api/v1/pipelines/{pipeline_id}"): ADMINS,
    ("get", "/api/v1/pipelines/{pipeline_id}/stages"): EVERYONE,
    ("post", "/api/v1/pipelines/{pipeline_id}/stages"): ADMINS,
    ("patch", "/api/v1/pipelines/{pipeline_id}/stages/{stage_id}"): ADMINS,
    ("delete", "/api/v1/pipelines/{pipeline_id}/stages/{stage_id}"): ADMINS,
    ("get", "/api/v1/deals"): EVERYONE,
    ("post", "/api/v1/deals"): WRITERS,
    ("get", "/api/v1/deals/{deal_id}"): EVERYONE,
    ("patch", "/api/v1/deals/{deal_id}"): WRITERS,
    ("delete", "/api/v1/deals/{deal_id}"): MANAGERS,
    ("post", "/api/v1/deals/{deal_id}/restore"): MANAGERS,
    ("post", "/api/v1/deals/{deal_id}/move"): WRITERS,
    ("post", "/api/v1/deals/{deal_id}/won"): WRITERS,
    ("post", "/api/v1/deals/{deal_id}/lost"): WRITERS,
    ("post", "/api/v1/deals/{deal_id}/reopen"): WRITERS,
    ("get", "/api/v1/deals/{deal_id}/history"): EVERYONE,
    ("get", "/api/v1/deals/{deal_id}/timeline"): EVERYONE,
    ("get", "/api/v1/sales/weighted-pipeline"): EVERYONE,
    ("get", "/api/v1/sales/forecast"): EVERYONE,
    ("get", "/api/v1/sales/summary"): EVERYONE,
    ("get", "/api/v1/sales/funnel"): EVERYONE,
    ("get", "/api/v1/sales/bottlenecks"): EVERYONE,
    ("post", "/api/v1/leads"): WRITERS,
    ("get", "/api/v1/lead-forms"): ADMINS,
    ("post", "/api/v1/lead-forms"): ADMINS,
    ("delete", "/api/v1/lead-forms/{form_id}"): ADMINS,
    ("get", "/api/v1/scoring/rules"): EVERYONE,
    ("post", "/api/v1/scoring/rules"): ADMINS,
    ("patch", "/api/v1/scoring/rules/{rule_id}"): ADMINS,
    ("delete", "/api/v1/scoring/rules/{rule_id}"): ADMINS,
    ("get", "/api/v1/people/{person_id}/score"): EVERYONE,
    ("post", "/api/v1/people/{person_id}/score"): WRITERS,
    ("post", "/api/v1/sales/leads/import"): WRITERS,
    ("get", "/api/v1/sales/scoring/model"): EVERYONE,
    ("post", "/api/v1/sales/scoring/model/train"): ADMINS,
}
MATRIX |= {  # sales: routing, tasks and reminders
    ("get", "/api/v1/routing/rules"): EVERYONE,
    ("post", "/api/v1/routing/rules"): ADMINS,
    ("patch", "/api/v1/routing/rules/{rule_id}"): ADMINS,
    ("delete", "/api/v1/routing/rules/{rule_id}"): ADMINS,
    ("post", "/api/v1/people/{person_id}/route"): WRITERS,
    ("get", "/api/v1/people/{person_id}/assignments"): EVERYONE,
    ("get", "/api/v1/teams"): EVERYONE,
    ("post", "/api/v1/teams"): ADMINS,
    ("put", "/api/v1/teams/{team_id}/members"): ADMINS,
    ("get", "/api/v1/sales/settings"): EVERYONE,
    ("patch", "/api/v1/sales/settings"): ADMINS,
    ("get", "/api/v1/tasks"): EVERYONE,
    ("post", "/api/v1/tasks"): WRITERS,
    ("post", "/api/v1/tasks/reminders/run"): ADMINS,
    ("get", "/api/v1/tasks/{task_id}"): EVERYONE,
    # Ada's own task: a member may change only tasks assigned to or made by them
    ("patch", "/api/v1/tasks/{task_id}"): MANAGERS,
    ("delete", "/api/v1/tasks/{task_id}"): MANAGERS,
    ("post", "/api/v1/tasks/{task_id}/restore"): MANAGERS,
}
# No credential at all: the probes, and the public lead form (its key names the workspace).
PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/forms/{form_key}/submit"),
    ("options", "/api/v1/forms/{form_key}/submit"),
}


def operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    }


def test_every_api_operation_is_in_the_matrix(app: FastAPI) -> None:
    missing = operations(app) - set(MATRIX) - PUBLIC
    assert not missing, f"add these operations to MATRIX: {sorted(missing)}"


@pytest.fixture
def records(api: TestClient, api_as: Api) -> dict[str, str]:
    """One of each record in Acme, made by Ada; ids by path parameter name."""
    person = api.post("/api/v1/people", json={"first_name": "Matrix", "email": "m@x.org"}).json()
    company = api.post("/api/v1/companies", json={"name": "Matrix Co"}).json()
    tag = api.post("/api/v1/tags", json={"name": "matrix"}).json()
    field = api.post(
        "/api/v1/custom-fields",
        json={"object_type": "person", "key": "matrix", "label": "M", "field_type": "text"},
    ).json()
    activity = api.post(
        "/api/v1/activities", json={"kind": "note", "subject": "n", "person_id": person["id"]}
    ).json()
    token = api.post("/api/v1/tokens", json={"name": "m", "scopes": ["read"]}).json()
    upload = {"file": ("m.csv", b"email\nmatrix-import@x.org\n", "text/csv")}
    job = api.post("/api/v1/imports", files=upload).json()
    mapping = api.post("/api/v1/import-mappings", json=BODIES[MAPPING]).json()
    pipeline = api.post("/api/v1/pipelines", json={"name": "Matrix"}).json()
    deal = api.post(
        "/api/v1/deals", json={"title": "M", "currency": "EUR", "pipeline_id": pipeline["id"]}
    ).json()
    form = api.post("/api/v1/lead-forms", json={"name": "Matrix form"}).json()
    rule = api.post(
        "/api/v1/scoring/rules",
        json={"name": "CTO", "kind": "job_title_contains", "params": {"text": "cto"}, "points": 5},
    ).json()
    routing_rule = api.post(
        "/api/v1/routing/rules",
        json={"name": "DACH", "kind": "territory", "params": {"countries": ["DE"]},
              "user_id": api.get("/api/v1/me").json()["user_id"]},
    ).json()  # fmt: skip
    team = api.post("/api/v1/teams", json={"name": "Matrix team"}).json()
    task = api.post("/api/v1/tasks", json={"title": "Matrix task", "deal_id": deal["id"]}).json()
    sales = (pipeline, deal, form, rule, routing_rule, team, task)
    twin = api.post("/api/v1/people", json={"first_name": "Twin"}).json()
    extra = api.post("/api/v1/people", json={"first_name": "Twin too"}).json()
    merge = api.post("/api/v1/merges", json={"survivor_id": twin["id"], "merged_id": extra["id"]})
    merge = merge.json()
    for first in ("Henrietta", "Henrieta"):
        twin_body = {"first_name": first, "last_name": "Swan", "phone": "+14155552681"}
        api.post("/api/v1/people", json=twin_body)
    api.post("/api/v1/duplicates/scan", json={})
    candidate = api.get("/api/v1/duplicates").json()["items"][0]
    for name in ("Twin Labs Inc", "Twin Labs LLC", "Twin Labs Ltd", "Twin Labs GmbH"):
        api.post("/api/v1/companies", json={"name": name, "phone": "+14155550177"})
    api.post("/api/v1/company-duplicates/scan", json={})
    pairs = api.get("/api/v1/company-duplicates").json()["items"]
    done = api.post(f"/api/v1/company-duplicates/{pairs[0]['id']}/decision",
                    json={"decision": "merge"}).json()  # fmt: skip
    company_merge = {"id": done["reasons"]["merge_id"]}
    company_candidate = next(p for p in pairs[1:] if {p["company_a"], p["company_b"]}.isdisjoint(
        {done["company_a"], done["company_b"]}))  # fmt: skip
    for record in (person, company, tag, field, activity, token, job, merge, candidate, *sales):
        assert "id" in record, record
    return {
        "pipeline_id": pipeline["id"],
        "stage_id": pipeline["stages"][0]["id"],
        "deal_id": deal["id"],
        "form_id": form["id"],
        "rule_id": rule["id"],
        "routing_rule_id": routing_rule["id"],
        "team_id": team["id"],
        "task_id": task["id"],
        "person_id": person["id"],
        "company_id": company["id"],
        "tag_id": tag["id"],
        "field_id": field["id"],
        "activity_id": activity["id"],
        "token_id": token["id"],
        "import_id": job["id"],
        "mapping_id": mapping["id"],
        "merge_id": merge["id"],
        "candidate_id": candidate["id"],
        "company_candidate_id": company_candidate["id"],
        "company_merge_id": company_merge["id"],
    }


MAPPING = ("post", "/api/v1/import-mappings")
BODIES: dict[tuple[str, str], Any] = {
    MAPPING: {"name": "Matrix", "fields": {"E-Mail": "email"}},
    ("put", "/api/v1/import-mappings/{mapping_id}"): {"name": "M", "fields": {"Mail": "email"}},
    ("post", "/api/v1/tokens"): {"name": "t", "scopes": ["read"]},
    ("post", "/api/v1/people"): {"first_name": "New"},
    ("post", "/api/v1/people/bulk"): {"items": [{"first_name": "Bulk"}]},
    ("post", "/api/v1/companies"): {"name": "New Co"},
    ("post", "/api/v1/tags"): {"name": "new-tag"},
    ("post", "/api/v1/custom-fields"): {
        "object_type": "company",
        "key": "new_field",
        "label": "N",
        "field_type": "text",
    },
    ("post", "/api/v1/activities"): {"kind": "note", "subject": "x"},
    ("post", "/api/v1/activities/bulk"): {"items": [{"kind": "note", "subject": "x"}]},
    ("post", "/api/v1/pipelines"): {"name": "New pipeline"},
    ("post", "/api/v1/duplicates/scan"): {},
    ("post", "/api/v1/duplicates/{candidate_id}/decision"): {"decision": "skip"},
    ("put", "/api/v1/hygiene/settings"): {"inactive_days": 90},
    ("post", "/api/v1/company-duplicates/scan"): {},
    ("post", "/api/v1/people/{person_id}/bounce"): {},
    ("post", "/api/v1/pipelines/{pipeline_id}/stages"): {"name": "New stage"},
    ("post", "/api/v1/deals"): {"title": "New deal", "currency": "EUR"},
    ("post", "/api/v1/deals/{deal_id}/won"): {},
    ("post", "/api/v1/deals/{deal_id}/lost"): {},
    ("post", "/api/v1/deals/{deal_id}/reopen"): {},
    ("post", "/api/v1/leads"): {"email": "matrix.lead@example.com"},
    ("post", "/api/v1/lead-forms"): {"name": "New form"},
    ("post", "/api/v1/routing/rules"): {"name": "RR", "kind": "company_owner"},
    ("post", "/api/v1/tasks"): {"title": "New task"},
    ("put", "/api/v1/teams/{team_id}/members"): {"member_ids": []},
    ("post", "/api/v1/scoring/rules"): {
        "name": "VP",
        "kind": "job_title_contains",
        "params": {"text": "vp"},
        "points": 3,
    },
}


def _call(client: TestClient, method: str, path: str, ids: dict[str, str]) -> int:
    url = path.format(**ids)
    body = BODIES.get((method, path))
    if path.startswith("/api/v1/tags/") and path.endswith(("add", "remove")):
        body = {"record_type": "person", "ids": [ids["person_id"]], "names": ["x"]}
    if path.endswith("/bulk-actions"):
        key = "person_id" if path.startswith("/api/v1/people") else "company_id"
        body = {"ids": [ids[key]], "action": "tag", "tags": ["x"]}
    if path.endswith("/move"):
        body = {"stage_id": ids["stage_id"]}
    if method == "patch":
        body = {}
    if path.startswith("/api/v1/routing/rules/"):
        url = path.format(**(ids | {"rule_id": ids["routing_rule_id"]}))
    if path == "/api/v1/teams":
        body = {"name": f"Team {uuid.uuid4().hex[:6]}"}
    if path == "/api/v1/merges":  # the same person twice: 422 for those allowed, else 403
        body = {"survivor_id": ids["person_id"], "merged_id": ids["person_id"]}
    if path == "/api/v1/company-merges":  # the same company twice: likewise
        body = {"survivor_id": ids["company_id"], "merged_id": ids["company_id"]}
    if path.startswith("/api/v1/company-duplicates/{"):  # a company pair: same ids as people's
        url = path.format(**{**ids, "candidate_id": ids["company_candidate_id"]})
        return client.post(url, json={"decision": "skip"}).status_code
    if path.startswith("/api/v1/company-merges/{"):
        url = path.format(**{**ids, "merge_id": ids["company_merge_id"]})
        return client.post(url).status_code
    if path == "/api/v1/sales/leads/import":
        upload = {"file": ("l.csv", b"email\nmatrix-lead-import@x.org\n", "text/csv")}
        return client.post(url, files=upload).status_code
    if (method, path) == ("post", "/api/v1/imports"):
        upload = {"file": ("i.csv", b"email\nmatrix-call@x.org\n", "text/csv")}
        return client.post(url, files=upload).status_code
    response = client.request(method.upper(), url, json=body)
    return response.status_code


@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1]}")
def test_role_matrix(operation: tuple[str, str], api_as: Api, records: dict[str, str]) -> None:
    method, path = operation
    for name in ROLES:
        status = _call(api_as(name), method, path, records)
        if name in MATRIX[operation]:
            assert status != 403, f"{name} should be allowed {method} {path}"
            assert status < 500
        else:
            assert status == 403, f"{name} must be refused {method} {path}, got {status}"


ID_OPERATIONS = sorted(op for op in MATRIX if "{" in op[1])


@pytest.mark.parametrize("operation", ID_OPERATIONS, ids=lambda op: f"{op[0]} {op[1]}")
def test_other_workspace_gets_404_for_every_record_endpoint(
    operation: tuple[str, str], api_as: Api, records: dict[str, str]
) -> None:
    method, path = operation
    status = _call(api_as("dev"), method, path, records)
    assert status == 404, f"Dev (Globex) got {status} for {method} {path} on Acme's record"


def test_other_workspace_lists_show_nothing_of_acme(api_as: Api, records: dict[str, str]) -> None:
    dev = api_as("dev")
    for path in (
        "/api/v1/people",
        "/api/v1/companies",
        "/api/v1/tags",
        "/api/v1/activities",
        "/api/v1/custom-fields",
        "/api/v1/deals",
        "/api/v1/pipelines",
        "/api/v1/duplicates",
    ):
        body = dev.get(path).json()
        items = body["items"] if isinstance(body, dict) else body
        assert not {str(i.get("id")) for i in items} & set(records.values()), path
    audit = dev.get("/api/v1/audit", params={"record": records["person_id"]}).json()
    assert audit["items"] == []
