"""The CSRF check core's request dependency needs (the JSON API's cookie branch).

A browser attaches our session cookie to any site's request, so a cookie-authenticated write
must prove it comes from our pages by echoing the session's ``csrf`` value. The pages' own
checks (forms, the pre-sign-in cookie) live in ``rapport.web.csrf``, built on these.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request

from rapport.core.errors import Forbidden

HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRejected(Forbidden):
    code = "csrf-rejected"
    title = "This form has expired or did not come from Rapport"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def matches(sent: str | None, expected: Any) -> bool:
    """True if ``sent`` is the expected token (compared in constant time)."""
    if not sent or not isinstance(expected, str) or not expected:
        return False
    return secrets.compare_digest(sent.encode(), expected.encode())


def check_header(request: Request, session_data: dict[str, Any]) -> None:
    """For the JSON API's cookie branch: an unsafe request must send ``X-CSRF-Token``."""
    if request.method in SAFE_METHODS:
        return
    if not matches(request.headers.get(HEADER), session_data.get("csrf")):
        raise CsrfRejected("Send the X-CSRF-Token header with requests authenticated by cookie")
