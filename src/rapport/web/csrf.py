"""CSRF protection for everything a browser sends with our cookies.

A signed-in session carries a random ``csrf`` value inside its signed cookie. Before sign-in
(the login and first-run forms) a separate signed cookie, ``rapport_csrf``, carries one, so
that a foreign site cannot sign a victim into the attacker's account either. Every unsafe
request (POST, PUT, PATCH, DELETE) must echo the value, in the ``X-CSRF-Token`` header (HTMX,
set by app.js) or in a ``csrf_token`` form field (plain forms). A foreign site can make the
browser send our cookies, but cannot read them, so it cannot echo the value.

Requests authenticated by a bearer token need none of this: browsers never attach those.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request, Response

from rapport.core import security
from rapport.core.config import get_settings
from rapport.core.errors import Forbidden

HEADER = "x-csrf-token"
FORM_FIELD = "csrf_token"
ANON_COOKIE = "rapport_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRejected(Forbidden):
    code = "csrf-rejected"
    title = "This form has expired or did not come from Rapport"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _matches(sent: str | None, expected: Any) -> bool:
    if not sent or not isinstance(expected, str) or not expected:
        return False
    return secrets.compare_digest(sent.encode(), expected.encode())


def check_header(request: Request, session_data: dict[str, Any]) -> None:
    """For the JSON API's cookie branch: an unsafe request must send ``X-CSRF-Token``."""
    if request.method in SAFE_METHODS:
        return
    if not _matches(request.headers.get(HEADER), session_data.get("csrf")):
        raise CsrfRejected("Send the X-CSRF-Token header with requests authenticated by cookie")


def expected_token(request: Request) -> str | None:
    """The token this browser must echo: the session's, or else the pre-sign-in cookie's."""
    for name in (security.SESSION_COOKIE, ANON_COOKIE):
        value = request.cookies.get(name)
        data = security.read_session(value) if value else None
        if data and isinstance(data.get("csrf"), str):
            return str(data["csrf"])
    return None


async def protect(request: Request) -> None:
    """Router dependency: reject an unsafe request that does not echo the CSRF token (403)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(FORM_FIELD)  # parsed once; Starlette caches it
        sent = value if isinstance(value, str) else None
    if not _matches(sent, expected_token(request)):
        raise CsrfRejected("Reload the page and try again")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or get_settings().secure_cookies


def form_token(request: Request) -> str:
    """The token a form on this page embeds; mints a pre-sign-in one when there is none yet
    (:func:`remember_new_token` then sets its cookie on the response)."""
    token = expected_token(request)
    if token is None:
        token = getattr(request.state, "new_csrf", None) or new_token()
        request.state.new_csrf = token
    return token


def remember_new_token(request: Request, response: Response) -> None:
    """Set the pre-sign-in cookie for a token minted by :func:`form_token` in this request."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            ANON_COOKIE,
            security.sign_session({"csrf": token}),
            max_age=security.SESSION_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=is_https(request),
            path="/",
        )
