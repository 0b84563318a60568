"""Duplicate people: the scan, the review queue, decisions, isolation and permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.hygiene.service import dedupe

Api = Callable[[str], TestClient]


def _person(api: TestClient, **body: Any) -> str:
    response = api.post("/api/v1/people", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _cast(api: TestClient) -> dict[str, str]:
    """Two planted duplicate pairs and two people who merely share a name (emails are unique
    in a workspace, so the twins differ there; the engine tests cover email case)."""
    home = [{"city": "Hampton", "postal_code": "23666"}]
    return {
        "kat": _person(api, first_name="Katherine", last_name="Johnson", email="kj@nasa.gov",
                       phone="+1 415 555 2671", addresses=home),
        "kat2": _person(api, first_name="Katherin", last_name="Jonson", email="K.Johnson@nasa.gov",
                        phone="(415) 555-2671", addresses=home),
        "dot": _person(api, first_name="Dorothy", last_name="Vaughan", email="dv@nasa.gov",
                       phone="+1 415 555 2672", addresses=home),
        "dot2": _person(api, first_name="Dorothy", last_name="Vaughn", phone="4155552672",
                        addresses=home),
        "mary": _person(api, first_name="Mary", last_name="Jackson", email="mary@nasa.gov",
                        phone="+1 415 555 2673", addresses=home),
        "mary2": _person(api, first_name="Mary", last_name="Jackson", email="mj@acme.com",
                         phone="+44 20 7946 0958",
                         addresses=[{"city": "London", "postal_code": "SW1A 1AA"}]),
    }  # fmt: skip


def _pairs(api: TestClient, status: str = "pending") -> dict[frozenset[str], dict[str, Any]]:
    response = api.get("/api/v1/duplicates", params={"status": status})
    assert response.status_code == 200, response.text
    return {frozenset((c["person_a"], c["person_b"])): c for c in response.json()["items"]}


def _scan(api: TestClient) -> dict[str, Any]:
    response = api.post("/api/v1/duplicates/scan", json={})
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestScan:
    def test_planted_duplicates_are_queued_most_probable_first(self, api: TestClient) -> None:
        p = _cast(api)
        counts = _scan(api)
        assert counts["people"] >= 6 and counts["new"] >= 2
        pairs = _pairs(api)
        assert frozenset((p["kat"], p["kat2"])) in pairs
        assert frozenset((p["dot"], p["dot2"])) in pairs
        assert frozenset((p["mary"], p["mary2"])) not in pairs
        ours = {frozenset((p["kat"], p["kat2"])), frozenset((p["dot"], p["dot2"]))}
        assert set(pairs) == ours
        probabilities = [c["probability"] for c in api.get("/api/v1/duplicates").json()["items"]]
        assert probabilities == sorted(probabilities, reverse=True)
        reasons = pairs[frozenset((p["kat"], p["kat2"]))]["reasons"]
        assert reasons["phone"] == "exact" and reasons["surname"] in ("close", "similar")

    def test_scan_compares_the_first_address_and_the_company_domain(self, api: TestClient) -> None:
        """The scan reads street, city, postcode and region out of the first address in SQL,
        and the domain of the person's company: each shows in the pair's reasons."""
        response = api.post("/api/v1/companies", json={"name": "Nasa", "domain": "www.nasa.gov"})
        assert response.status_code == 201, response.text
        company = response.json()["id"]
        home = {"street": "21 Mercury Way", "city": "Hampton", "postal_code": "23666",
                "region": "VA"}  # fmt: skip
        a = _person(api, first_name="Christine", last_name="Darden", email="cd@nasa.gov",
                    company_id=company, addresses=[home, {"city": "Elsewhere"}])  # fmt: skip
        b = _person(api, first_name="Christine", last_name="Dardan", company_id=company,
                    addresses=[{**home, "street": "21, Mercury  WAY"}])  # fmt: skip
        _person(api, first_name="Gone", last_name="Darden", addresses=[home])
        gone = _person(api, first_name="Christine", last_name="Darden", addresses=[home])
        assert api.delete(f"/api/v1/people/{gone}").status_code in (200, 204)
        assert _scan(api)["people"] == 3  # the deleted person is not read
        reasons = _pairs(api)[frozenset((a, b))]["reasons"]
        for name in ("street", "city", "postcode", "state", "domain"):
            assert reasons[name] == "exact", (name, reasons)
        assert reasons["email"] == "missing" and reasons["surname"] == "close"

    def test_rescan_adds_nothing_new(self, api: TestClient) -> None:
        _cast(api)
        _scan(api)
        again = _scan(api)
        assert again["new"] == 0 and again["found"] == again["updated"]


class TestDecide:
    def test_not_a_duplicate_is_remembered_across_scans(self, api: TestClient) -> None:
        p = _cast(api)
        _scan(api)
        pair = _pairs(api)[frozenset((p["dot"], p["dot2"]))]
        url = f"/api/v1/duplicates/{pair['id']}/decision"
        response = api.post(url, json={"decision": "not_duplicate"})
        assert response.status_code == 200 and response.json()["status"] == "not_duplicate"
        counts = _scan(api)
        assert counts["remembered"] == 1
        assert frozenset((p["dot"], p["dot2"])) not in _pairs(api)
        assert api.post(url, json={"decision": "merge"}).status_code == 409

    def test_merge_goes_through_the_merge_service_and_can_be_undone(self, api: TestClient) -> None:
        p = _cast(api)
        _scan(api)
        pair = _pairs(api)[frozenset((p["kat"], p["kat2"]))]
        response = api.post(f"/api/v1/duplicates/{pair['id']}/decision", json={"decision": "merge"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "merged"
        survivor, merged = sorted((p["kat"], p["kat2"]))
        assert api.get(f"/api/v1/people/{merged}").status_code == 404
        emails = [e["email"] for e in api.get(f"/api/v1/people/{survivor}").json()["emails"]]
        assert sorted(emails) == ["k.johnson@nasa.gov", "kj@nasa.gov"]
        undo = api.post(f"/api/v1/merges/{response.json()['reasons']['merge_id']}/undo")
        assert undo.status_code == 200
        assert api.get(f"/api/v1/people/{merged}").status_code == 200

    def test_skip_returns_the_pair_on_the_next_scan(self, api: TestClient) -> None:
        p = _cast(api)
        _scan(api)
        key = frozenset((p["kat"], p["kat2"]))
        pair = _pairs(api)[key]
        api.post(f"/api/v1/duplicates/{pair['id']}/decision", json={"decision": "skip"})
        assert key not in _pairs(api) and key in _pairs(api, "skipped")
        _scan(api)
        assert key in _pairs(api)


class TestAccess:
    def test_other_workspace_sees_nothing_and_gets_404(self, api: TestClient, api_as: Api) -> None:
        _cast(api)
        _scan(api)
        pair_id = next(iter(_pairs(api).values()))["id"]
        dev = api_as("dev")
        assert dev.get("/api/v1/duplicates").json()["items"] == []
        decision = dev.post(f"/api/v1/duplicates/{pair_id}/decision", json={"decision": "skip"})
        assert decision.status_code == 404
        assert dev.post("/api/v1/duplicates/scan", json={}).json()["found"] == 0
        assert pair_id in {c["id"] for c in api.get("/api/v1/duplicates").json()["items"]}

    def test_read_only_may_look_but_not_scan_or_decide(self, api: TestClient, api_as: Api) -> None:
        _cast(api)
        _scan(api)
        pair_id = next(iter(_pairs(api).values()))["id"]
        cleo = api_as("cleo")
        assert cleo.get("/api/v1/duplicates").status_code == 200
        assert cleo.post("/api/v1/duplicates/scan", json={}).status_code == 403
        decision = cleo.post(f"/api/v1/duplicates/{pair_id}/decision", json={"decision": "merge"})
        assert decision.status_code == 403


class TestPossibleDuplicates:
    def test_warns_of_a_likely_twin_before_create(self, api: TestClient, ada_ctx: Context) -> None:
        p = _cast(api)
        twin = {"first_name": "Kathy", "last_name": "Johnson", "phone": "+14155552671"}
        found = dedupe.possible_duplicates(ada_ctx, twin)
        ids = [str(pid) for pid, _ in found]
        assert ids[0] == p["kat"] and set(ids) <= {p["kat"], p["kat2"]}  # Katherin shares the phone
        stranger = {"first_name": "Alan", "last_name": "Jackson", "email": "alan@x.org"}
        assert dedupe.possible_duplicates(ada_ctx, stranger) == []
