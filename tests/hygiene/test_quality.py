"""The data-quality report: completeness, invalid values, pending work."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import update

from rapport.core.context import Context
from rapport.hub.models import Person

Api = Callable[[str], TestClient]


def test_report_counts_completeness_invalid_values_and_pending_work(
    api: TestClient, api_as: Api, ada_ctx: Context
) -> None:
    before = api.get("/api/v1/quality").json()
    people = [
        {"first_name": "Katherine", "last_name": "Johnson", "email": "kj@nasa.gov",
         "phone": "+1 415 555 2671", "job_title": "Mathematician"},
        {"first_name": "Katherin", "last_name": "Jonson", "phone": "(415) 555-2671"},
        {"first_name": "Grace", "email": "grace@navy.mil"},
        {"last_name": "Lovelace"},
    ]  # fmt: skip
    ids = [api.post("/api/v1/people", json=p).json()["id"] for p in people]
    # legacy values that bypassed validation (an old import): not in canonical form
    ada_ctx.session.execute(update(Person).where(Person.id == uuid.UUID(ids[3]))
                            .values(email="not an email", phone="555 0000"))  # fmt: skip
    ada_ctx.session.flush()
    api.post("/api/v1/duplicates/scan", json={})
    api.post(f"/api/v1/people/{ids[2]}/bounce", json={})
    report = api.get("/api/v1/quality").json()
    n = before["people"]
    assert report["people"] == n + 4
    c, b = report["completeness"], before["completeness"]
    assert c["email"]["filled"] - b["email"]["filled"] == 3
    assert c["phone"]["filled"] - b["phone"]["filled"] == 3
    assert c["job_title"]["filled"] - b["job_title"]["filled"] == 1
    assert c["first_name"]["filled"] - b["first_name"]["filled"] == 3
    assert c["email"]["share"] == round(c["email"]["filled"] / (n + 4), 4)
    assert report["invalid"]["emails"] - before["invalid"]["emails"] == 1
    assert report["invalid"]["phones"] - before["invalid"]["phones"] == 1
    assert report["duplicates_pending"] - before["duplicates_pending"] == 1
    assert report["bounced_emails"] == before["bounced_emails"] + 1
    other = api_as("dev").get("/api/v1/quality").json()
    assert other["duplicates_pending"] == 0 and other["bounced_emails"] == 0
