"""A sync GET route that takes ``Ctx`` runs in one trip to the threadpool (``OneHopRoute``):
authentication, the unit of work, the access check, the endpoint and serialisation together,
with the same answers as FastAPI's four-trip path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from rapport.core.context import Context
from rapport.hub.schemas import PersonIn
from rapport.hub.service import people


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the functions the app sent to the threadpool."""
    sent: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        func_itself = getattr(func, "func", func)  # run_in_threadpool sends a partial
        sent.append(getattr(func_itself, "__name__", repr(func_itself)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    yield sent


def test_a_one_row_get_takes_one_trip(api: TestClient, ada_ctx: Context, trips: list[str]) -> None:
    ada = people.create(ada_ctx, PersonIn(first_name="Ada", last_name="Lovelace"))
    ada_ctx.session.flush()
    answer = api.get(f"/api/v1/people/{ada.id}")
    assert answer.status_code == 200
    assert answer.json()["first_name"] == "Ada"
    assert answer.headers["etag"] == f'"{ada.version}"'
    assert trips == ["work"]


def test_a_list_is_serialised_in_its_one_trip(
    api: TestClient, ada_ctx: Context, trips: list[str]
) -> None:
    people.create(ada_ctx, PersonIn(first_name="Grace", last_name="Hopper"))
    ada_ctx.session.flush()
    answer = api.get("/api/v1/people", params={"q": "Grace"})
    assert answer.status_code == 200
    assert [p["first_name"] for p in answer.json()["items"]] == ["Grace"]
    assert trips == ["work"]


def test_the_one_trip_signs_in_then_checks_the_permission(anon: TestClient, api_as: Any) -> None:
    refused = anon.get("/api/v1/people")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert api_as("cleo").get("/api/v1/audit").status_code == 403  # read-only: no audit
    assert api_as("ann").get("/api/v1/audit").status_code == 200


def test_writes_keep_fastapis_path(api: TestClient, trips: list[str]) -> None:
    created = api.post("/api/v1/people", json={"first_name": "Edsger"})
    assert created.status_code == 201
    assert "work" not in trips and len(trips) >= 2
