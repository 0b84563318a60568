"""A company page logs activities like a person's; after logging, the page's figures come back
out of band (no reload) and an HX-Trigger tells whatever else listens."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_from

HTMX = {"HX-Request": "true"}


def test_a_company_page_logs_a_call_on_its_timeline(signed_in: TestClient, api: TestClient) -> None:
    company = api.post("/api/v1/companies", json={"name": "Caltech Labs"}).json()
    page = signed_in.get(f"/companies/{company['id']}").text
    assert 'data-quick-log data-record-kind="company"' in page
    assert 'id="company-stats"' in page
    response = signed_in.post(
        f"/companies/{company['id']}/activities",
        data={"csrf_token": csrf_from(page), "kind": "call", "subject": "Renewal call"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "rapport:activity-logged"
    assert 'id="timeline"' in response.text and "Renewal call" in response.text
    assert 'id="company-stats" aria-live="polite" hx-swap-oob="true"' in response.text
    assert "Call logged with Caltech Labs." in response.text
    listed = api.get("/api/v1/activities", params={"company_id": company["id"]}).json()
    assert [a["subject"] for a in listed["items"]] == ["Renewal call"]


def test_a_company_activity_validation_permission_and_csrf(
    signed_in: TestClient, signed_in_as: Callable[[str], TestClient], api: TestClient
) -> None:
    company = api.post("/api/v1/companies", json={"name": "Lowell Works"}).json()
    url = f"/companies/{company['id']}/activities"
    page = signed_in.get(f"/companies/{company['id']}").text
    bad = signed_in.post(url, data={"csrf_token": csrf_from(page), "kind": "purchase"})
    assert bad.status_code == 422
    assert signed_in.post(url, data={"kind": "call"}).status_code == 403  # no CSRF token
    cleo = signed_in_as("cleo")
    cleo_page = cleo.get(f"/companies/{company['id']}").text
    assert "data-quick-log" not in cleo_page
    refused = cleo.post(url, data={"csrf_token": csrf_from(cleo_page), "kind": "call"})
    assert refused.status_code == 403
    assert api.get("/api/v1/activities", params={"company_id": company["id"]}).json()["items"] == []


def test_a_person_figures_follow_a_logged_call(signed_in: TestClient, api: TestClient) -> None:
    person = api.post("/api/v1/people", json={"first_name": "Henrietta"}).json()
    page = signed_in.get(f"/people/{person['id']}").text
    assert 'id="person-stats"' in page and "<dd>0</dd>" in page
    response = signed_in.post(
        f"/people/{person['id']}/activities",
        data={"csrf_token": csrf_from(page), "kind": "call", "subject": "Intro"},
        headers=HTMX,
    )
    assert response.headers["HX-Trigger"] == "rapport:activity-logged"
    html = response.text
    assert 'id="timeline"' in html
    stats = html.split('id="person-stats"')[1].split("</dl>")[0]
    assert 'hx-swap-oob="true"' in stats
    assert "<dt>Interactions</dt><dd>1</dd>" in stats
    assert "<dt>Last contact</dt><dd>—</dd>" not in stats
