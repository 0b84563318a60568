"""The company pages: the list, the add form, the record page, editing in place, delete + undo."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapport.core.db import Database
from tests.conftest import Cast, Member
from tests.web.conftest import csrf_from, sign_in
from tests.web.test_auth import give_password
from tests.web.test_people import add

HTMX = {"HX-Request": "true"}


def add_company(api: TestClient, name: str, **extra: Any) -> dict[str, Any]:
    response = api.post("/api/v1/companies", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def labs(api: TestClient) -> dict[str, Any]:
    company = add_company(
        api, "Analytical Labs", domain="analytical.example.com", industry="Engineering",
        size=120, tags=["Partner"],
    )  # fmt: skip
    person = add(api, "Ada", "Lovelace", email="ada@analytical.example.com",
                 company_id=company["id"])  # fmt: skip
    api.post(
        "/api/v1/activities",
        json={"kind": "call", "person_id": person["id"], "subject": "Engine review"},
    )
    return company


def _edit(client: TestClient, company: dict[str, Any], **fields: Any):  # type: ignore[no-untyped-def]
    page = client.get(f"/companies/{company['id']}", params={"edit": "true"}).text
    data = {
        "csrf_token": csrf_from(page),
        "name": company["name"],
        "domain": company["domain"] or "",
        "industry": company["industry"] or "",
        "size": "" if company["size"] is None else str(company["size"]),
        "version": str(company["version"]),
        **fields,
    }
    return client.post(f"/companies/{company['id']}", data=data)


def _signed_in_as(browser: TestClient, database: Database, member: Member) -> TestClient:
    give_password(database, member.user_id)
    return sign_in(browser, member.email)


class TestList:
    def test_empty_state_tells_what_to_do(self, signed_in: TestClient) -> None:
        response = signed_in.get("/companies")
        assert response.status_code == 200
        assert "No companies yet — add one" in response.text
        assert 'href="/companies/new"' in response.text

    def test_lists_companies_with_links(self, signed_in: TestClient, labs: dict[str, Any]) -> None:
        html = signed_in.get("/companies").text
        assert f'href="/companies/{labs["id"]}"' in html
        assert "Analytical Labs" in html and "analytical.example.com" in html

    def test_sorts_and_filters(self, signed_in: TestClient, api: TestClient) -> None:
        add_company(api, "Zeta Works", industry="Shipping")
        add_company(api, "Alpha Mills", industry="Textiles", tags=["Key"])
        html = signed_in.get("/companies", params={"sort": "-name"}).text
        assert html.index("Zeta Works") < html.index("Alpha Mills")
        assert 'aria-sort="descending"' in html
        html = signed_in.get("/companies", params={"industry": "textile"}).text
        assert "Alpha Mills" in html and "Zeta Works" not in html
        html = signed_in.get("/companies", params={"tag": "Key"}).text
        assert "Alpha Mills" in html and "Zeta Works" not in html
        html = signed_in.get("/companies", params={"q": "zeta"}).text
        assert "Zeta Works" in html and "Alpha Mills" not in html

    def test_htmx_gets_only_the_results_and_scrolls_on(
        self, signed_in: TestClient, api: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from rapport.hub.views import companies as company_views

        monkeypatch.setattr(company_views, "PAGE_SIZE", 2)
        for name in ("One", "Two", "Three"):
            add_company(api, f"Firm {name}")
        html = signed_in.get("/companies", headers=HTMX).text
        assert html.lstrip().startswith('<section id="company-results"')
        assert 'hx-trigger="intersect once"' in html and "Firm Two" not in html
        cursor_url = html.split('class="load-more" hx-get="')[1].split('"')[0]
        rows = signed_in.get(cursor_url.replace("&amp;", "&"), headers=HTMX).text
        assert rows.lstrip().startswith("<tr>") and "Firm Two" in rows

    def test_signed_out_goes_to_login(self, browser: TestClient) -> None:
        response = browser.get("/companies")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fcompanies"


class TestCreate:
    def test_the_form_adds_a_company(self, signed_in: TestClient) -> None:
        form = signed_in.get("/companies/new")
        assert form.status_code == 200 and 'for="f-domain"' in form.text
        response = signed_in.post(
            "/companies/new",
            data={"csrf_token": csrf_from(form.text), "name": "Babbage & Co",
                  "domain": "https://www.babbage.example.com/", "size": "12", "tags": "Lead, VIP"},
        )  # fmt: skip
        assert response.status_code == 303
        page = signed_in.get(response.headers["location"])
        assert page.status_code == 200
        assert "<h1>Babbage &amp; Co</h1>" in page.text and "babbage.example.com" in page.text
        assert "was added" in page.text

    def test_missing_name_and_duplicate_domain_are_shown_next_to_the_fields(
        self, signed_in: TestClient, labs: dict[str, Any]
    ) -> None:
        token = csrf_from(signed_in.get("/companies/new").text)
        response = signed_in.post(
            "/companies/new", data={"csrf_token": token, "name": "Other", "domain": labs["domain"]}
        )
        assert response.status_code == 200
        assert 'id="f-domain-error"' in response.text
        assert "already has this domain" in response.text
        response = signed_in.post("/companies/new", data={"csrf_token": token, "size": "many"})
        assert 'id="f-name-error"' in response.text and 'id="f-size-error"' in response.text

    def test_without_csrf_token_is_rejected(self, signed_in: TestClient) -> None:
        response = signed_in.post("/companies/new", data={"name": "Sneaky Ltd"})
        assert response.status_code == 403
        assert "Sneaky" not in signed_in.get("/companies").text


class TestRecordPage:
    def test_shows_header_people_tags_and_timeline(
        self, signed_in: TestClient, labs: dict[str, Any]
    ) -> None:
        response = signed_in.get(f"/companies/{labs['id']}")
        assert response.status_code == 200
        html = response.text
        assert "<h1>Analytical Labs</h1>" in html
        assert 'href="https://analytical.example.com"' in html
        assert "Engineering" in html and "120 employees" in html
        assert '<span class="tag">Partner</span>' in html
        assert 'href="/people/' in html and "Ada Lovelace" in html
        assert "Engine review" in html

    def test_unknown_company_is_404(self, signed_in: TestClient) -> None:
        assert signed_in.get(f"/companies/{uuid.uuid4()}").status_code == 404

    def test_another_workspace_gets_404(
        self, browser: TestClient, cast: Cast, labs: dict[str, Any]
    ) -> None:
        sign_in(browser, cast.dev.email)
        assert browser.get(f"/companies/{labs['id']}").status_code == 404
        assert "Analytical Labs" not in browser.get("/companies").text


class TestEditInPlace:
    def test_saving_changes_the_company(
        self, signed_in: TestClient, api: TestClient, labs: dict[str, Any]
    ) -> None:
        response = _edit(signed_in, labs, industry="Computing")
        assert response.status_code == 303
        assert api.get(f"/api/v1/companies/{labs['id']}").json()["industry"] == "Computing"

    def test_a_stale_edit_shows_a_conflict_and_changes_nothing(
        self, signed_in: TestClient, api: TestClient, labs: dict[str, Any]
    ) -> None:
        api.patch(f"/api/v1/companies/{labs['id']}", json={"industry": "Looms"})
        response = _edit(signed_in, labs, industry="Computing", name="Overwritten")
        assert response.status_code == 200
        assert "Someone else changed this company" in response.text
        assert "nothing was saved" in response.text
        now = api.get(f"/api/v1/companies/{labs['id']}").json()
        assert now["industry"] == "Looms" and now["name"] == "Analytical Labs"

    def test_without_csrf_token_is_rejected(
        self, signed_in: TestClient, labs: dict[str, Any]
    ) -> None:
        response = signed_in.post(
            f"/companies/{labs['id']}", data={"name": "X", "version": labs["version"]}
        )
        assert response.status_code == 403

    def test_read_only_member_can_neither_edit_nor_delete(
        self,
        browser: TestClient,
        database: Database,
        cast: Cast,
        api: TestClient,
        labs: dict[str, Any],
    ) -> None:
        _signed_in_as(browser, database, cast.cleo)
        html = browser.get(f"/companies/{labs['id']}").text
        assert "Analytical Labs" in html
        assert "?edit=true" not in html and "/delete" not in html
        assert "/companies/new" not in browser.get("/companies").text
        assert _edit(browser, labs, name="Hacked").status_code == 403
        token = csrf_from(html)
        response = browser.post(f"/companies/{labs['id']}/delete", data={"csrf_token": token})
        assert response.status_code == 403
        assert browser.get("/companies/new").status_code == 403
        assert api.get(f"/api/v1/companies/{labs['id']}").json()["name"] == "Analytical Labs"

    def test_a_member_may_edit_but_not_delete(
        self, browser: TestClient, database: Database, cast: Cast, labs: dict[str, Any]
    ) -> None:
        _signed_in_as(browser, database, cast.ben)
        html = browser.get(f"/companies/{labs['id']}").text
        assert "?edit=true" in html and "/delete" not in html


class TestDeleteAndUndo:
    def test_delete_then_undo_restores_it(
        self, signed_in: TestClient, api: TestClient, labs: dict[str, Any]
    ) -> None:
        token = csrf_from(signed_in.get(f"/companies/{labs['id']}").text)
        response = signed_in.post(f"/companies/{labs['id']}/delete", data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["location"] == "/companies"
        listing = signed_in.get("/companies").text
        assert "Analytical Labs was moved to the bin." in listing
        assert f'action="/companies/{labs["id"]}/restore"' in listing  # the toast's Undo
        assert f'href="/companies/{labs["id"]}"' not in listing
        assert signed_in.get(f"/companies/{labs['id']}").status_code == 404

        response = signed_in.post(
            f"/companies/{labs['id']}/restore", data={"csrf_token": csrf_from(listing)}
        )
        assert response.status_code == 303
        page = signed_in.get(response.headers["location"])
        assert page.status_code == 200 and "Analytical Labs was restored." in page.text
        assert api.get(f"/api/v1/companies/{labs['id']}").status_code == 200

    def test_restore_without_csrf_token_is_rejected(
        self, signed_in: TestClient, labs: dict[str, Any]
    ) -> None:
        assert signed_in.post(f"/companies/{labs['id']}/restore").status_code == 403
