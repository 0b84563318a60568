"""The accounts settings pages through the real stack: profile and password, members and
invites, teams, API tokens and the workspace; permissions, CSRF and validation messages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.accounts.models import ApiToken, Membership, Team, Workspace
from rapport.core.db import get_database
from rapport.core.events import AuditEntry
from tests.conftest import PASSWORD, Cast
from tests.web.conftest import csrf_from, sign_in

PAGES = [
    "/settings/profile",
    "/settings/tokens",
    "/settings/workspace",
    "/settings/members",
    "/settings/teams",
]


def _post(client: TestClient, page: str, action: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token})


def _audit(topic: str) -> list[AuditEntry]:
    with get_database().session(unscoped=True) as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == topic)
                .execution_options(all_workspaces=True)
            )
        )


class TestAccess:
    @pytest.mark.parametrize("path", PAGES)
    def test_admin_opens_every_section(self, signed_in: TestClient, path: str) -> None:
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert f'href="{path}" aria-current="page"' in response.text

    def test_settings_opens_on_the_profile(self, signed_in: TestClient) -> None:
        response = signed_in.get("/settings")
        assert response.status_code in (200, 303)
        assert "/settings/profile" in (response.headers.get("location") or response.text)

    @pytest.mark.parametrize(
        "path", ["/settings/members", "/settings/teams", "/settings/workspace"]
    )
    def test_a_member_cannot_open_admin_sections(
        self, signed_in_as: Callable[[str], TestClient], path: str
    ) -> None:
        ben = signed_in_as("ben")
        assert ben.get(path).status_code == 403
        menu = ben.get("/settings/profile").text
        assert 'href="/settings/members"' not in menu
        assert 'href="/settings/tokens"' in menu

    def test_a_member_cannot_post_to_admin_routes(
        self, signed_in_as: Callable[[str], TestClient], cast: Cast
    ) -> None:
        ben = signed_in_as("ben")
        token = csrf_from(ben.get("/settings/profile").text)
        for action in (
            f"/settings/members/{cast.cleo.user_id}/deactivate",
            f"/settings/members/{cast.cleo.user_id}/role",
            "/settings/members/invite",
            "/settings/workspace",
            "/settings/teams",
        ):
            response = ben.post(action, data={"csrf_token": token, "role": "admin"})
            assert response.status_code == 403, action

    def test_every_write_needs_the_csrf_token(self, signed_in: TestClient, cast: Cast) -> None:
        for action in (
            "/settings/profile",
            "/settings/profile/password",
            "/settings/tokens",
            "/settings/workspace",
            "/settings/members/invite",
            "/settings/members/new",
            f"/settings/members/{cast.ben.user_id}/deactivate",
            "/settings/teams",
        ):
            response = signed_in.post(action, data={"name": "x"})
            assert response.status_code == 403, action


class TestProfile:
    def test_change_name_is_saved_and_audited(self, signed_in: TestClient, cast: Cast) -> None:
        response = _post(signed_in, "/settings/profile", "/settings/profile", {"name": "Ada L."})
        assert response.status_code == 303
        assert "Ada L." in signed_in.get("/settings/profile").text
        assert [e.changes for e in _audit("user.updated")] == [
            {"name": {"old": "Ada", "new": "Ada L."}}
        ]

    def test_empty_name_says_why(self, signed_in: TestClient) -> None:
        response = _post(signed_in, "/settings/profile", "/settings/profile", {"name": "  "})
        assert response.status_code == 200
        assert "Give a name your colleagues will recognise." in response.text

    def test_wrong_current_password_and_short_new_one(self, signed_in: TestClient) -> None:
        page, action = "/settings/profile", "/settings/profile/password"
        wrong = {"current_password": "nope", "new_password": "x" * 12, "confirm_password": "x" * 12}
        response = _post(signed_in, page, action, wrong)
        assert "That is not your current password." in response.text
        short = {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}
        assert "at least 10 characters" in _post(signed_in, page, action, short).text
        differ = {"current_password": PASSWORD, "new_password": "x" * 12, "confirm_password": "y"}
        assert "The two new passwords differ." in _post(signed_in, page, action, differ).text

    def test_password_change_ends_other_sessions_but_not_this_one(
        self,
        signed_in: TestClient,
        app,
        cast: Cast,  # type: ignore[no-untyped-def]
    ) -> None:
        other = sign_in(TestClient(app, follow_redirects=False), cast.ada.email)
        assert other.get("/settings/profile").status_code == 200
        new = "a brand new password"
        data = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
        response = _post(signed_in, "/settings/profile", "/settings/profile/password", data)
        assert response.status_code == 303
        assert signed_in.get("/settings/profile").status_code == 200  # this browser goes on
        refused = other.get("/settings/profile")
        assert refused.status_code == 303
        assert refused.headers["location"].endswith("ended=1")
        assert "Your session has ended" in other.get(refused.headers["location"]).text
        assert _audit("user.password_changed")
        fresh = TestClient(app, follow_redirects=False)
        sign_in(fresh, cast.ada.email, new)


class TestMembers:
    def test_lists_members_with_role_team_and_status(self, signed_in: TestClient) -> None:
        html = signed_in.get("/settings/members").text
        for name in ("Ada", "Ann", "Max", "Ben", "Cleo"):
            assert name in html
        assert "dev@globex.test" not in html  # another workspace's member
        assert "Last sign-in" in html

    def test_invite_link_signs_the_invitee_in_once(
        self,
        signed_in: TestClient,
        app,  # type: ignore[no-untyped-def]
    ) -> None:
        data = {"email": "newbie@acme.test", "name": "", "role": "manager"}
        response = _post(signed_in, "/settings/members", "/settings/members/invite", data)
        assert response.status_code == 200
        match = re.search(r'value="(http://testserver/invite/[^"]+)"', response.text)
        assert match, "the invite link is shown"
        link = match.group(1).removeprefix("http://testserver")
        assert "Invited" in signed_in.get("/settings/members").text
        invitee = TestClient(app, follow_redirects=False)
        form = invitee.get(link)
        assert "Join Acme" in form.text
        token = csrf_from(form.text)
        short = invitee.post(link, data={"csrf_token": token, "name": "Nia", "password": "x"})
        assert "at least 10 characters" in short.text
        done = invitee.post(
            link, data={"csrf_token": token, "name": "Nia", "password": "a good password"}
        )
        assert done.status_code == 303
        assert invitee.get("/settings/profile").status_code == 200
        assert "Manager in Acme" in invitee.get("/settings/profile").text
        again = TestClient(app, follow_redirects=False).get(link)
        assert "no longer works" in again.text
        assert _audit("member.invited") and _audit("member.joined")

    def test_invite_validation_messages(self, signed_in: TestClient, cast: Cast) -> None:
        bad = {"email": "not-an-email", "role": "member"}
        response = _post(signed_in, "/settings/members", "/settings/members/invite", bad)
        assert 'class="field-error"' in response.text
        dup = {"email": cast.ben.email, "role": "member"}
        response = _post(signed_in, "/settings/members", "/settings/members/invite", dup)
        assert "already a member" in response.text

    def test_add_with_a_password(self, signed_in: TestClient, app) -> None:  # type: ignore[no-untyped-def]
        data = {"email": "direct@acme.test", "name": "Dee", "role": "member", "password": "short"}
        response = _post(signed_in, "/settings/members", "/settings/members/new", data)
        assert "at least 10 characters" in response.text
        data["password"] = "a long enough one"
        response = _post(signed_in, "/settings/members", "/settings/members/new", data)
        assert response.status_code == 303
        sign_in(TestClient(app, follow_redirects=False), "direct@acme.test", "a long enough one")

    def test_change_role_and_the_last_owner_stays(
        self, signed_in: TestClient, signed_in_as: Callable[[str], TestClient], cast: Cast
    ) -> None:
        page = "/settings/members"
        response = _post(signed_in, page, f"/settings/members/{cast.ben.user_id}/role",
                         {"role": "manager"})  # fmt: skip
        assert response.status_code == 303
        assert [e.changes for e in _audit("member.updated")] == [
            {"role": {"old": "member", "new": "manager"}}
        ]
        ann = signed_in_as("ann")  # an admin cannot touch the owner, nor make owners
        response = _post(ann, page, f"/settings/members/{cast.ada.user_id}/role", {"role": "admin"})
        assert "Only an owner" in ann.get(response.headers["location"]).text
        # Ada is the only owner: making Ann owner then demoting herself works; alone, it doesn't
        with get_database().session(unscoped=True) as session:
            own = session.scalars(
                select(Membership)
                .where(Membership.user_id == cast.ada.user_id)
                .execution_options(all_workspaces=True)
            ).one()
            assert own.role == "owner"
        refused = _post(signed_in, page, f"/settings/members/{cast.ada.user_id}/role",
                        {"role": "admin"})  # fmt: skip
        assert refused.status_code == 303  # her own row is not editable, the service says why
        text = signed_in.get(refused.headers["location"]).text
        assert "is the last owner of this workspace" in text

    def test_deactivate_stops_sessions_and_tokens_at_once(
        self,
        signed_in: TestClient,
        signed_in_as: Callable[[str], TestClient],
        api_as,  # type: ignore[no-untyped-def]
        cast: Cast,
    ) -> None:
        ben = signed_in_as("ben")
        ben_api = api_as("ben")
        assert ben.get("/people").status_code == 200
        assert ben_api.get("/api/v1/me").status_code == 200
        response = _post(signed_in, "/settings/members",
                         f"/settings/members/{cast.ben.user_id}/deactivate", {})  # fmt: skip
        assert response.status_code == 303
        refused = ben.get("/people")
        assert refused.status_code == 303 and "ended=1" in refused.headers["location"]
        htmx = ben.get("/people", headers={"HX-Request": "true"})
        assert htmx.status_code == 204 and "ended=1" in htmx.headers["HX-Redirect"]
        answer = ben_api.get("/api/v1/me")
        assert answer.status_code == 401
        assert "deactivated" in answer.json()["detail"]
        html = signed_in.get("/settings/members").text
        assert "Deactivated" in html and "Reactivate" in html
        _post(signed_in, "/settings/members",
              f"/settings/members/{cast.ben.user_id}/reactivate", {})  # fmt: skip
        assert ben_api.get("/api/v1/me").status_code == 200
        assert _audit("member.deactivated") and _audit("member.reactivated")

    def test_cannot_deactivate_yourself(self, signed_in: TestClient, cast: Cast) -> None:
        response = _post(signed_in, "/settings/members",
                         f"/settings/members/{cast.ada.user_id}/deactivate", {})  # fmt: skip
        assert "You cannot deactivate yourself" in signed_in.get(response.headers["location"]).text


class TestTeams:
    def test_create_rename_and_set_members(self, signed_in: TestClient, cast: Cast) -> None:
        empty = signed_in.get("/settings/teams").text
        assert "No teams yet" in empty
        data = {"name": "Inside sales", "member_ids": [str(cast.ben.user_id)]}
        response = _post(signed_in, "/settings/teams", "/settings/teams", data)
        assert response.status_code == 303
        with get_database().session(unscoped=True) as session:
            team = session.scalars(
                select(Team)
                .where(Team.name == "Inside sales")
                .execution_options(all_workspaces=True)
            ).one()
        data = {"name": "Field sales", "member_ids": [str(cast.max.user_id)]}
        response = _post(signed_in, "/settings/teams", f"/settings/teams/{team.id}", data)
        assert response.status_code == 303
        html = signed_in.get("/settings/members").text
        assert "Field sales" in html
        assert _audit("team.renamed") and _audit("membership.updated")

    def test_blank_and_duplicate_names_say_why(self, signed_in: TestClient) -> None:
        response = _post(signed_in, "/settings/teams", "/settings/teams", {"name": " "})
        assert "Give the team a name." in response.text
        _post(signed_in, "/settings/teams", "/settings/teams", {"name": "A"})
        response = _post(signed_in, "/settings/teams", "/settings/teams", {"name": "A"})
        assert "already exists" in response.text


class TestTokens:
    def test_create_shows_the_secret_once_then_lists_and_revokes(
        self, signed_in: TestClient, anon: TestClient
    ) -> None:
        data = {"name": "Zapier", "scopes": ["read"], "expires_on": ""}
        response = _post(signed_in, "/settings/tokens", "/settings/tokens", data)
        secret = re.search(r'id="token-secret"[^>]*value="(rpt_[^"]+)"', response.text)
        assert secret, "the secret is shown"
        listing = signed_in.get("/settings/tokens").text
        assert "Zapier" in listing and secret.group(1) not in listing
        anon.headers["Authorization"] = f"Bearer {secret.group(1)}"
        assert anon.get("/api/v1/me").status_code == 200
        with get_database().session(unscoped=True) as session:
            token = session.scalars(
                select(ApiToken).where(ApiToken.name == "Zapier")
                .execution_options(all_workspaces=True)
            ).one()  # fmt: skip
        response = _post(signed_in, "/settings/tokens", f"/settings/tokens/{token.id}/revoke", {})
        assert response.status_code == 303
        assert anon.get("/api/v1/me").status_code == 401
        assert "Revoked" in signed_in.get("/settings/tokens").text

    def test_validation_messages(self, signed_in: TestClient) -> None:
        data = {"name": "", "expires_on": "2001-01-01"}
        html = _post(signed_in, "/settings/tokens", "/settings/tokens", data).text
        assert "Name the token" in html
        assert "Tick at least one scope." in html
        assert "Choose a date in the future." in html

    def test_a_member_sees_only_their_own(
        self, signed_in_as: Callable[[str], TestClient], cast: Cast
    ) -> None:
        ben = signed_in_as("ben")
        html = ben.get("/settings/tokens").text
        assert html.count('data-token="tests"') == 1  # his own from the cast, not Ada's


class TestWorkspace:
    def test_save_and_validate(self, signed_in: TestClient, cast: Cast) -> None:
        bad = {"name": "Acme", "currency": "XXQ", "time_zone": "Mars/Olympus"}
        html = _post(signed_in, "/settings/workspace", "/settings/workspace", bad).text
        assert "ISO 4217" in html and "Choose a time zone" in html
        good = {"name": "Acme Corp", "currency": "usd", "time_zone": "Europe/Paris"}
        response = _post(signed_in, "/settings/workspace", "/settings/workspace", good)
        assert response.status_code == 303
        with get_database().session(unscoped=True) as session:
            ws = session.get(Workspace, cast.acme)
            assert ws is not None
            assert ws.name == "Acme Corp"
            assert ws.settings["general"] == {"currency": "USD", "time_zone": "Europe/Paris"}
        (entry,) = _audit("workspace.updated")
        assert entry.changes["currency"] == {"old": "EUR", "new": "USD"}
        assert entry.actor_id == cast.ada.user_id

    def test_the_default_country_is_chosen_on_the_page(
        self, signed_in: TestClient, cast: Cast
    ) -> None:
        page = signed_in.get("/settings/workspace").text
        assert '<select id="country" name="country"' in page and '<option value="DE">' in page
        bad = {"name": "Acme", "currency": "EUR", "time_zone": "UTC", "country": "ZZ"}
        html = _post(signed_in, "/settings/workspace", "/settings/workspace", bad).text
        assert "ISO 3166" in html
        good = bad | {"country": "DE"}
        assert (
            _post(signed_in, "/settings/workspace", "/settings/workspace", good).status_code == 303
        )
        with get_database().session(unscoped=True) as session:
            ws = session.get(Workspace, cast.acme)
            assert ws is not None and ws.settings["general"]["country"] == "DE"
        assert '<option value="DE" selected>' in signed_in.get("/settings/workspace").text


def test_the_api_refuses_a_deactivated_members_cookie(
    signed_in: TestClient, signed_in_as: Callable[[str], TestClient], cast: Cast
) -> None:
    ben = signed_in_as("ben")
    assert ben.get("/api/v1/me").status_code == 200  # the session cookie works on the API
    _post(signed_in, "/settings/members", f"/settings/members/{cast.ben.user_id}/deactivate", {})
    assert ben.get("/api/v1/me").status_code == 401
