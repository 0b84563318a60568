"""One log stream on stderr: our lines (structlog) and the libraries' (uvicorn, Alembic,
Dramatiq, Python warnings, through structlog's ``ProcessorFormatter``) share one format. It is
one JSON object per line when stderr is not a terminal (``RAPPORT_LOG_JSON=auto``, the default)
and readable console output when it is. A traceback is a field (``exception``) of the one line
that reports the error, never loose text after it."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

import orjson
import structlog
from structlog.types import EventDict

from rapport.core.config import get_settings

# Set on an exception the request log has already reported with its traceback, so the copy
# uvicorn logs when Starlette re-raises it ("Exception in ASGI application") is dropped.
REPORTED = "_rapport_reported"

# Chatty at INFO and said better elsewhere: Alembic's "Context impl SQLiteImpl." on every
# schema check (startup and each /readyz), uvicorn's access lines (we log our own request line).
_QUIETER = {"alembic": logging.WARNING, "uvicorn.access": logging.WARNING}


def logs_as_json() -> bool:
    """Whether lines are JSON: as set, or (``auto``) when stderr is not a terminal."""
    setting = get_settings().log_json
    if setting == "auto":
        return not sys.stderr.isatty()
    return bool(setting)


class _DropReported(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or not already_reported(exc)


def mark_reported(exc: BaseException) -> None:
    """Say that ``exc`` is in the log with its traceback already (see ``REPORTED``)."""
    with contextlib.suppress(AttributeError):  # a type with __slots__ prints twice, no worse
        setattr(exc, REPORTED, True)


def already_reported(exc: BaseException) -> bool:
    """Whether ``exc``'s traceback is in the log already: an error handler logs it if not."""
    return bool(getattr(exc, REPORTED, False))


def _name_key(_logger: Any, _method: str, event: EventDict) -> EventDict:
    if "logger_name" in event:
        event["logger"] = event.pop("logger_name")
    return event


def _dumps(event: dict[str, Any], **kwargs: Any) -> str:
    return orjson.dumps(event, default=kwargs.get("default")).decode()


def configure_logging() -> None:
    """Route structlog and the standard library to stderr in one format. Idempotent: ``serve``
    calls it before uvicorn starts and ``create_app`` again.

    Our own lines (the request line on every request) take structlog's native path, which
    costs a fraction of the standard library's; other libraries' records are rendered by the
    same processors through ``ProcessorFormatter``."""
    settings = get_settings()
    level = logging.getLevelName(settings.log_level.upper())
    as_json = logs_as_json()
    stamped: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendered: list[structlog.types.Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(_dumps)]
        if as_json
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    structlog.configure(
        processors=[*stamped, _name_key, *rendered],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *stamped,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.PositionalArgumentsFormatter(),
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendered],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_DropReported())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers = []  # whatever a library set up itself: the root handler prints
        logger.propagate = True
    for name, quieter in _QUIETER.items():
        logging.getLogger(name).setLevel(max(level, quieter))
    logging.captureWarnings(True)  # SQLAlchemy's and others' warnings become log lines


def get_logger(name: str) -> Any:
    """A structlog logger whose lines carry ``logger=name``, like the standard library's.
    (Typed ``Any``: the class is chosen by ``configure_logging``'s filtering level.)"""
    # Lazy (resolved on first use, so after configure_logging); "logger" itself is a reserved
    # argument of get_logger, hence the detour through _name_key.
    return structlog.get_logger(logger_name=name)


def log_serving(url: str, database: str) -> None:
    """The line that says where ``rapport serve`` listens and on which database (give it the
    URL with its password masked: see ``db.display_url``)."""
    get_logger("rapport.serve").info("serving", url=url, database=database)
