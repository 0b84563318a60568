"""The yardstick of ``bench/hub.py``: a bare FastAPI app with one JSON endpoint, served by
uvicorn with the settings ``rapport serve`` uses, so a Rapport route's cost can be read as a
multiple of what the framework and the server alone cost on the same machine.

    python -m bench.bare --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import uuid

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/people/{person_id}")
def person(person_id: uuid.UUID) -> dict[str, object]:
    """About the size of a person record, so serialisation costs about the same."""
    return {
        "id": str(person_id),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "version": 1,
        "tags": [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.bare:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        access_log=False,  # as rapport serve
        log_config=None,
        timeout_worker_healthcheck=30,  # as rapport serve: a busy machine starts workers slowly
    )


if __name__ == "__main__":
    main()
