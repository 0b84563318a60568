"""What Rapport's ASGI middleware costs per request: the request log line and the Prometheus
metrics, each alone and together, around an app that does nothing (logs at INFO, as JSON, to
/dev/null). No server or database: the figure is the middleware's own overhead.

    uv run python -m bench.middleware --requests 20000

Target: the request line plus the metrics well under 1 ms (a list page's p95 target is 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

os.environ.setdefault("RAPPORT_LOG_LEVEL", "INFO")
os.environ.setdefault("RAPPORT_LOG_JSON", "true")
sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the log stream is what we time, not read

from rapport.core.logging import configure_logging  # noqa: E402 - after the stream is set
from rapport.core.metrics import MetricsMiddleware  # noqa: E402
from rapport.core.middleware import RequestLogMiddleware  # noqa: E402


class _Route:
    path_format = "/people/{person_id}"


async def _app(scope: Scope, _receive: Receive, send: Send) -> None:
    scope["route"], scope["path_params"] = _Route(), {"person_id": "0190a0b0"}
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b""}


async def _send(_message: Message) -> None:
    return None


async def _run(app: ASGIApp, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        scope: dict[str, Any] = {
            "type": "http", "method": "GET", "path": "/api/v1/people/0190a0b0",
            "headers": [], "root_path": "",
        }  # fmt: skip
        await app(scope, _receive, _send)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging()
    variants: dict[str, list[Callable[[ASGIApp], ASGIApp]]] = {
        "no middleware": [],
        "request log": [RequestLogMiddleware],
        "metrics": [MetricsMiddleware],
        "request log + metrics": [RequestLogMiddleware, MetricsMiddleware],
    }
    for name, layers in variants.items():
        app: ASGIApp = _app
        for layer in layers:
            app = layer(app)
        asyncio.run(_run(app, args.requests // 10))  # warm up
        runs = [asyncio.run(_run(app, args.requests)) for _ in range(args.rounds)]
        print(
            f"{name:24} best {min(runs):7.1f} µs/request, median {statistics.median(runs):7.1f}",
            file=sys.__stdout__,
        )


if __name__ == "__main__":
    main()
