"""Every endpoint, every role, and the other workspace: who may do what.

Nothing here says by hand who may call an operation. Each operation declares its permission on
its route (``requires(...)`` in rapport.core.access), published as ``x-permission`` in the
OpenAPI document; who may call it follows from ``ROLE_PERMISSIONS``, the one matrix. So an
operation that forgets to declare fails here, and one that declares the wrong permission is
refused or allowed exactly as its declaration says, which the call checks below then prove."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.app import create_app
from rapport.core.access import EXTENSION, PUBLIC, SIGNED_IN
from rapport.core.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS, Role, expand_scopes
from tests.conftest import Cast

Api = Callable[[str], TestClient]
Operation = tuple[str, str]
CAST = {  # the cast of tests/conftest.py in Acme, by role
    "ada": Role.OWNER,
    "ann": Role.ADMIN,
    "max": Role.MANAGER,
    "ben": Role.MEMBER,
    "cleo": Role.READ_ONLY,
}
ROLES = tuple(CAST)
READ_SCOPES = ["read"]  # Ada's narrowed token in ``records``: her role, but reads only

# The operations anyone may call without a credential. Kept by hand on purpose: making an
# operation public is a decision, so a new public() declaration must be added here too.
EXPECTED_PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/forms/{form_key}/submit"),
    ("options", "/api/v1/forms/{form_key}/submit"),
}

DOCUMENT = create_app(check_schema=False).openapi()
DECLARED: dict[Operation, str | None] = {
    (method, path): op.get(EXTENSION)
    for path, ops in DOCUMENT["paths"].items()
    for method, op in ops.items()
}


def allowed_roles(permission: str) -> set[str]:
    """Who in the cast may call an operation that declares ``permission``."""
    if permission == SIGNED_IN:
        return set(ROLES)
    return {name for name, role in CAST.items() if permission in ROLE_PERMISSIONS[role]}


def scope_allows(permission: str, scopes: list[str]) -> bool:
    return permission == SIGNED_IN or permission in expand_scopes(scopes)


MATRIX: dict[Operation, str] = {
    op: permission
    for op, permission in DECLARED.items()
    if permission is not None and permission != PUBLIC
}


def test_every_operation_declares_its_access() -> None:
    assert DECLARED, "the OpenAPI document lists no operation"
    missing = sorted(op for op, permission in DECLARED.items() if permission is None)
    assert not missing, f"declare requires(...)/signed_in()/public() on: {missing}"
    known = ALL_PERMISSIONS | {PUBLIC, SIGNED_IN}
    unknown = {op: p for op, p in DECLARED.items() if p not in known}
    assert not unknown, unknown


def test_the_description_says_what_the_operation_requires() -> None:
    for path, ops in DOCUMENT["paths"].items():
        for method, op in ops.items():
            permission = op[EXTENSION]
            wanted = {PUBLIC: "Public", SIGNED_IN: "Requires a signed-in user"}.get(
                permission, f"Requires {permission}"
            )
            assert wanted in op.get("description", ""), (method, path, op.get("description"))
            if "x-permission-note" in op:
                assert op["x-permission-note"] in op["description"], (method, path)


def test_only_the_expected_operations_are_public() -> None:
    public = {op for op, permission in DECLARED.items() if permission == PUBLIC}
    assert public == EXPECTED_PUBLIC


def test_configuring_the_default_pipeline_is_for_admins() -> None:
    """The hole this matrix once missed: members could create the default pipeline."""
    assert DECLARED[("post", "/api/v1/pipelines/default")] == "pipelines:write"
    assert allowed_roles("pipelines:write") == {"ada", "ann"}


def test_public_operations_answer_without_a_credential(anon: TestClient) -> None:
    for method, path in sorted(EXPECTED_PUBLIC):
        url = path.format(form_key="no-such-form")
        status = anon.request(method.upper(), url, json={"email": "x@example.com"}).status_code
        assert status not in (401, 403) and status < 500, (method, path, status)


@pytest.fixture
def records(api: TestClient, api_as: Api, cast: Cast) -> dict[str, str]:
    """One of each record in Acme, made by Ada; ids by path parameter name (and, under
    ``read_token``, the secret of Ada's token narrowed to READ_SCOPES). The task is Ben's, so
    the service's finer rule (members change only their own tasks) lets him pass; that rule
    has its own tests in tests/sales/test_tasks.py."""
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
    token = api.post("/api/v1/tokens", json={"name": "m", "scopes": READ_SCOPES}).json()
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
    task = api.post(
        "/api/v1/tasks",
        json={"title": "Matrix task", "deal_id": deal["id"], "assignee_id": str(cast.ben.user_id)},
    ).json()
    sales = (pipeline, deal, form, rule, routing_rule, team, task)
    newcomer = api.post(
        "/api/v1/members",
        json={"email": "matrix.member@acme.test", "password": "a long password", "name": "M"},
    ).json()
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
        "read_token": token["token"],
        "user_id": newcomer["user_id"],
    }


MAPPING = ("post", "/api/v1/import-mappings")
BODIES: dict[Operation, Any] = {
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
    if path in ("/api/v1/members", "/api/v1/invites"):
        body = {"email": f"m{uuid.uuid4().hex[:8]}@acme.test", "password": "a long password"}
        body = body if path == "/api/v1/members" else {"email": body["email"]}
    if path == "/api/v1/me/password":  # a wrong current password: 422 for anyone signed in
        body = {"current_password": "wrong", "new_password": "another long one"}
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
def test_role_matrix(
    operation: Operation, api_as: Api, anon: TestClient, records: dict[str, str]
) -> None:
    method, path = operation
    permission = MATRIX[operation]
    # First Ada's read-only token (before any role's call can revoke it): scopes narrow the
    # role on every declared permission, whatever the service would check.
    anon.headers["Authorization"] = f"Bearer {records['read_token']}"
    status = _call(anon, method, path, records)
    if scope_allows(permission, READ_SCOPES):
        assert status != 403 and status < 500, f"a read token got {status} for {method} {path}"
    else:
        assert status == 403, f"a read token must be refused {method} {path}, got {status}"
    allowed = allowed_roles(permission)
    for name in ROLES:
        status = _call(api_as(name), method, path, records)
        if name in allowed:
            assert status != 403, f"{name} should be allowed {method} {path} ({permission})"
            assert status < 500
        else:
            assert status == 403, f"{name} must be refused {method} {path}, got {status}"


ID_OPERATIONS = sorted(op for op in MATRIX if "{" in op[1])


@pytest.mark.parametrize("operation", ID_OPERATIONS, ids=lambda op: f"{op[0]} {op[1]}")
def test_other_workspace_gets_404_for_every_record_endpoint(
    operation: Operation, api_as: Api, records: dict[str, str]
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
