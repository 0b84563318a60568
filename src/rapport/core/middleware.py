"""ASGI middleware: request ids + access log, and a hard cap on request body size."""

from __future__ import annotations

import time
import uuid

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.core.errors import PROBLEM_JSON, PayloadTooLarge
from rapport.core.logging import get_logger, mark_reported

log = get_logger("rapport.http")


class RequestLogMiddleware:
    """Give every request an id (echoed as X-Request-ID) and log one line for it. A request
    that fails with an unhandled exception gets one ``error`` line instead, with the traceback
    as its ``exception`` field; the 500 handlers only render the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode() or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.error(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=500,
                ms=round((time.perf_counter() - started) * 1000, 2),
                exc_info=exc,
            )
            mark_reported(exc)
            raise  # Starlette's ServerErrorMiddleware renders the 500 with our handler
        else:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )
        finally:
            structlog.contextvars.clear_contextvars()


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413, whether or not Content-Length is honest."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        problem = PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes")
        body = orjson.dumps(problem.problem(scope.get("path")))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
