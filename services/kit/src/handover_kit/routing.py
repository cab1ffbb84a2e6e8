"""A request's route found among the few its path could match, not by trying every route."""

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

Key = tuple[str, ...]


class RouteIndex:
    """In front of `router`, which tries its routes in turn at a few microseconds each: a
    service has fifty, and its busiest routes are not the first.

    Routes are grouped by the first two segments of their path (`/v1/engagements`), in the
    router's order. A route whose first segments hold a parameter, or that is not a plain route,
    is in every group. A request tries only its path's group, for a full match, so the route
    that wins is the one the router would choose. Anything else (no route, the wrong method, a
    trailing slash to redirect) the router answers as before. The groups are made again when
    the number of routes changes."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._dispatch: ASGIApp = router.middleware_stack
        self._indexed = -1
        self._groups: dict[Key, list[BaseRoute]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            for route in self._group(scope["path"]):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.router)
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await self._dispatch(scope, receive, send)

    def _group(self, path: str) -> list[BaseRoute]:
        routes = self.router.routes
        if len(routes) != self._indexed:
            self._groups = _grouped(routes)
            self._indexed = len(routes)
        return self._groups.get(_key(path), [])


def _key(path: str) -> Key:
    return tuple(path.split("/", 3)[1:3])


def _grouped(routes: list[BaseRoute]) -> dict[Key, list[BaseRoute]]:
    groups: dict[Key, list[BaseRoute]] = {}
    everywhere: list[BaseRoute] = []
    for route in routes:
        key = _key(route.path) if isinstance(route, Route) else None
        if key is None or any("{" in segment for segment in key):
            everywhere.append(route)
            for group in groups.values():
                group.append(route)
        else:
            groups.setdefault(key, list(everywhere)).append(route)
    return groups
