"""The accounts domain's event topics (see :mod:`rapport.core.topics`)."""

from __future__ import annotations

from rapport.core.topics import NoPayload, Topic, collect

TOKEN_CREATED = Topic("token.created", NoPayload, "An API token was issued.")
TOKEN_REVOKED = Topic("token.revoked", NoPayload, "An API token was revoked.")

EVENTS = collect(globals())
