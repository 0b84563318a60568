"""Through a real server: only admins make a workspace's default pipeline, and the OpenAPI
document it serves says so (a member once could, and the access matrix agreed with the bug)."""

from __future__ import annotations

import uuid

import httpx

from tests.live import OWNER_PASSWORD, Server

PROBLEM = "application/problem+json"
TIMEOUT = 60.0  # a busy CI machine; the first OpenAPI document is built on demand


def _workspace(server: Server) -> dict[str, str]:
    """A fresh workspace (no pipeline yet) with an admin, a member and tokens for them."""
    tag = uuid.uuid4().hex[:8]
    slug = f"pipes-{tag}"
    emails = {role: f"{role}-{tag}@example.com" for role in ("admin", "member")}
    server.cli("init", "--workspace", slug, "--email", f"owner-{tag}@example.com",
               "--password", OWNER_PASSWORD)  # fmt: skip
    for role, email in emails.items():
        server.cli(
            "user", "create", email, "-w", slug, "--role", role, "--password", OWNER_PASSWORD
        )
    tokens = {role: server.token(email, workspace=slug) for role, email in emails.items()}
    narrow = server.cli("token", "create", emails["admin"], "-w", slug, "--scopes", "read")
    tokens["admin-read"] = narrow.strip().splitlines()[-1]
    return tokens


def test_only_admins_make_the_default_pipeline(live_server: Server) -> None:
    tokens = _workspace(live_server)

    def call(who: str, method: str, path: str, json: object = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return httpx.request(
            method, live_server.url + path, headers=headers, json=json, timeout=TIMEOUT
        )

    refused = call("member", "POST", "/api/v1/pipelines/default")
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "role member lacks the permission 'pipelines:write'"
    first_deal = {"title": "First", "currency": "EUR"}
    assert call("member", "POST", "/api/v1/deals", json=first_deal).status_code == 403
    narrowed = call("admin-read", "POST", "/api/v1/pipelines/default")  # scopes narrow a role
    assert narrowed.status_code == 403
    assert narrowed.json()["detail"] == "this token lacks the permission 'pipelines:write'"
    assert call("member", "GET", "/api/v1/pipelines").json() == []  # nothing was committed

    made = call("admin", "POST", "/api/v1/pipelines/default")
    assert made.status_code == 200 and made.json()["is_default"], made.text
    deal = call("member", "POST", "/api/v1/deals", json=first_deal)
    assert deal.status_code == 201 and deal.json()["pipeline_id"] == made.json()["id"]
    assert [p["id"] for p in call("member", "GET", "/api/v1/pipelines").json()] == [
        made.json()["id"]
    ]

    document = httpx.get(live_server.url + "/api/v1/openapi.json", timeout=TIMEOUT).json()
    operation = document["paths"]["/api/v1/pipelines/default"]["post"]
    assert operation["x-permission"] == "pipelines:write"
    assert "Requires pipelines:write." in operation["description"]
