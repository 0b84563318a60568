"""``Idempotency-Key`` through a real ``rapport serve`` process, on SQLite and PostgreSQL.

The shared test connection hid the defect these catch: the answer was stored from a second
transaction while the request's own still held SQLite's write lock (every keyed POST was a 500
after 10 s, and its key then answered 409 for a day), and a request killed mid-flight left its
key "in progress" for 24 hours. The contract: exactly one write per key; every other answer is
the first one replayed or a 409 with Retry-After; another body is a 422; a key whose request
failed or died can be used again.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.live import Server, start_server

PROBLEM = "application/problem+json"


def _count(server: Server, sql: str, **params: object) -> int:
    engine = create_engine(server.env["RAPPORT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar() or 0)
    finally:
        engine.dispose()


def _headers(server: Server, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token()}", "Idempotency-Key": key}


def test_the_readme_example_creates_once_and_replays(live_server: Server) -> None:
    key, email = uuid.uuid4().hex, f"ada-{uuid.uuid4().hex[:6]}@example.com"
    body = {"first_name": "Ada", "email": email, "phone": "+44 20 7946 0958"}
    url = live_server.url + "/api/v1/people"
    first = httpx.post(url, json=body, headers=_headers(live_server, key), timeout=30)
    assert first.status_code == 201, first.text  # was a 500 after SQLite's busy timeout
    again = httpx.post(url, json=body, headers=_headers(live_server, key), timeout=30)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    sql = "SELECT count(*) FROM person_emails WHERE email = :email"
    assert _count(live_server, sql, email=email) == 1


def test_sixteen_concurrent_posts_sharing_a_key_write_once(live_server: Server) -> None:
    key, email = uuid.uuid4().hex, f"race-{uuid.uuid4().hex[:6]}@example.com"
    body = {"first_name": "Race", "email": email}
    url, headers = live_server.url + "/api/v1/people", _headers(live_server, key)
    gate = threading.Barrier(16)

    def post(_: int) -> httpx.Response:
        gate.wait()
        return httpx.post(url, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, range(16)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    created = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1, "every success must be the same record"
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.headers["content-type"] == PROBLEM
        assert int(refused.headers["retry-after"]) >= 1
    sql = "SELECT count(*) FROM person_emails WHERE email = :email"
    assert _count(live_server, sql, email=email) == 1
    replay = httpx.post(url, json=body, headers=headers, timeout=30)
    assert replay.status_code == 201 and replay.json()["id"] in created


def test_the_same_key_with_another_body_is_refused(live_server: Server) -> None:
    url, headers = live_server.url + "/api/v1/people", _headers(live_server, uuid.uuid4().hex)
    assert httpx.post(url, json={"first_name": "One"}, headers=headers).status_code == 201
    other = httpx.post(url, json={"first_name": "Two"}, headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM


def test_a_key_whose_request_failed_can_be_used_again(live_server: Server) -> None:
    url, headers = live_server.url + "/api/v1/people", _headers(live_server, uuid.uuid4().hex)
    failed = httpx.post(url, json={"first_name": "Bad", "email": "not an email"}, headers=headers)
    assert failed.status_code == 422
    fixed = httpx.post(url, json={"first_name": "Good"}, headers=headers)
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers


@pytest.mark.parametrize("delay", [0.05, 0.4])
def test_a_request_killed_mid_flight_leaves_its_key_usable(tmp_path: Path, delay: float) -> None:
    """SIGKILL the server while a keyed bulk create runs; after a restart the retry with the
    same key must go through (or replay), and the records exist exactly once."""
    server = start_server(tmp_path, with_owner=True)
    try:
        marker = uuid.uuid4().hex[:12]
        body = {"items": [{"first_name": f"K{i}", "last_name": marker} for i in range(1000)]}
        url, headers = server.url + "/api/v1/people/bulk", _headers(server, "kill-" + marker)

        def doomed() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it, as intended
                httpx.post(url, json=body, headers=headers, timeout=60)

        flight = threading.Thread(target=doomed)
        flight.start()
        time.sleep(delay)
        server.kill()
        flight.join()
        server.restart()
        url = server.url + "/api/v1/people/bulk"
        retry = httpx.post(url, json=body, headers=headers, timeout=120)
        assert retry.status_code == 200, retry.text
        sql = "SELECT count(*) FROM people WHERE lower(last_name) = :m"
        assert _count(server, sql, m=marker) == 1000
        again = httpx.post(url, json=body, headers=headers, timeout=60)
        assert again.headers["idempotent-replayed"] == "true"
        assert _count(server, sql, m=marker) == 1000
    finally:
        server.stop()
        server.drop_database()
