"""Who may call each API operation, declared once on its route.

A route lists exactly one of ``requires("deals:write")``, ``signed_in()`` or ``public()`` in
``dependencies=[...]``. The declaration is enforced before the endpoint runs (the same
``Context.require`` a service calls, so a token's scopes narrow the role here too) and
:class:`DeclaredRoute` publishes it in the OpenAPI document as ``x-permission`` and in the
operation's description. The access tests read it from there and derive who may call what from
the role grants (``core.permissions``), so the declaration is the one statement of an
operation's access.

Services keep their own ``ctx.require`` checks: the CLI and jobs call them directly. A check
finer than a permission (a member may change only their own tasks) stays in the service and is
named in the declaration's ``note``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request, params
from fastapi.routing import APIRoute

from rapport.core import permissions
from rapport.core.deps import PENDING, Ctx

PUBLIC = "public"  # no credential at all: probes, the public lead form
SIGNED_IN = "signed-in"  # any valid session or token of the workspace, whatever its role or scopes
EXTENSION = "x-permission"
NOTE_EXTENSION = "x-permission-note"


@dataclass(frozen=True)
class Access:
    """What an operation declares: a permission (or PUBLIC / SIGNED_IN) and a finer rule."""

    permission: str
    note: str | None = None

    def describe(self) -> str:
        """The sentence appended to the operation's description."""
        if self.permission == PUBLIC:
            text = "Public: no credential needed"
        elif self.permission == SIGNED_IN:
            text = "Requires a signed-in user or an API token (any role or scope)"
        else:
            text = f"Requires {self.permission}"
        return f"{text} ({self.note})." if self.note else f"{text}."


# The checks that requires()/signed_in()/public() made, by their dependency function (and by
# the form each takes on a one-hop route).
_DECLARED: dict[Callable[..., Any], Access] = {}
_IN_ONE_HOP: dict[Callable[..., Any], Callable[..., Awaitable[None]]] = {}


def _declare(
    check: Callable[..., Awaitable[None]],
    access: Access,
    in_one_hop: Callable[..., Awaitable[None]],
) -> params.Depends:
    _DECLARED[check] = _DECLARED[in_one_hop] = access
    _IN_ONE_HOP[check] = in_one_hop
    return Depends(check)


def for_one_hop(dependencies: Sequence[params.Depends]) -> list[params.Depends]:
    """A one-hop route's dependencies (``core.api.OneHopRoute``): each declared check in the
    form that needs no ``Ctx``, since the route's own thread authenticates the caller and
    checks the permission; FastAPI then solves no Context dependency for the route at all."""
    return [
        Depends(_IN_ONE_HOP[d.dependency]) if d.dependency in _IN_ONE_HOP else d
        for d in dependencies
    ]


def requires(permission: str, *, note: str | None = None) -> params.Depends:
    """The route needs ``permission`` (from the role, narrowed by a token's scopes); 403
    problem+json otherwise. ``note`` names a finer rule the service applies."""
    if permission not in permissions.ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(request: Request, ctx: Ctx) -> None:  # no I/O: no trip to the threadpool
        if ctx is PENDING:  # a one-hop route checks it once its thread knows the caller
            request.state.required_permissions = (permission,)
            return
        ctx.require(permission)

    async def check_in_one_hop(request: Request) -> None:
        request.state.required_permissions = (permission,)

    return _declare(check, Access(permission, note), check_in_one_hop)


def signed_in(*, note: str | None = None) -> params.Depends:
    """Any caller the workspace knows (e.g. ``GET /me``); 401 without a credential."""

    async def check(ctx: Ctx) -> None:
        del ctx  # authenticating is the whole check

    async def check_in_one_hop() -> None:
        return None  # the route's thread authenticates the caller

    return _declare(check, Access(SIGNED_IN, note), check_in_one_hop)


def public(*, note: str | None = None) -> params.Depends:
    """No credential at all: the route must authorise the request by other means, if any."""

    async def check() -> None:
        return None

    return _declare(check, Access(PUBLIC, note), check)


def declared(route: APIRoute) -> Access | None:
    """The access ``route`` declares; ValueError if it declares more than one."""
    found = [_DECLARED[d.dependency] for d in route.dependencies if d.dependency in _DECLARED]
    if len(found) > 1:
        raise ValueError(f"{route.path} declares its access {len(found)} times: {found}")
    return found[0] if found else None


class DeclaredRoute(APIRoute):
    """An APIRoute that publishes its declared access in the OpenAPI document."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        access = declared(self)
        if access is None:
            return  # the access test lists every operation that forgot to declare
        extra = {EXTENSION: access.permission}
        if access.note:
            extra[NOTE_EXTENSION] = access.note
        self.openapi_extra = {**(self.openapi_extra or {}), **extra}
        self.description = "\n\n".join(p for p in (self.description, access.describe()) if p)
