"""The route index finds the route the router would, trying only the routes a path could match;
whatever it does not match fully, the router answers as before."""

from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import Scope

from handover_kit.routing import RouteIndex


class CountedApp(FastAPI):
    """An app whose routes count how often they are asked to match."""

    asked: dict[str, int]


def _app(*, indexed: bool = True) -> CountedApp:
    app = CountedApp()
    app.asked = {}

    @app.get("/v1/things")
    async def list_things() -> str:
        return "list"

    @app.get("/v1/things/special")
    async def special_thing() -> str:
        return "special"

    @app.get("/v1/things/{thing_id}")
    async def get_thing(thing_id: int) -> str:
        return f"thing {thing_id}"

    @app.delete("/v1/things/{thing_id}")
    async def delete_thing(thing_id: int) -> str:
        return f"deleted {thing_id}"

    @app.get("/v1/others/{other_id}")
    async def get_other(other_id: str) -> str:
        return f"other {other_id}"

    @app.get("/{page}/things/{thing_id}")
    async def page_thing(page: str, thing_id: str) -> str:
        return f"{page} page, thing {thing_id}"

    for route in app.router.routes:
        original = route.matches

        def counted(scope: Scope, original: Any = original, path: Any = route) -> Any:
            app.asked[path.path] = app.asked.get(path.path, 0) + 1
            result: tuple[Match, Scope] = original(scope)
            return result

        route.matches = counted  # type: ignore[method-assign]
    if indexed:
        app.router.middleware_stack = RouteIndex(app.router)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_path_is_matched_only_against_the_routes_of_its_first_segments() -> None:
    app = _app()
    async with _client(app) as client:
        answer = await client.get("/v1/others/7")

    assert answer.json() == "other 7"
    assert app.asked == {"/v1/others/{other_id}": 1}


async def test_the_route_declared_first_wins_as_in_the_router() -> None:
    app = _app()
    async with _client(app) as client:
        special = await client.get("/v1/things/special")
        numbered = await client.get("/v1/things/3")
        other_page = await client.get("/v2/things/3")

    assert special.json() == "special"
    assert numbered.json() == "thing 3"
    # A route with a parameter in its first segments is tried for every path.
    assert other_page.json() == "v2 page, thing 3"


async def test_what_the_index_does_not_match_the_router_answers_as_before() -> None:
    answers = []
    for app in (_app(), _app(indexed=False)):
        async with _client(app) as client:
            wrong_method = await client.post("/v1/things/3")
            trailing_slash = await client.get("/v1/things/")
            nowhere = await client.get("/nowhere")
        answers.append(
            [
                (answer.status_code, answer.headers.get("allow"), answer.headers.get("location"))
                for answer in (wrong_method, trailing_slash, nowhere)
            ]
        )

    indexed, plain = answers
    assert (
        indexed
        == plain
        == [
            (405, "GET", None),
            (307, None, "http://test/v1/things"),
            (404, None, None),
        ]
    )


async def test_a_route_added_after_the_first_request_is_found() -> None:
    app = _app()
    async with _client(app) as client:
        await client.get("/v1/things")

        @app.get("/v1/later")
        async def later() -> str:
            return "later"

        answer = await client.get("/v1/later")

    assert answer.json() == "later"
