"""One place to ask the time, always timezone-aware UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)
