"""Lead routing: each rule kind, order, the reasons in the assignment and the audit, fair
round-robin (also under concurrent leads, on real connections), the lead capture hook and
bad input."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapport.accounts import service as accounts
from rapport.accounts.models import Team
from rapport.core.context import system_context
from rapport.core.db import Database, transaction
from rapport.core.permissions import Role
from rapport.hub.models import Person
from rapport.sales.models import LeadAssignment, RoutingRule
from rapport.sales.service import routing
from tests.conftest import Cast

Api = Callable[[str], TestClient]


def rule(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/routing/rules", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def team(api: TestClient, name: str, *members: uuid.UUID) -> str:
    body = {"name": name, "member_ids": [str(m) for m in members]}
    response = api.post("/api/v1/teams", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def person(api: TestClient, **body: Any) -> str:
    response = api.post("/api/v1/people", json={"first_name": "Lead", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def route(api: TestClient, person_id: str) -> dict[str, Any]:
    response = api.post(f"/api/v1/people/{person_id}/route")
    assert response.status_code == 200, response.text
    return dict(response.json())


def owner_of(api: TestClient, person_id: str) -> str | None:
    return api.get(f"/api/v1/people/{person_id}").json()["owner_id"]


class TestRuleKinds:
    def test_territory_by_the_persons_country_to_a_user(self, api: TestClient, cast: Cast) -> None:
        rule(api, name="DACH", kind="territory", params={"countries": ["DE", "Austria", "CHE"]},
             user_id=str(cast.max.user_id))  # fmt: skip
        lead = person(api, addresses=[{"city": "Berlin", "country": "Germany"}])
        outcome = route(api, lead)
        assert outcome["assigned"] is True
        assert outcome["reason"] == "country DE → territory rule 'DACH' → Max"
        assert owner_of(api, lead) == str(cast.max.user_id)

    def test_territory_falls_back_to_the_companys_country(
        self, api: TestClient, cast: Cast
    ) -> None:
        rule(api, name="France", kind="territory", params={"countries": ["FR"]},
             user_id=str(cast.ben.user_id))  # fmt: skip
        company = api.post(
            "/api/v1/companies", json={"name": "Paris SA", "address": {"country": "FR"}}
        ).json()
        lead = person(api, company_id=company["id"])
        assert route(api, lead)["reason"].startswith("country FR → territory rule 'France'")
        assert owner_of(api, lead) == str(cast.ben.user_id)

    def test_company_owner_gets_the_lead(self, api: TestClient, cast: Cast) -> None:
        rule(api, name="Account owner", kind="company_owner")
        company = api.post(
            "/api/v1/companies", json={"name": "Owned Ltd", "owner_id": str(cast.ann.user_id)}
        ).json()
        lead = person(api, company_id=company["id"])
        outcome = route(api, lead)
        assert outcome["reason"] == (
            "company Owned Ltd is owned by Ann → company-owner rule 'Account owner' → Ann"
        )
        assert owner_of(api, lead) == str(cast.ann.user_id)

    def test_score_threshold(self, api: TestClient, cast: Cast) -> None:
        scoring = {"name": "CTO", "kind": "job_title_contains", "params": {"text": "cto"}}
        api.post("/api/v1/scoring/rules", json=scoring | {"points": 60})
        rule(api, name="Hot", kind="score_threshold", params={"min_score": 50},
             user_id=str(cast.max.user_id))  # fmt: skip
        cold = person(api, job_title="Intern")
        hot = person(api, job_title="CTO")
        assert route(api, cold) == {"assigned": False, "reason": "no routing rule matched",
                                    "assignment": None}  # fmt: skip
        assert owner_of(api, cold) is None
        assert route(api, hot)["reason"] == "score 60 ≥ 50 → score rule 'Hot' → Max"

    def test_rules_are_tried_in_order_and_the_first_match_wins(
        self, api: TestClient, cast: Cast
    ) -> None:
        team_id = team(api, "Inbound", cast.ben.user_id)
        rule(api, name="Catch-all", kind="round_robin", team_id=team_id)
        first = rule(api, name="DE", kind="territory", params={"countries": ["DE"]},
                     user_id=str(cast.max.user_id), position=0)  # fmt: skip
        rules = api.get("/api/v1/routing/rules").json()
        assert [r["name"] for r in rules] == ["DE", "Catch-all"]
        assert [r["position"] for r in rules] == [0, 1]
        german = person(api, addresses=[{"country": "DE"}])
        other = person(api, addresses=[{"country": "US"}])
        assert owner_of(api, german) is None
        route(api, german)
        route(api, other)
        assert owner_of(api, german) == str(cast.max.user_id)
        assert owner_of(api, other) == str(cast.ben.user_id)
        api.patch(f"/api/v1/routing/rules/{first['id']}", json={"is_active": False})
        assert route(api, person(api, addresses=[{"country": "DE"}]))["reason"].startswith(
            "every lead → round-robin rule 'Catch-all' (team Inbound, turn 1 of 1) → Ben"
        )


class TestRoundRobin:
    def test_turns_rotate_fairly_through_the_team(self, api: TestClient, cast: Cast) -> None:
        members = (cast.max.user_id, cast.ben.user_id, cast.ann.user_id)
        team_id = team(api, "Sales", *members)
        rule(api, name="Inbound", kind="round_robin", team_id=team_id)
        owners = [owner_of(api, p) for p in [person(api) for _ in range(9)] if route(api, p)]
        assert Counter(owners) == {str(m): 3 for m in members}
        # in a fixed order: never the same member twice in a row
        assert all(a != b for a, b in itertools.pairwise(owners))

    def test_a_team_on_a_territory_rule_takes_turns(self, api: TestClient, cast: Cast) -> None:
        team_id = team(api, "Nordics", cast.max.user_id, cast.ben.user_id)
        rule(api, name="Nordics", kind="territory", params={"countries": ["SE", "NO"]},
             team_id=team_id)  # fmt: skip
        owners = {owner_of(api, p) for p in [person(api, addresses=[{"country": "SE"}])
                                             for _ in range(2)] if route(api, p)}  # fmt: skip
        assert owners == {str(cast.max.user_id), str(cast.ben.user_id)}

    def test_concurrent_leads_never_share_a_turn(self, database: Database) -> None:
        """Eight threads route at once, each in its own committed transaction on its own
        connection, in a workspace of their own: every member gets exactly two leads."""
        slug = f"rr-{uuid.uuid4().hex[:8]}"
        with transaction(unscoped=True) as session:
            ws = accounts.create_workspace(session, "Round robin", slug=slug)
            users = [
                accounts.create_user(session, ws, email=f"rep{i}@{slug}.test", name=f"Rep {i}",
                                     password=None, role=Role.MEMBER).id
                for i in range(4)
            ]  # fmt: skip
            workspace_id = ws.id
        with transaction(workspace_id) as session:
            ctx = system_context(session, workspace_id)
            from rapport.sales.schemas import RoutingRuleIn, TeamIn

            created, _members = routing.create_team(ctx, TeamIn(name="All", member_ids=users))
            routing.create_rule(
                ctx, RoutingRuleIn(name="RR", kind="round_robin", team_id=created.id)
            )
            leads = []
            for i in range(8):
                lead = Person(workspace_id=workspace_id, first_name=f"Lead {i}")
                session.add(lead)
                session.flush()
                leads.append(lead.id)
        barrier = threading.Barrier(len(leads))
        failures: list[BaseException] = []

        def work(lead_id: uuid.UUID) -> None:
            try:
                barrier.wait(timeout=30)
                with transaction(workspace_id) as session:
                    routing.assign_lead(system_context(session, workspace_id), lead_id)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(lead,)) for lead in leads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        with transaction(workspace_id) as session:
            owners = Counter(session.scalars(select(Person.owner_id)))
            counter = session.scalars(select(RoutingRule.rr_counter)).one()
            assignments = len(list(session.scalars(select(LeadAssignment))))
        assert owners == dict.fromkeys(users, 2)
        assert counter == 8 and assignments == 8


class TestAudit:
    def test_assignment_is_listed_and_audited_with_the_reason(
        self, api: TestClient, cast: Cast
    ) -> None:
        rule_row = rule(api, name="DACH", kind="territory", params={"countries": ["DE"]},
                        user_id=str(cast.max.user_id))  # fmt: skip
        lead = person(api, addresses=[{"country": "DE"}])
        route(api, lead)
        (assignment,) = api.get(f"/api/v1/people/{lead}/assignments").json()
        assert assignment["rule_id"] == rule_row["id"]
        assert assignment["rule_name"] == "DACH"
        assert assignment["assignee_id"] == str(cast.max.user_id)
        assert assignment["reason"] == "country DE → territory rule 'DACH' → Max"
        assert assignment["first_touch_due_at"] is not None  # the SLA clock starts
        audit = api.get("/api/v1/audit", params={"record": lead}).json()["items"]
        entry = next(e for e in audit if e["action"] == "person.assigned")
        assert entry["changes"]["owner_id"] == {"old": None, "new": str(cast.max.user_id)}
        assert entry["changes"]["reason"]["new"] == assignment["reason"]


class TestLeadCapture:
    def test_a_captured_lead_without_owner_is_routed(self, api: TestClient, cast: Cast) -> None:
        team_id = team(api, "Inbound", cast.ben.user_id)
        rule(api, name="Inbound", kind="round_robin", team_id=team_id)
        response = api.post("/api/v1/leads", json={"email": "routed@lead.example.org"})
        assert response.status_code == 201, response.text
        person_id = response.json()["person_id"]
        assert owner_of(api, person_id) == str(cast.ben.user_id)
        (assignment,) = api.get(f"/api/v1/people/{person_id}/assignments").json()
        assert assignment["rule_name"] == "Inbound"

    def test_a_lead_with_an_owner_is_left_alone(self, api: TestClient, cast: Cast) -> None:
        team_id = team(api, "Inbound", cast.ben.user_id)
        rule(api, name="Inbound", kind="round_robin", team_id=team_id)
        owned = person(api, email="owned@lead.example.org", owner_id=str(cast.max.user_id))
        api.post("/api/v1/leads", json={"email": "owned@lead.example.org"})
        assert owner_of(api, owned) == str(cast.max.user_id)
        assert api.get(f"/api/v1/people/{owned}/assignments").json() == []


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"kind": "territory", "params": {"countries": []}}, "params.countries"),
            ({"kind": "territory", "params": {"countries": ["Atlantis"]}}, "params.countries.0"),
            ({"kind": "score_threshold", "params": {"min_score": "high"}}, "params.min_score"),
            ({"kind": "round_robin"}, "team_id"),
            ({"kind": "territory", "params": {"countries": ["DE"]}}, "user_id"),
            ({"kind": "company_owner", "params": {"x": 1}}, "params.x"),
            ({"kind": "nearest"}, "kind"),
        ],
    )
    def test_invalid_rules_are_422_and_store_nothing(
        self, api: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = api.post("/api/v1/routing/rules", json={"name": "Bad", **body})
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]]
        assert api.get("/api/v1/routing/rules").json() == []

    def test_unknown_user_or_team_is_422(self, api: TestClient) -> None:
        for target in ({"user_id": str(uuid.uuid4())}, {"team_id": str(uuid.uuid4())}):
            body = {"name": "X", "kind": "territory", "params": {"countries": ["DE"]}, **target}
            response = api.post("/api/v1/routing/rules", json=body)
            assert response.status_code == 422
            assert response.json()["errors"][0]["code"] in ("unknown-owner", "unknown-team")

    def test_another_workspaces_user_is_refused(self, api: TestClient, cast: Cast) -> None:
        body = {"name": "X", "kind": "territory", "params": {"countries": ["DE"]},
                "user_id": str(cast.dev.user_id)}  # fmt: skip
        assert api.post("/api/v1/routing/rules", json=body).status_code == 422

    def test_duplicate_team_name_is_409(self, api: TestClient) -> None:
        team(api, "Twins")
        assert api.post("/api/v1/teams", json={"name": "Twins"}).status_code == 409

    def test_route_unknown_person_is_404(self, api: TestClient) -> None:
        assert api.post(f"/api/v1/people/{uuid.uuid4()}/route").status_code == 404

    def test_stale_rule_edit_is_412(self, api: TestClient, cast: Cast) -> None:
        made = rule(api, name="Owner", kind="company_owner")
        ok = api.patch(f"/api/v1/routing/rules/{made['id']}", json={"name": "Owners"},
                       headers={"If-Match": '"1"'})  # fmt: skip
        assert ok.status_code == 200 and ok.json()["version"] == 2
        stale = api.patch(f"/api/v1/routing/rules/{made['id']}", json={"name": "Again"},
                          headers={"If-Match": '"1"'})  # fmt: skip
        assert stale.status_code == 412


class TestIsolation:
    def test_other_workspace_sees_no_rules_or_teams(self, api_as: Api, cast: Cast) -> None:
        ada = api_as("ada")
        team(ada, "Acme team", cast.ben.user_id)
        rule(ada, name="Owner", kind="company_owner")
        dev = api_as("dev")
        assert dev.get("/api/v1/routing/rules").json() == []
        assert dev.get("/api/v1/teams").json() == []

    def test_team_members_are_in_the_team(self, api: TestClient, database: Database, cast: Cast
                                          ) -> None:  # fmt: skip
        team_id = team(api, "Pair", cast.max.user_id, cast.ben.user_id)
        listed = {t["name"]: t for t in api.get("/api/v1/teams").json()}
        assert set(listed["Pair"]["member_ids"]) == {str(cast.max.user_id), str(cast.ben.user_id)}
        moved = api.put(f"/api/v1/teams/{team_id}/members", json={"member_ids": []})
        assert moved.status_code == 200 and moved.json() == []
        with database.session(cast.acme) as session:
            assert session.scalars(select(Team).where(Team.name == "Pair")).one()
