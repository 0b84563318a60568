"""Route dispatch by path prefix, in front of FastAPI's own.

FastAPI (0.16x) keeps each ``include_router`` as a nested router and, for every request, walks
the included routers in order, asking each whether one of its routes matches, then walks the
chosen one again to handle the request: with ~300 routes in ~60 nested routers that costs about
60 µs of CPU per request on a quiet machine (several times that on a busy one). Nothing
on PyPI replaces FastAPI's router, so this module indexes the same routes once: the app's
routes flattened into FastAPI's own order, in a tree keyed by the static path segments each
route starts with (``/api/v1/people/{person_id}`` under ``api/v1/people``). A request
walks the tree by its segments and tries only the routes that can match, in order; the first
full match is handed to FastAPI's route exactly as FastAPI's router would hand it.

Anything else goes to FastAPI's own dispatch, which stays the authority: no full match (404,
405, slash redirects), a plain Starlette route or mount matching first, telemetry, form
limits. ``tests/core/test_dispatch.py`` checks for every route of the app that both choose the
same route, so an upgrade of FastAPI that changes its internals fails a test, not a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    APIRouter,
    _EffectiveRouteContext,
    _IncludedRouter,
)
from starlette.routing import BaseRoute, Match, Mount, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Leaf:
    """One route of the app, in FastAPI's order. ``context`` is set for a FastAPI route inside
    an included router (dispatched here); ``None`` for anything else (left to FastAPI)."""

    route: BaseRoute
    context: _EffectiveRouteContext | None = None
    router: _IncludedRouter | None = None


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    here: list[int] = field(default_factory=list)  # leaves whose static start ends here
    candidates: tuple[Leaf, ...] = ()  # leaves from the root to here, in order


class PrefixDispatch:
    """The app router's dispatch: the prefix index first, FastAPI's own for the rest."""

    def __init__(self, router: APIRouter, standard: ASGIApp) -> None:
        self.router = router
        self.standard = standard
        self._built_for: tuple[int, int] | None = None
        self._root = _Node()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.select(scope) if scope["type"] == "http" else None
        if chosen is None:
            await self.standard(scope, receive, send)
            return
        leaf, child_scope = chosen
        assert leaf.context is not None
        child_scope["route"] = route = leaf.context.original_route
        scope.setdefault("router", self.router)
        scope.update(child_scope)
        fastapi_scope = scope.setdefault(_FASTAPI_SCOPE_KEY, {})
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = leaf.router
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = leaf.context
        await route.handle(scope, receive, send)

    def select(self, scope: Scope) -> tuple[Leaf, Scope] | None:
        """The route FastAPI would choose for this request, with its path parameters, if it
        is one dispatched here (a full match of a FastAPI route); ``None`` when FastAPI's own
        dispatch must decide."""
        if "fastapi.telemetry" in scope:
            return None
        for leaf in self._candidates(get_route_path(scope)):
            if leaf.context is None:
                if leaf.route.matches(scope)[0] is not Match.NONE:
                    return None  # a mount or plain route comes first: FastAPI's to handle
                continue
            match, child_scope = leaf.context.matches(scope)
            if match is Match.FULL:
                return leaf, child_scope
        return None

    def _candidates(self, path: str) -> tuple[Leaf, ...]:
        version = (self.router._routes_version, len(self.router.routes))
        if version != self._built_for:
            self._root = _index(self.router)
            self._built_for = version
        node = self._root
        for segment in path.split("/")[1:]:
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        return node.candidates


def install(app: FastAPI) -> None:
    """Put the prefix index in front of ``app``'s router (after all routes are included;
    routes added later are indexed on the next request)."""
    router = app.router
    if router.form_limits or router.middleware_stack != router.app:
        return  # router-level form limits or middleware: FastAPI's dispatch alone applies them
    router.middleware_stack = PrefixDispatch(router, router.middleware_stack)


def leaves(router: APIRouter) -> list[Leaf]:
    """The app's routes flattened in the order FastAPI tries them."""
    found: list[Leaf] = []
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            _walk(route, found)
        else:
            found.append(Leaf(route))
    return found


def _walk(included: _IncludedRouter, found: list[Leaf]) -> None:
    has_limits = bool(included.include_context.form_limits)
    for candidate in included.effective_candidates():
        if isinstance(candidate, _IncludedRouter):
            _walk(candidate, found)
        elif isinstance(candidate.original_route, APIRoute) and not has_limits:
            found.append(Leaf(candidate.original_route, candidate, included))
        else:
            found.append(Leaf(candidate.starlette_route or candidate.original_route))


def _static_segments(leaf: Leaf) -> list[str]:
    """The whole path segments every path this route matches starts with."""
    if leaf.context is not None:
        template = leaf.context.path_format
    elif isinstance(leaf.route, Mount):
        template = leaf.route.path + "/{path}"
    else:
        template = str(getattr(leaf.route, "path_format", None) or getattr(leaf.route, "path", ""))
    if not template.startswith("/"):
        return []  # unknown shape: tried for every path
    static = template.split("{", 1)[0]
    if "{" in template:
        static = static.rsplit("/", 1)[0]  # a parameter may start mid-segment: drop that one
    return static.split("/")[1:]


def _index(router: APIRouter) -> _Node:
    routes = leaves(router)
    root = _Node()
    for position, leaf in enumerate(routes):
        node = root
        for segment in _static_segments(leaf):
            node = node.children.setdefault(segment, _Node())
        node.here.append(position)
    _settle(root, [], routes)
    return root


def _settle(node: _Node, above: list[int], routes: list[Leaf]) -> None:
    positions = sorted([*above, *node.here])
    node.candidates = tuple(routes[p] for p in positions)
    for child in node.children.values():
        _settle(child, positions, routes)
