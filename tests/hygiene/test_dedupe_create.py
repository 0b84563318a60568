"""Warn before creating a likely duplicate (API), and scan what an import added."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from rapport.hygiene.service import dedupe
from tests.hygiene.jobs_helper import drain_jobs

Api = Callable[[str], TestClient]
KAT = {"first_name": "Katherine", "last_name": "Johnson", "email": "kj@nasa.gov",
       "phone": "+1 415 555 2671"}  # fmt: skip
TWIN = {"first_name": "Katherin", "last_name": "Jonson", "email": "katherine.j@gmail.com",
        "phone": "(415) 555-2671"}  # fmt: skip


def _count(api: TestClient) -> int:
    return len(api.get("/api/v1/people", params={"limit": 200}).json()["items"])


class TestWarnOnCreate:
    def test_likely_duplicate_answers_409_with_candidates_and_writes_nothing(
        self, api: TestClient
    ) -> None:
        kat = api.post("/api/v1/people", json=KAT).json()["id"]
        before = _count(api)
        response = api.post("/api/v1/people?check_duplicates=true", json=TWIN)
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["type"].endswith("likely-duplicate")
        assert [c["id"] for c in problem["candidates"]] == [kat]
        assert problem["candidates"][0]["full_name"] == "Katherine Johnson"
        assert 0.5 <= problem["candidates"][0]["probability"] <= 1
        assert _count(api) == before

    def test_force_creates_anyway_and_no_check_is_the_default(self, api: TestClient) -> None:
        api.post("/api/v1/people", json=KAT)
        forced = api.post("/api/v1/people?check_duplicates=true&force=true", json=TWIN)
        assert forced.status_code == 201, forced.text
        plain = api.post("/api/v1/people", json={**TWIN, "email": "other@example.org"})
        assert plain.status_code == 201, plain.text

    def test_a_stranger_is_created_without_a_warning(self, api: TestClient) -> None:
        api.post("/api/v1/people", json=KAT)
        stranger = {"first_name": "Alan", "last_name": "Turing", "email": "alan@bletchley.uk"}
        response = api.post("/api/v1/people?check_duplicates=true", json=stranger)
        assert response.status_code == 201, response.text

    def test_a_member_gets_the_warning_too_and_other_workspaces_never_match(
        self, api: TestClient, api_as: Api
    ) -> None:
        api.post("/api/v1/people", json=KAT)
        assert (
            api_as("ben").post("/api/v1/people?check_duplicates=true", json=TWIN).status_code == 409
        )
        dev = api_as("dev").post("/api/v1/people?check_duplicates=true", json=TWIN)
        assert dev.status_code == 201, dev.text


class TestScanAfterImport:
    @pytest.mark.parametrize("scan", ["full", "incremental"])
    def test_an_import_queues_the_duplicates_it_brought_in(
        self, api: TestClient, scan: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A small workspace is scanned whole; a big one compares only the new people.
        monkeypatch.setattr(dedupe, "INCREMENTAL_READ", 10**9 if scan == "full" else 0)
        kat = api.post("/api/v1/people", json=KAT).json()["id"]
        # a national number is read in the row's country (without one it is refused)
        csv = ("first_name,last_name,email,phone,country\n"
               "Katherin,Jonson,katherine.j@gmail.com,(415) 555-2671,US\n"
               "Grace,Hopper,grace@navy.mil,+1 202 555 0199,US\n")  # fmt: skip
        response = api.post(
            "/api/v1/imports", files={"file": ("people.csv", csv.encode(), "text/csv")}
        )
        assert response.status_code == 202, response.text
        drain_jobs()  # the import runs in the background, as a worker would run it
        job = api.get(f"/api/v1/imports/{response.json()['id']}").json()
        assert job["created"] == 2
        queue = api.get("/api/v1/duplicates").json()["items"]
        assert len(queue) == 1
        twin = next(
            p["id"] for p in api.get("/api/v1/people", params={"q": "Jonson"}).json()["items"]
        )
        assert {queue[0]["person_a"], queue[0]["person_b"]} == {kat, twin}


def test_a_big_import_into_a_small_workspace_is_scanned_whole() -> None:
    assert dedupe.full_scan_pays(new=20_000, total=20_000)
    assert dedupe.full_scan_pays(new=10_000, total=1_000_000)
    assert not dedupe.full_scan_pays(new=100, total=1_000_000)
