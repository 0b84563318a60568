"""The registry drives the app: a domain that registers itself gets its pages, its nav entry
and its panel on the person page without any other file knowing about it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from rapport import domains
from rapport.app import create_app
from rapport.core import registry
from rapport.core.permissions import ALL_PERMISSIONS
from rapport.core.registry import Domain, NavEntry, Panel
from rapport.web.render import render
from rapport.web.session import Page
from tests.conftest import Cast
from tests.web.conftest import sign_in


def _loyalty_points(_ctx: Any, person: Any) -> dict[str, Any]:
    return {"points": len(person.email or "")}


def _loyalty(templates: Path) -> Domain:
    pages = APIRouter()

    @pages.get("/loyalty", response_class=HTMLResponse)
    def loyalty_page(request: Request, page: Page) -> HTMLResponse:
        return render(request, "loyalty/home.html", title="Loyalty")

    return Domain(
        name="loyalty",
        views=pages,
        templates=templates,
        nav=(NavEntry("Loyalty", "/loyalty", "check", order=85),),
        panels=(Panel("person", "loyalty/_points.html", order=50, load=_loyalty_points),),
    )


@pytest.fixture
def loyalty_app(tmp_path: Path, database: object) -> Iterator[Any]:
    """The app built with one more domain registered next to the real ones."""
    folder = tmp_path / "templates" / "loyalty"
    folder.mkdir(parents=True)
    (folder / "home.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Loyalty programs</h1>{% endblock %}'
    )
    (folder / "_points.html").write_text(
        '<section class="card" id="loyalty-panel">{{ panel_data.points }} points</section>'
    )
    real = domains.install()
    registry.install([*real, _loyalty(tmp_path / "templates")])
    try:
        yield create_app(check_schema=False)
    finally:
        registry.install(real)


def test_a_registered_domain_adds_pages_nav_and_a_person_panel(
    loyalty_app: Any, connection: Connection, cast: Cast, api: TestClient
) -> None:
    person = api.post("/api/v1/people", json={"first_name": "Ida", "email": "ida@example.com"})
    assert person.status_code == 201, person.text
    browser = TestClient(loyalty_app, raise_server_exceptions=False, follow_redirects=False)
    sign_in(browser, cast.ada.email)

    page = browser.get("/loyalty")
    assert page.status_code == 200
    assert "<h1>Loyalty programs</h1>" in page.text
    assert 'href="/loyalty"' in page.text  # its nav entry, on its own page and every other

    record = browser.get(f"/people/{person.json()['id']}")
    assert record.status_code == 200
    assert '<section class="card" id="loyalty-panel">15 points</section>' in record.text
    assert 'id="lead-score-panel"' in record.text  # the sales panel is still there
    assert record.text.index('id="lead-score-panel"') < record.text.index('id="loyalty-panel"')


def test_the_registry_keeps_the_domains_in_order_and_refuses_twins() -> None:
    names = [d.name for d in domains.install()]
    assert names == ["accounts", "hub", "sales", "hygiene"]
    assert [e.label for e in registry.nav()][:2] == ["People", "Companies"]
    with pytest.raises(ValueError, match="registered twice"):
        registry.install([*registry.domains(), registry.domains()[0]])
    assert [d.name for d in registry.domains()] == names


def test_every_permission_is_declared_by_a_domain_or_core() -> None:
    """The domains' declared permissions are the role grants' vocabulary (core adds audit)."""
    domains.install()
    assert registry.permissions() | {"audit:read"} == ALL_PERMISSIONS
