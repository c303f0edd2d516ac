"""The few routes that carry nearly every request, served without FastAPI's per-request machinery.

A direct route is declared like any other FastAPI route (path, status codes, `openapi_extra`), so the
OpenAPI document and `/docs` describe it as before. Its endpoint takes the Starlette `Request` and
returns a `Response` itself. `DirectRoutes`, a pure ASGI layer inside the observability middleware,
serves those endpoints straight from the path: no route tree walk, no parameter solving, no exit
stacks, no exception middleware, which cost a composition read about 0.1 ms of the ~0.15 ms it took in
process (a hello-world request is ~0.04 ms). Errors raised by the endpoint go to the app's own
exception handlers, so a direct route answers exactly as it would through FastAPI; anything else
FastAPI routes as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor
from starlette.routing import compile_path

Endpoint = Callable[[Request], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


class DirectRoute(APIRoute):
    """The route class of a direct route (`APIRouter(route_class=DirectRoute)`): its endpoint must be
    `async def endpoint(request: Request) -> Response` (checked when the route is declared)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any):
        parameters = list(inspect.signature(endpoint).parameters.values())
        if not inspect.iscoroutinefunction(endpoint) or len(parameters) != 1:
            raise TypeError(f"the direct route {path} needs `async def {endpoint.__name__}(request) -> Response`")
        super().__init__(path, endpoint, **kwargs)


@dataclass(frozen=True)
class _Served:
    route: DirectRoute
    pattern: Pattern[str]
    convertors: dict[str, Convertor]
    methods: frozenset[str]

    @classmethod
    def of(cls, prefix: str, route: DirectRoute) -> _Served:
        pattern, _, convertors = compile_path(prefix + route.path)
        return cls(route, pattern, convertors, frozenset(route.methods or ()))


def direct_routes(router: APIRouter, prefix: str = "") -> list[tuple[str, DirectRoute]]:
    """The direct routes of a router, with the prefix it is included under."""
    return [(prefix, route) for route in router.routes if isinstance(route, DirectRoute)]


class DirectRoutes:
    """Pure ASGI: a request for a direct route goes straight to its endpoint; every other goes on."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        *,
        routes: Iterable[tuple[str, DirectRoute]],
        exception_handlers: Mapping[Any, ExceptionHandler],
    ):
        self.app = app
        # The app's own mapping (filled in when the handlers are installed), looked up per error.
        self.exception_handlers = exception_handlers
        self.served = [_Served.of(prefix, route) for prefix, route in routes]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            root_path = scope.get("root_path", "")
            if root_path and path.startswith(root_path) and path[len(root_path) : len(root_path) + 1] in ("", "/"):
                path = path[len(root_path) :]  # stripped as Starlette's router strips it
            for served in self.served:
                if method in served.methods and (match := served.pattern.match(path)):
                    # What Starlette's router puts in the scope: the observability middleware names the
                    # route template from `route`, endpoints read `path_params`.
                    scope["route"], scope["endpoint"] = served.route, served.route.endpoint
                    scope["path_params"] = {
                        name: served.convertors[name].convert(value) for name, value in match.groupdict().items()
                    }
                    request = Request(scope, receive)
                    try:
                        response = await served.route.endpoint(request)
                    except Exception as error:
                        handler = self._handler_for(error)
                        if handler is None:
                            raise  # a 500, from the server error middleware outside
                        response = await handler(request, error)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _handler_for(self, error: Exception) -> ExceptionHandler | None:
        for kind in type(error).__mro__:
            if kind is Exception:
                return None  # the server error middleware's
            if kind in self.exception_handlers:
                return self.exception_handlers[kind]
        return None
