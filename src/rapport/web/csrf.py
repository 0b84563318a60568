"""CSRF protection for everything a browser sends with our cookies.

A signed-in session carries a random ``csrf`` value inside its signed cookie. Before sign-in
(the login and first-run forms) a separate signed cookie, ``rapport_csrf``, carries one, so
that a foreign site cannot sign a victim into the attacker's account either. Every unsafe
request (POST, PUT, PATCH, DELETE) must echo the value, in the ``X-CSRF-Token`` header (HTMX,
set by app.js) or in a ``csrf_token`` form field (plain forms). A foreign site can make the
browser send our cookies, but cannot read them, so it cannot echo the value.

Requests authenticated by a bearer token need none of this: browsers never attach those.
The token primitives and the JSON API's header check are core's (``rapport.core.csrf``).
"""

from __future__ import annotations

from fastapi import Request, Response

from rapport.core import security
from rapport.core.config import get_settings
from rapport.core.csrf import HEADER as HEADER
from rapport.core.csrf import SAFE_METHODS as SAFE_METHODS
from rapport.core.csrf import CsrfRejected as CsrfRejected
from rapport.core.csrf import matches as _matches
from rapport.core.csrf import new_token as new_token

FORM_FIELD = "csrf_token"
ANON_COOKIE = "rapport_csrf"


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
