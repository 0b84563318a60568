"""Every operation of the OpenAPI document, fuzzed by schemathesis against a real ``rapport serve``
(SQLite, or PostgreSQL when RAPPORT_TEST_DATABASE_URL says so): no server errors, and every
answer is one the document declares, with its declared content type and schema.

Fixed seed and a fixed number of examples per operation, so a failure replays exactly and the
run stays within a few minutes on a 2-core machine.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rapport.app import create_app
from tests.live import Server

SEED = 20261207
EXAMPLES_PER_OPERATION = 10
CHECKS: list[Any] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    """The document ``rapport serve`` publishes at /api/v1/openapi.json, built at collection
    time so that each operation is its own test (xdist spreads them; a failure names it);
    test_live_server_publishes_this_document checks the server really serves it."""
    return dict(create_app(check_schema=False).openapi())


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES_PER_OPERATION},
            "phases": {"coverage": {"enabled": False}},
            "request-timeout": 30,
        }
    ),
)


def test_live_server_publishes_this_document(live_server: Server) -> None:
    response = httpx.get(live_server.url + "/api/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOCUMENT))


@schema.parametrize()
def test_api_answers_every_fuzzed_request_as_documented(case: Any, live_server: Server) -> None:
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {live_server.token()}"},
        checks=CHECKS,
    )
