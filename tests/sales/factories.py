"""Small helpers that make sales records through the API, with believable defaults."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

STAGES = [
    {"name": "Lead", "probability": 10},
    {"name": "Proposal", "probability": 50},
    {"name": "Won", "probability": 100, "is_won": True},
    {"name": "Lost", "probability": 0, "is_lost": True},
]


def make_pipeline(api: TestClient, **overrides: Any) -> dict[str, Any]:
    """A pipeline with Lead, Proposal, Won and Lost stages."""
    body = {"name": "New business", "stages": STAGES, **overrides}
    response = api.post("/api/v1/pipelines", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def stage_id(pipeline: dict[str, Any], name: str) -> str:
    return str(next(s["id"] for s in pipeline["stages"] if s["name"] == name))


def make_deal(api: TestClient, pipeline: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {"title": "Acme renewal", "amount": "1000.00", "currency": "EUR"}
    body |= {"pipeline_id": pipeline["id"], **overrides}
    response = api.post("/api/v1/deals", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())
