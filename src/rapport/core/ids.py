"""Primary keys are UUIDv7: time-ordered, so inserts append to the index instead of scattering."""

import uuid

import uuid6


def new_id() -> uuid.UUID:
    """A fresh UUIDv7 as a standard-library UUID."""
    return uuid.UUID(int=uuid6.uuid7().int)
