"""Rendering pages: one function answers both the whole page and the HTMX fragment.

Fragments are separate template files named with a leading underscore (``_search_results.html``)
that the page template ``{% include %}``s, so the page and the fragment are rendered from the
same context and cannot drift apart (the healthchecks way; chosen over jinja2-fragments so that
a fragment is a file you can find by name). ``render(request, "page.html",
fragment="_part.html", **context)`` renders the page for a normal request and only the
fragment when HTMX asks (``HX-Request`` without ``HX-Boosted``). Toasts collected during the
request ride along out-of-band; across a redirect they travel in a short-lived signed cookie.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context as JinjaContext
from markupsafe import Markup

from rapport.core import registry, security
from rapport.core.registry import NavEntry, Panel, SettingsSection
from rapport.web import csrf, words

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
FLASH_COOKIE = "rapport_flash"

# script-src 'self' only: no inline scripts, no eval (htmx runs with allowEval off). Inline
# style attributes stay allowed because libraries (Chart.js, SortableJS) set them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


# Sections whose domain does not exist yet, shown greyed out; a domain that ships its pages
# registers its own nav entry (``Domain.nav``) and its placeholder goes.
PLACEHOLDER_NAV = (
    NavEntry("Tickets", "/tickets", "ticket", order=900, ready=False),
    NavEntry("Marketing", "/marketing", "megaphone", order=910, ready=False),
    NavEntry("Analytics", "/analytics", "chart", order=920, ready=False),
)


def nav_items() -> list[NavEntry]:
    """The side navigation: the registered domains' entries, then the placeholders."""
    entries = registry.nav()
    taken = {e.href for e in entries}
    extra = [e for e in PLACEHOLDER_NAV if e.href not in taken]
    return sorted([*entries, *extra], key=lambda e: e.order)


def settings_menu(ctx: Any) -> list[tuple[str, list[SettingsSection]]]:
    """The settings pages ``ctx`` may open, grouped under their headings in menu order."""
    groups: dict[str, list[SettingsSection]] = {}
    for section in registry.settings_sections():
        if section.permission is None or ctx.can(section.permission):
            groups.setdefault(section.group, []).append(section)
    return list(groups.items())


@dataclass(frozen=True)
class MenuCommand:
    """One line of the command menu: where it goes, under which heading."""

    label: str
    href: str
    group: str
    keywords: str = ""
    on: str = ""  # the record pages it applies to, space-separated (empty: every page)


def command_menu(web: Any) -> list[MenuCommand]:
    """The command menu's actions the signed-in member (``web.ctx``) may run (the domains'
    commands), then every page they can open (the nav, then the settings pages); records come
    from search as one types. An error page without a member gets none."""
    ctx = getattr(web, "ctx", None)
    if ctx is None:
        return []
    found = [
        MenuCommand(c.label, c.href, c.group, c.keywords, " ".join(c.on))
        for c in registry.commands()
        if c.permission is None or ctx.can(c.permission)
    ]
    found += [
        MenuCommand(f"Go to {entry.label}", entry.href, "Go to", "page open")
        for entry in registry.nav()
        if entry.ready
    ]
    found += [
        MenuCommand(f"Settings: {section.label}", section.href, "Settings", "settings " + group)
        for group, sections in settings_menu(ctx)
        for section in sections
    ]
    return found


class _Nav:
    """Iterates :func:`nav_items` at render time: the registry is filled after this import."""

    def __iter__(self) -> Iterator[NavEntry]:
        return iter(nav_items())


@dataclass(frozen=True)
class Toast:
    message: str
    kind: str = "success"  # success | error | info
    # An optional button in the toast that posts to ``action`` (e.g. Undo after a delete).
    action: str | None = None
    action_label: str = ""


def _template_dirs() -> list[Path]:
    """web/templates first (base layout, shared pieces), then each registered domain's."""
    return [WEB_DIR / "templates", *registry.template_dirs()]


class _RegistryLoader(BaseLoader):
    """Finds a template in the shell's folder, then in each registered domain's folder.

    Built on first use and again whenever the registered set changes, because this module is
    imported before ``rapport.domains.install()`` runs.
    """

    def __init__(self) -> None:
        self._for: tuple[registry.Domain, ...] | None = None
        self._loader = FileSystemLoader([])

    def _current(self) -> FileSystemLoader:
        now = registry.domains()
        if now is not self._for:
            self._loader = FileSystemLoader([str(p) for p in _template_dirs()])
            self._for = now
        return self._loader

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        return self._current().get_source(environment, template)

    def list_templates(self) -> list[str]:
        return self._current().list_templates()


@lru_cache(maxsize=256)
def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>``, so browsers may cache assets until they change."""
    file = STATIC_DIR / path
    version = hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.is_file() else "0"
    return f"/static/{path}?v={version}"


def local_time(value: datetime | None, style: str = "datetime") -> Markup:
    """A ``<time>`` in UTC that app.js rewrites into the reader's own time zone."""
    if value is None:
        return Markup("")
    value = value.astimezone(UTC)
    shown = value.strftime("%-d %b %Y" if style == "date" else "%-d %b %Y, %H:%M UTC")
    return Markup('<time datetime="{}" data-local="{}">{}</time>').format(
        value.isoformat(), style, shown
    )


@pass_context
def record_panels(
    context: JinjaContext, kind: str, record: Any
) -> list[tuple[Panel, dict[str, Any]]]:
    """The panels domains registered for a page of ``kind``, with what each loaded.

    Called from the page template, so a fragment that does not show them never loads them.
    """
    web = context.get("web")
    ctx = web.ctx if web is not None else None
    shown = []
    for panel in registry.panels(kind):
        data = panel.loaded(ctx, record)
        if data is not None:
            shown.append((panel, data))
    return shown


def _environment() -> Environment:
    env = Environment(
        loader=_RegistryLoader(),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.globals["nav"] = _Nav()
    env.globals["record_panels"] = record_panels
    env.globals["settings_menu"] = settings_menu
    env.globals["command_menu"] = command_menu
    env.filters["local_time"] = local_time
    env.filters["label"] = words.label
    env.filters["relative"] = words.relative
    env.filters["due"] = words.due
    return env


templates = Jinja2Templates(env=_environment())


def is_htmx(request: Request) -> bool:
    """An HTMX request that wants a fragment (a boosted link, or a history restore after the
    back button, wants the whole page)."""
    headers = request.headers
    return bool(headers.get("hx-request")) and not (
        headers.get("hx-boosted") or headers.get("hx-history-restore-request")
    )


def toast(
    request: Request,
    message: str,
    kind: str = "success",
    *,
    action: str | None = None,
    action_label: str = "",
) -> None:
    """Queue a message for the user; shown by the next rendered page or fragment. With
    ``action`` the toast carries a button that posts there (``action_label``, e.g. Undo)."""
    pending: list[Toast] = getattr(request.state, "toasts", [])
    pending.append(Toast(message, kind, action, action_label))
    request.state.toasts = pending


def _take_toasts(request: Request) -> tuple[list[Toast], bool]:
    toasts: list[Toast] = []
    flashed = request.cookies.get(FLASH_COOKIE)
    data = security.read_session(flashed) if flashed else None
    for item in (data or {}).get("toasts", []):
        if isinstance(item, list) and len(item) == 2:
            toasts.append(Toast(str(item[1]), str(item[0])))
        elif isinstance(item, list) and len(item) == 4:
            toasts.append(Toast(str(item[1]), str(item[0]), str(item[2]), str(item[3])))
    toasts.extend(getattr(request.state, "toasts", []))
    request.state.toasts = []
    return toasts, flashed is not None


def _secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"  # pages carry one user's data
    response.headers["Vary"] = "HX-Request, Cookie"


def render(
    request: Request,
    template: str,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The whole page, or only ``fragment`` when HTMX asks; queued toasts go along."""
    toasts, had_flash = _take_toasts(request)
    web = getattr(request.state, "web", None)
    values: dict[str, Any] = {
        "request": request,
        "web": web,
        "csrf_token": web.csrf_token if web is not None else None,
        "current_path": request.url.path,
        "toasts": toasts,
        "title": None,
        **context,
    }
    if fragment is not None and is_htmx(request):
        html = templates.get_template(fragment).render(values)
        if toasts:
            html += templates.get_template("_toasts.html").render(
                toasts=toasts, oob=True, csrf_token=values["csrf_token"]
            )
    else:
        html = templates.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    if had_flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    csrf.remember_new_token(request, response)
    _secure_headers(response)
    return response


def _flash_item(t: Toast) -> list[str]:
    return [t.kind, t.message, t.action, t.action_label] if t.action else [t.kind, t.message]


def redirect(request: Request, url: str) -> Response:
    """After a successful form: 303 for a plain form, HX-Redirect for HTMX; toasts follow."""
    response: Response
    if request.headers.get("hx-request"):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    pending: list[Toast] = getattr(request.state, "toasts", [])
    if pending:
        value = security.sign_session({"toasts": [_flash_item(t) for t in pending]})
        response.set_cookie(FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax")
        request.state.toasts = []
    return response
