"""Every HTML route: who may see it, what it answers, and the app shell around it."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from rapport.core import security
from rapport.web.render import STATIC_DIR
from tests.conftest import Cast

APP_PAGES = ["/", "/people", "/companies", "/search", "/search?q=ada"]


class TestSignedOut:
    @pytest.mark.parametrize("path", APP_PAGES)
    def test_app_pages_redirect_to_sign_in(self, browser: TestClient, path: str) -> None:
        response = browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")

    def test_the_redirect_remembers_the_page(self, browser: TestClient) -> None:
        response = browser.get("/search?q=ada")
        assert response.headers["location"] == "/login?next=%2Fsearch%3Fq%3Dada"

    def test_htmx_requests_get_hx_redirect_not_a_fragment(self, browser: TestClient) -> None:
        response = browser.get(
            "/search?q=ada",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/companies"},
        )
        assert response.status_code == 204
        assert response.headers["hx-redirect"] == "/login?next=%2Fcompanies"

    def test_a_forged_cookie_counts_as_signed_out(self, browser: TestClient) -> None:
        browser.cookies.set("rapport_session", "forged.value.here")
        assert browser.get("/people").status_code == 303

    def test_a_session_of_someone_who_left_counts_as_signed_out(
        self, browser: TestClient, cast: Cast
    ) -> None:
        stale = {"user": str(uuid.uuid4()), "workspace": str(cast.acme), "csrf": "x" * 24}
        browser.cookies.set("rapport_session", security.sign_session(stale))
        assert browser.get("/people").status_code == 303


class TestShell:
    def test_home_opens_the_people_list(self, signed_in: TestClient) -> None:
        response = signed_in.get("/")
        assert response.status_code == 303
        assert response.headers["location"] == "/people"

    @pytest.mark.parametrize(
        ("path", "heading", "empty"),
        [("/people", "People", "No people yet"), ("/companies", "Companies", "No companies yet")],
    )
    def test_list_pages_show_an_empty_state(
        self, signed_in: TestClient, path: str, heading: str, empty: str
    ) -> None:
        response = signed_in.get(path)
        assert response.status_code == 200
        assert f"<h1>{heading}</h1>" in response.text
        assert empty in response.text
        assert f'href="{path}" aria-current="page"' in response.text

    def test_shell_has_landmarks_search_and_user_menu(self, signed_in: TestClient) -> None:
        html = signed_in.get("/people").text
        assert 'class="skip-link" href="#main"' in html
        assert '<nav class="sidebar" aria-label="Main">' in html
        assert '<header class="topbar">' in html
        assert '<main id="main"' in html
        assert 'role="search"' in html and 'id="global-search"' in html
        assert "Acme" in html  # the workspace name
        assert 'action="/logout"' in html
        assert '<meta name="csrf-token"' in html

    def test_sections_not_built_yet_are_not_links(self, signed_in: TestClient) -> None:
        html = signed_in.get("/people").text
        for section in ("Tickets", "Marketing", "Analytics"):
            assert f'title="{section} is coming soon"' in html
            assert f'href="/{section.lower()}"' not in html

    def test_pages_are_not_cached_and_forbid_framing(self, signed_in: TestClient) -> None:
        response = signed_in.get("/people")
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    def test_web_routes_stay_out_of_the_api_document(self, anon: TestClient) -> None:
        paths = anon.get("/api/v1/openapi.json").json()["paths"]
        assert not {"/login", "/logout", "/setup", "/search", "/people"} & set(paths)


class TestStaticFiles:
    def test_own_css_and_js_are_served(self, anon: TestClient) -> None:
        for name in ("app.css", "app.js", "favicon.svg"):
            assert anon.get(f"/static/{name}").status_code == 200

    def test_pages_link_assets_with_a_content_hash(self, signed_in: TestClient) -> None:
        html = signed_in.get("/people").text
        assert "/static/app.css?v=" in html
        assert "/static/vendor/htmx.min.js?v=" in html

    def test_vendor_files_come_from_npm(self, anon: TestClient) -> None:
        if not (STATIC_DIR / "vendor" / "htmx.min.js").exists():
            pytest.fail("run `make setup` (scripts/assets.sh) to install the front-end assets")
        response = anon.get("/static/vendor/htmx.min.js")
        assert response.status_code == 200
        assert "htmx" in response.text[:2000]
