"""The FHIR interactions served without FastAPI's per-request machinery.

Every FHIR route (`FhirRoute`) has an endpoint `async def endpoint(request, **path parameters)`.
`DirectFhirRoutes`, a pure ASGI layer inside the observability middleware, finds the route a request
is for the way Starlette's router does (the first route, in the app's order, whose path and method
match), and when that is a FHIR route calls its endpoint straight: the format check, then the endpoint,
with no route tree walk, parameter solving, exit stacks or exception middleware in between. A Patient
read spent ~0.1 ms of the gateway's CPU there. Errors go to the app's own exception handlers (an
unexpected one on to the server error middleware outside), so every answer is what FastAPI gives;
anything else (operations, docs, a method a path does not take) FastAPI routes as before.

The services' kernel has the same layer for the modules' hot routes (services/kernel/direct_routes.py);
the gateway reaches the modules only over HTTP and imports none of their code, so it has its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi import Request
from starlette.convertors import Convertor
from starlette.routing import BaseRoute

from gateway.fhir.http import FhirRoute, check_format

ExceptionHandler = Callable[[Request, Exception], Awaitable[Any]]


@dataclass(frozen=True)
class _Candidate:
    pattern: Pattern[str]
    methods: frozenset[str] | None  # None: any method (a mount)
    convertors: dict[str, Convertor]
    route: FhirRoute | None  # None: a route FastAPI serves


def _candidate(route: BaseRoute) -> _Candidate | None:
    pattern = getattr(route, "path_regex", None)
    if pattern is None:
        return None
    methods = getattr(route, "methods", None)
    return _Candidate(pattern, frozenset(methods) if methods else None, getattr(route, "param_convertors", {}),
                      route if isinstance(route, FhirRoute) else None)  # fmt: skip


class DirectFhirRoutes:
    """Pure ASGI: a request whose route is a FHIR route goes straight to its endpoint; every other goes on."""

    def __init__(self, app, *, routes: list[BaseRoute], exception_handlers: Mapping[Any, ExceptionHandler]):
        self.app = app
        self.routes = routes  # the app's own list: routes are added after the middleware
        self.exception_handlers = exception_handlers
        self.candidates: list[_Candidate] | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            route, params = self._route(scope)
            if route is not None:
                scope["route"], scope["endpoint"] = route, route.endpoint  # as Starlette's router does
                scope["path_params"] = params
                request = Request(scope, receive)
                try:
                    check_format(request)
                    response = await route.endpoint(request, **params)
                except Exception as error:
                    handler = self._handler_for(error)
                    if handler is None:
                        raise  # to the server error middleware, which answers with the app's handler
                    response = await handler(request, error)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _route(self, scope) -> tuple[FhirRoute | None, dict[str, Any]]:
        """The FHIR route Starlette's router would pick (the first whose path and method match), if any."""
        if self.candidates is None:
            self.candidates = [c for c in map(_candidate, self.routes) if c is not None]
        path, method = scope["path"], scope["method"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] in ("", "/"):
            path = path[len(root_path) :]  # stripped as Starlette's router strips it
        for candidate in self.candidates:
            match = candidate.pattern.match(path)
            if match and (candidate.methods is None or method in candidate.methods):
                if candidate.route is None:
                    return None, {}
                converted = {name: candidate.convertors[name].convert(text) for name, text in match.groupdict().items()}
                return candidate.route, converted
        return None, {}

    def _handler_for(self, error: Exception) -> ExceptionHandler | None:
        for kind in type(error).__mro__:
            if kind is Exception:
                return None  # the server error middleware's
            if kind in self.exception_handlers:
                return self.exception_handlers[kind]
        return None
