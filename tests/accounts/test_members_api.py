"""The members, invites, password and workspace-settings API: problem documents, audit, and
the rules (last owner, only owners make owners, deactivation refuses tokens at once)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.core.db import get_database
from rapport.core.events import AuditEntry
from tests.conftest import PASSWORD, Cast
from tests.sales.factories import make_deal, make_pipeline


def _actions() -> list[str]:
    with get_database().session(unscoped=True) as session:
        return list(
            session.scalars(select(AuditEntry.action).execution_options(all_workspaces=True))
        )


def test_list_members_is_for_admins(api: TestClient, api_as, cast: Cast) -> None:  # type: ignore[no-untyped-def]
    rows = api.get("/api/v1/members").json()
    assert {r["email"] for r in rows} == {
        f"{n}@acme.test" for n in ("ada", "ann", "max", "ben", "cleo")
    }
    ben = next(r for r in rows if r["email"] == cast.ben.email)
    assert ben["role"] == "member" and ben["status"] == "invited"  # no password set yet
    assert api_as("ben").get("/api/v1/members").status_code == 403


def test_add_patch_deactivate_reactivate(api: TestClient, api_as, cast: Cast) -> None:  # type: ignore[no-untyped-def]
    made = api.post(
        "/api/v1/members",
        json={
            "email": "Zed@Acme.test",
            "name": "Zed",
            "role": "manager",
            "password": "long enough 1",
        },
    )
    assert made.status_code == 201, made.text
    zed = made.json()
    assert zed["email"] == "zed@acme.test" and zed["status"] == "active"
    short = api.post("/api/v1/members", json={"email": "y@acme.test", "password": "short"})
    assert short.status_code == 422
    assert short.headers["content-type"].startswith("application/problem+json")
    assert short.json()["errors"][0]["loc"] == ["password"]
    changed = api.patch(f"/api/v1/members/{zed['user_id']}", json={"role": "member"})
    assert changed.json()["role"] == "member"
    bad = api.patch(f"/api/v1/members/{zed['user_id']}", json={"role": "emperor"})
    assert bad.status_code == 422
    ben = api_as("ben")
    off = api.post(f"/api/v1/members/{cast.ben.user_id}/deactivate")
    assert off.status_code == 200 and off.json()["status"] == "deactivated"
    assert ben.get("/api/v1/people").status_code == 401
    on = api.post(f"/api/v1/members/{cast.ben.user_id}/reactivate")
    assert on.json()["status"] != "deactivated"
    assert ben.get("/api/v1/people").status_code == 200
    actions = _actions()
    for action in ("member.added", "member.updated", "member.deactivated", "member.reactivated"):
        assert action in actions


def test_owner_rules(api: TestClient, api_as, cast: Cast) -> None:  # type: ignore[no-untyped-def]
    ann = api_as("ann")  # an admin
    assert (
        ann.patch(f"/api/v1/members/{cast.ben.user_id}", json={"role": "owner"}).status_code == 422
    )
    assert ann.post(f"/api/v1/members/{cast.ada.user_id}/deactivate").status_code == 409
    last = api.patch(f"/api/v1/members/{cast.ada.user_id}", json={"role": "admin"})
    assert last.status_code == 422
    assert "last owner" in last.json()["errors"][0]["message"]
    assert api.post(f"/api/v1/members/{cast.ada.user_id}/deactivate").status_code == 409
    # With a second owner, Ada may step down.
    assert (
        api.patch(f"/api/v1/members/{cast.ann.user_id}", json={"role": "owner"}).status_code == 200
    )
    assert (
        api.patch(f"/api/v1/members/{cast.ada.user_id}", json={"role": "admin"}).status_code == 200
    )


def test_invite_gives_a_link_once(api: TestClient, anon: TestClient) -> None:
    answer = api.post("/api/v1/invites", json={"email": "inv@acme.test", "role": "read_only"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["member"]["status"] == "invited"
    assert "/invite/" in body["invite_url"]
    page = anon.get(body["invite_url"].removeprefix("http://testserver"))
    assert "Join Acme" in page.text
    again = api.post("/api/v1/invites", json={"email": "inv@acme.test"})
    assert again.status_code == 409


def test_an_existing_user_invited_needs_no_link(api_as, cast: Cast) -> None:  # type: ignore[no-untyped-def]
    dev = api_as("dev")  # admin of Globex; Ada has a password already
    answer = dev.post("/api/v1/invites", json={"email": cast.ada.email})
    assert answer.status_code == 201
    assert answer.json()["invite_url"] is None


def test_password_change(api: TestClient) -> None:
    wrong = api.post(
        "/api/v1/me/password", json={"current_password": "nope", "new_password": "x" * 12}
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["loc"] == ["current_password"]
    done = api.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "x" * 12}
    )
    assert done.status_code == 204
    assert "user.password_changed" in _actions()


def test_workspace_settings(api: TestClient, api_as) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/api/v1/workspace/settings").json() == {
        "name": "Acme",
        "currency": "EUR",
        "time_zone": "UTC",
        "country": None,
    }
    bad = api.patch("/api/v1/workspace/settings", json={"currency": "ABC", "time_zone": "Nowhere"})
    assert bad.status_code == 422
    assert {e["loc"][0] for e in bad.json()["errors"]} == {"currency", "time_zone"}
    ok = api.patch(
        "/api/v1/workspace/settings", json={"currency": "gbp", "time_zone": "Europe/London"}
    )
    assert ok.json() == {
        "name": "Acme", "currency": "GBP", "time_zone": "Europe/London", "country": None
    }  # fmt: skip
    wrong = api.patch("/api/v1/workspace/settings", json={"country": "XX"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"] == ["country"]
    assert api.patch("/api/v1/workspace/settings", json={"country": "de"}).json()["country"] == "DE"
    assert api.get("/api/v1/workspace/settings").json()["currency"] == "GBP"  # the rest kept
    assert api.patch("/api/v1/workspace/settings", json={"country": ""}).json()["country"] is None
    assert api_as("ben").patch("/api/v1/workspace/settings", json={"name": "X"}).status_code == 403
    assert api_as("ben").get("/api/v1/workspace/settings").json()["currency"] == "GBP"
    assert "workspace.updated" in _actions()


def test_a_deactivated_member_is_given_nothing_new_but_keeps_what_they_own(
    api: TestClient, cast: Cast
) -> None:
    ben = str(cast.ben.user_id)
    person = api.post("/api/v1/people", json={"first_name": "Kept", "owner_id": ben}).json()
    deal = make_deal(api, make_pipeline(api), owner_id=ben)
    assert api.post(f"/api/v1/members/{ben}/deactivate").status_code == 200

    refused = [
        api.post("/api/v1/people", json={"first_name": "New", "owner_id": ben}),
        api.post("/api/v1/companies", json={"name": "New Co", "owner_id": ben}),
        api.post("/api/v1/tasks", json={"title": "Call", "assignee_id": ben}),
        api.patch(f"/api/v1/deals/{deal['id']}", json={"owner_id": None}),  # (a real change)
    ]
    for response in refused[:3]:
        assert response.status_code == 422, response.text
        assert "deactivated" in response.text
    assert refused[3].status_code == 200
    moved_back = api.patch(f"/api/v1/deals/{deal['id']}", json={"owner_id": ben})
    assert moved_back.status_code == 422 and "deactivated" in moved_back.text

    # A form sends every field back: resending the owner they already have is no assignment.
    kept = api.patch(f"/api/v1/people/{person['id']}", json={"job_title": "Buyer", "owner_id": ben})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["job_title"], kept.json()["owner_id"]) == ("Buyer", ben)
