"""Refuse text no database can store, before any route sees it.

PostgreSQL cannot hold a NUL character in text or JSON, and no UTF-8 encoder (so neither database
driver) can write an unpaired surrogate; SQLite would store the NUL and hand it to every export.
So such text is refused alike on both databases, with a 422 naming the field.

Why one app-wide dependency and not a Pydantic string type: it sees every request's path and
query parameters, JSON bodies at any depth (the keys and values inside custom-field and meta JSON
too, which a ``str`` type never reaches) and HTML form fields, for every present and future route,
without a single schema opting in. FastAPI reads the body before it solves dependencies, so a JSON
body is parsed again only when a cheap scan of its bytes finds a suspect escape, and a form is the
one Starlette already parsed (or will hand the route from its cache).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from rapport.core.errors import FieldError, Invalid

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# JSON can spell these only as escapes (a raw NUL is malformed JSON): \u0000, \uD800-\uDFFF
_SUSPECT_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
MESSAGE = "must not contain NUL characters or unpaired UTF-16 surrogates"


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a NUL or an unpaired surrogate."""
    return _UNSTORABLE.search(text) is not None


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if unstorable(value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if unstorable(str(key)):
                yield (*loc, key)
            else:
                yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*loc, index))


async def refuse_unstorable_text(request: Request) -> None:
    """App-wide dependency: 422 when a path or query parameter, a JSON body value or key, or a
    form field holds a NUL or an unpaired surrogate."""
    bad: list[tuple[str | int, ...]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and unstorable(value):
            bad.append((name,))
    for name, value in request.query_params.multi_items():
        if unstorable(name) or unstorable(value):
            bad.append((name,))
    content_type = request.headers.get("content-type", "")
    if request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") or content_type:
        bad += await _body_problems(request, content_type)
    if bad:
        errors = [FieldError(_clean(loc), MESSAGE, "invalid_characters") for loc in bad]
        fields = ", ".join(e.as_dict()["field"] for e in errors[:5])
        raise Invalid(f"{fields}: {MESSAGE}", errors=errors)


async def _body_problems(request: Request, content_type: str) -> list[tuple[str | int, ...]]:
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # parsed once per request: the route (or FastAPI before it) gets this same cached form
        form = await request.form()
        return [
            (name,)
            for name, value in form.multi_items()
            if unstorable(name) or (not isinstance(value, UploadFile) and unstorable(value))
        ]
    body = await request.body()
    if not body or not _SUSPECT_JSON.search(body):
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # malformed: FastAPI's own parsing answers 400 for it
    return list(_walk(document, ()))


def _clean(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A location safe to echo back: the offending characters shown as escapes."""
    return tuple(
        part.encode("unicode_escape", "backslashreplace").decode("ascii")
        if isinstance(part, str) and unstorable(part)
        else part
        for part in loc
    ) or ("body",)
