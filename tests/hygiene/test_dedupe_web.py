# ruff: noqa: F811  (pytest fixtures imported from tests.web.conftest)
"""The web side of dedupe: the review queue page (merge with per-field choice, not a
duplicate, skip, undo), the merges history, the quality page and the add-person warning."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from rapport.core.context import Context
from rapport.core.db import Database
from rapport.hygiene.models import DuplicateCandidate
from rapport.hygiene.service import dedupe
from tests.conftest import Cast
from tests.hygiene.jobs_helper import drain_jobs
from tests.web.conftest import browser, csrf_from, sign_in, signed_in  # noqa: F401
from tests.web.test_auth import give_password

HTMX = {"HX-Request": "true"}


def _person(api: TestClient, **body: Any) -> str:
    response = api.post("/api/v1/people", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _queue(api: TestClient) -> dict[str, str]:
    kat = _person(api, first_name="Katherine", last_name="Johnson", email="kj@nasa.gov",
                  phone="+1 415 555 2671", job_title="Mathematician")  # fmt: skip
    twin = _person(api, first_name="Katherin", last_name="Jonson", email="kat@gmail.com",
                   phone="(415) 555-2671", job_title="Research mathematician")  # fmt: skip
    assert api.post("/api/v1/duplicates/scan", json={}).status_code == 200
    candidate = api.get("/api/v1/duplicates").json()["items"][0]
    return {"kat": kat, "twin": twin, "candidate": candidate["id"]}


class TestReviewQueue:
    def test_pairs_side_by_side_with_differences_and_reasons(
        self,
        api: TestClient,
        signed_in: TestClient,
    ) -> None:
        q = _queue(api)
        html = signed_in.get("/duplicates").text
        assert f'id="pair-{q["candidate"]}"' in html
        assert "Katherine" in html and "Katherin" in html
        assert "<mark>Mathematician</mark>" in html  # the job titles differ
        assert 'name="choice_job_title" value="survivor" checked' in html
        assert "weight +" in html  # the phone agrees: a positive weight
        assert 'href="/duplicates"' in html  # the nav entry

    def test_merge_with_a_per_field_choice_then_undo(
        self,
        api: TestClient,
        signed_in: TestClient,
    ) -> None:
        q = _queue(api)
        token = csrf_from(signed_in.get("/duplicates").text)
        response = signed_in.post(
            f"/duplicates/{q['candidate']}/merge",
            data={"csrf_token": token, "choice_job_title": "merged"}, headers=HTMX,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert "hidden" in response.text and "Undo" in response.text
        survivor = api.get(f"/api/v1/people/{q['kat']}").json()
        assert survivor["job_title"] == "Research mathematician"
        assert api.get(f"/api/v1/people/{q['twin']}").status_code == 404
        history = signed_in.get("/merges").text
        assert "Katherine Johnson" in history and "/undo" in history
        undo = next(p for p in history.split('action="')[1:] if p.startswith("/merges/"))
        response = signed_in.post(undo.split('"')[0], data={"csrf_token": token})
        assert response.status_code == 303
        assert api.get(f"/api/v1/people/{q['twin']}").status_code == 200
        assert api.get(f"/api/v1/people/{q['kat']}").json()["job_title"] == "Mathematician"
        queue = signed_in.get("/duplicates").text
        assert f'id="pair-{q["candidate"]}"' in queue  # undone: back in the review queue

    def test_not_a_duplicate_and_skip(
        self,
        api: TestClient,
        signed_in: TestClient,
    ) -> None:
        q = _queue(api)
        token = csrf_from(signed_in.get("/duplicates").text)
        response = signed_in.post(f"/duplicates/{q['candidate']}/skip",
                                  data={"csrf_token": token}, headers=HTMX)  # fmt: skip
        assert response.status_code == 200
        assert api.get("/api/v1/duplicates", params={"status": "skipped"}).json()["items"]
        api.post("/api/v1/duplicates/scan", json={})  # a skipped pair comes back
        response = signed_in.post(f"/duplicates/{q['candidate']}/not-duplicate",
                                  data={"csrf_token": token})  # fmt: skip
        assert response.status_code == 303
        api.post("/api/v1/duplicates/scan", json={})
        assert api.get("/api/v1/duplicates").json()["items"] == []
        assert f'id="pair-{q["candidate"]}"' not in signed_in.get("/duplicates").text

    def test_a_read_only_member_sees_the_queue_but_cannot_decide(
        self,
        api: TestClient,
        browser: TestClient,
        cast: Cast,
        database: Database,
    ) -> None:
        q = _queue(api)
        give_password(database, cast.cleo.user_id)
        sign_in(browser, cast.cleo.email)
        html = browser.get("/duplicates").text
        assert f'id="pair-{q["candidate"]}"' in html and ">Merge<" not in html
        response = browser.post(f"/duplicates/{q['candidate']}/merge",
                                data={"csrf_token": csrf_from(html)})  # fmt: skip
        assert response.status_code == 403

    def test_a_pair_that_differs_never_shows_100_percent(
        self, api: TestClient, signed_in: TestClient, ada_ctx: Context
    ) -> None:
        q = _queue(api)  # surname and email differ, the phone agrees
        ada_ctx.session.execute(
            update(DuplicateCandidate)
            .where(DuplicateCandidate.id == uuid.UUID(q["candidate"]))
            .values(probability=0.9999997)  # what the model says of such a pair
        )
        ada_ctx.session.flush()
        html = signed_in.get("/duplicates").text
        shown = re.search(r"<strong data-probability>(\d+) %</strong>", html)
        assert shown is not None and int(shown.group(1)) == 99
        assert re.search(r">\s*Lead\s*<", html)  # the stage in words...
        assert not re.search(r">\s*lead\s*<", html)  # ...never the stored value
        assert "nearly the same" in html  # the reasons in words too

    def test_undo_from_the_toast_puts_the_pair_back_in_the_queue(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        q = _queue(api)
        token = csrf_from(signed_in.get("/duplicates").text)
        merged = signed_in.post(f"/duplicates/{q['candidate']}/merge",
                                data={"csrf_token": token}, headers=HTMX)  # fmt: skip
        assert f'id="pair-{q["candidate"]}" hidden' in merged.text
        assert f'id="pair-{q["candidate"]}"' not in signed_in.get("/duplicates").text
        undo = re.search(r'action="(/merges/[^"]+/undo\?back=queue)"', merged.text)
        assert undo is not None
        back = signed_in.post(undo.group(1), data={"csrf_token": token})
        assert back.status_code == 303 and back.headers["location"] == "/duplicates"
        queue = signed_in.get("/duplicates").text
        assert f'id="pair-{q["candidate"]}"' in queue
        assert "the pair is back in the queue" in queue
        assert api.get(f"/api/v1/people/{q['twin']}").status_code == 200


class TestShownPercent:
    def test_only_identical_records_show_100(self) -> None:
        assert dedupe.shown_percent(0.9999999, identical=False) == 99
        assert dedupe.shown_percent(0.9999999, identical=True) == 100
        assert dedupe.shown_percent(0.996, identical=True) == 100
        assert dedupe.shown_percent(0.876, identical=False) == 87  # rounded down, never up
        assert dedupe.shown_percent(0.5, identical=True) == 50


class TestQualityPage:
    def test_bars_and_counts(self, api: TestClient, signed_in: TestClient) -> None:
        _queue(api)
        html = signed_in.get("/quality").text
        assert 'data-field="email"' in html and "% filled" in html
        assert 'style="background' not in html  # styled by hygiene.css like the other pages
        assert 'href="/quality" aria-current="page"' in html  # in the navigation
        assert 'data-count="duplicates">1<' in html
        assert "data-counted" not in html  # a small workspace is counted on the spot

    def test_a_large_workspace_shows_the_report_counted_in_the_background(
        self, api: TestClient, signed_in: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from rapport.hygiene.service import quality

        _queue(api)
        monkeypatch.setattr(quality, "LIVE_UP_TO", 1)  # "large": more than one person
        first = signed_in.get("/quality").text
        assert "being counted in the background" in first and 'data-field="email"' not in first
        drain_jobs()
        counted = signed_in.get("/quality").text
        assert re.search(r"Counted\s", counted) and "on its way" not in counted
        assert 'data-field="email"' in counted and 'data-count="duplicates">1<' in counted
        # the snapshot is what is shown until it is old: a new person is not in it yet
        before = re.search(r"How complete are ([\d,]+) people", counted)
        api.post("/api/v1/people", json={"first_name": "Later"})
        again = signed_in.get("/quality").text
        assert re.search(r"How complete are ([\d,]+) people", again).group(1) == before.group(1)  # type: ignore[union-attr]
        monkeypatch.setattr(quality, "FRESH_FOR", timedelta(0))  # now it is old
        stale = signed_in.get("/quality").text
        assert "on its way" in stale
        drain_jobs()
        fresh = signed_in.get("/quality").text
        total = int(re.search(r"How complete are ([\d,]+) people", fresh).group(1).replace(",", ""))  # type: ignore[union-attr]
        assert total == int(before.group(1).replace(",", "")) + 1  # type: ignore[union-attr]


class TestAddPersonWarning:
    def test_the_form_shows_the_likely_match_and_creates_anyway(
        self,
        api: TestClient,
        signed_in: TestClient,
    ) -> None:
        kat = _person(api, first_name="Katherine", last_name="Johnson", email="kj@nasa.gov",
                      phone="+1 415 555 2671")  # fmt: skip
        count = lambda: len(api.get("/api/v1/people", params={"limit": 200}).json()["items"])  # noqa: E731
        before = count()
        token = csrf_from(signed_in.get("/people/new").text)
        form = {"csrf_token": token, "first_name": "Katherin", "last_name": "Jonson",
                "phone": "(415) 555-2671", "lifecycle_stage": "lead"}  # fmt: skip
        response = signed_in.post("/people/new", data=form)
        assert response.status_code == 200
        assert "data-likely-duplicates" in response.text
        assert f'href="/people/{kat}"' in response.text and "Create anyway" in response.text
        assert count() == before
        response = signed_in.post("/people/new", data={**form, "force": "1"})
        assert response.status_code == 303
        assert count() == before + 1


def _company_queue(api: TestClient) -> dict[str, str]:
    def company(**body: Any) -> str:
        response = api.post("/api/v1/companies", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    acme = company(name="Acme Corp", domain="acme.example", phone="+1 415 555 0100")
    twin = company(name="ACME Incorporated", phone="(415) 555-0100", industry="Rockets")
    person = api.post("/api/v1/people", json={"first_name": "Wile", "last_name": "Coyote",
                                              "company_id": twin}).json()["id"]  # fmt: skip
    assert api.post("/api/v1/company-duplicates/scan", json={}).status_code == 200
    candidate = api.get("/api/v1/company-duplicates").json()["items"][0]
    return {"acme": acme, "twin": twin, "person": person, "candidate": candidate["id"]}


class TestCompanyReviewQueue:
    def test_a_switch_and_company_pairs_side_by_side_with_differences(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        q = _company_queue(api)
        people = signed_in.get("/duplicates").text
        assert 'href="/duplicates?kind=companies"' in people and "data-kind-switch" in people
        assert f'id="pair-{q["candidate"]}"' not in people
        html = signed_in.get("/duplicates?kind=companies").text
        assert f'id="pair-{q["candidate"]}"' in html
        assert "Acme Corp" in html and "ACME Incorporated" in html
        assert 'data-differs="industry"' in html and "<mark>Rockets</mark>" in html
        assert 'data-differs="phone"' not in html  # the same number once normalised
        assert 'aria-current="page">Companies<' in html

    def test_merge_then_undo_from_the_toast(self, api: TestClient, signed_in: TestClient) -> None:
        q = _company_queue(api)
        token = csrf_from(signed_in.get("/duplicates?kind=companies").text)
        response = signed_in.post(f"/duplicates/companies/{q['candidate']}/merge",
                                  data={"csrf_token": token}, headers=HTMX)  # fmt: skip
        assert response.status_code == 200, response.text
        assert "hidden" in response.text and "Undo" in response.text
        assert api.get(f"/api/v1/companies/{q['twin']}").status_code == 404
        assert api.get(f"/api/v1/people/{q['person']}").json()["company_id"] == q["acme"]
        assert api.get(f"/api/v1/companies/{q['acme']}").json()["industry"] == "Rockets"
        undo = response.text.split('action="/merges/companies/')[1].split('"')[0]
        back = signed_in.post(f"/merges/companies/{undo}", data={"csrf_token": token})
        # The toast's Undo goes back to the queue, where the pair waits again.
        assert back.status_code == 303 and back.headers["location"] == "/duplicates?kind=companies"
        assert api.get(f"/api/v1/companies/{q['twin']}").status_code == 200
        assert api.get(f"/api/v1/people/{q['person']}").json()["company_id"] == q["twin"]
        queue = signed_in.get("/duplicates?kind=companies").text
        assert f'id="pair-{q["candidate"]}"' in queue  # undone: back in the review queue

    def test_not_a_duplicate_is_remembered_and_skip_comes_back(
        self, api: TestClient, signed_in: TestClient
    ) -> None:
        q = _company_queue(api)
        token = csrf_from(signed_in.get("/duplicates?kind=companies").text)
        skip = signed_in.post(f"/duplicates/companies/{q['candidate']}/skip",
                              data={"csrf_token": token})  # fmt: skip
        assert skip.status_code == 303
        assert skip.headers["location"] == "/duplicates?kind=companies"
        api.post("/api/v1/company-duplicates/scan", json={})  # a skipped pair comes back
        html = signed_in.get("/duplicates?kind=companies").text
        assert f'id="pair-{q["candidate"]}"' in html
        dismissed = signed_in.post(f"/duplicates/companies/{q['candidate']}/not-duplicate",
                                   data={"csrf_token": token}, headers=HTMX)  # fmt: skip
        assert dismissed.status_code == 200
        api.post("/api/v1/company-duplicates/scan", json={})
        assert f'id="pair-{q["candidate"]}"' not in signed_in.get("/duplicates?kind=companies").text
        again = signed_in.post(f"/duplicates/companies/{q['candidate']}/merge",
                               data={"csrf_token": token}, headers=HTMX)  # fmt: skip
        assert again.status_code == 200
        assert "already decided: not a duplicate" in again.text  # in words, not not_duplicate

    def test_read_only_sees_but_cannot_decide_and_other_workspaces_get_404(
        self, api: TestClient, browser: TestClient, cast: Cast, database: Database
    ) -> None:
        q = _company_queue(api)
        give_password(database, cast.cleo.user_id)
        sign_in(browser, cast.cleo.email)
        html = browser.get("/duplicates?kind=companies").text
        assert f'id="pair-{q["candidate"]}"' in html and ">Merge<" not in html
        denied = browser.post(f"/duplicates/companies/{q['candidate']}/merge",
                              data={"csrf_token": csrf_from(html)})  # fmt: skip
        assert denied.status_code == 403
        give_password(database, cast.dev.user_id)
        from fastapi.testclient import TestClient as Client

        dev = Client(browser.app, raise_server_exceptions=False, follow_redirects=False)
        sign_in(dev, cast.dev.email)
        token = csrf_from(dev.get("/duplicates?kind=companies").text)
        stranger = dev.post(f"/duplicates/companies/{q['candidate']}/merge",
                            data={"csrf_token": token})  # fmt: skip
        assert stranger.status_code == 404
        assert f'id="pair-{q["candidate"]}"' not in dev.get("/duplicates?kind=companies").text
