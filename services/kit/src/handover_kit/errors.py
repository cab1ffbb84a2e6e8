"""Every error leaves a service as an RFC 9457 problem document.

ProblemError is the base of the errors a service raises on purpose; each
subclass carries its status and title, and documents itself in OpenAPI via
`problem_responses`. Framework errors (unknown route, wrong method, invalid
input) and unexpected exceptions are translated by the handlers installed by
`install_problem_handlers`.
"""

from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
import structlog
from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from handover_kit.request_id import REQUEST_ID_HEADER
from handover_shared.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem

log = structlog.get_logger(__name__)

VALIDATION_PROBLEM_TYPE = "/problems/validation-error"


class ProblemError(Exception):
    status: ClassVar[int] = HTTPStatus.INTERNAL_SERVER_ERROR
    title: ClassVar[str] = "Internal Server Error"
    type: ClassVar[str] = "about:blank"

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers
        self.extensions = extensions

    def problem(self, instance: str | None) -> Problem:
        return Problem(
            type=self.type,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            **self.extensions,
        )


class NotFound(ProblemError):
    status = HTTPStatus.NOT_FOUND
    title = "Not Found"


class Unauthorized(ProblemError):
    status = HTTPStatus.UNAUTHORIZED
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="handover"'})


class Forbidden(ProblemError):
    status = HTTPStatus.FORBIDDEN
    title = "Forbidden"


class TooManyRequests(ProblemError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    title = "Too Many Requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Rate limit reached; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


class ContentTooLarge(ProblemError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    title = "Content Too Large"


class Conflict(ProblemError):
    status = HTTPStatus.CONFLICT
    title = "Conflict"


class UnprocessableContent(ProblemError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    title = "Unprocessable Content"
    type = VALIDATION_PROBLEM_TYPE


class ServiceUnavailable(ProblemError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    title = "Service Unavailable"


class DependencyUnavailable(ServiceUnavailable):
    """Another service or provider this one needs did not answer usefully; the `dependency`
    member names it."""

    title = "Dependency Unavailable"
    type = "/problems/dependency-unavailable"

    def __init__(self, detail: str, *, dependency: str, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, dependency=dependency)


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.to_content(),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems an operation can answer with."""
    return {
        status: {"description": HTTPStatus(status).phrase, "model": Problem} for status in statuses
    }


async def _on_problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.problem(request.url.path), headers=exc.headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method the path takes. Starlette names only the first route's, though a path is
    often served by several (GET list, POST create)."""
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    )


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers 400 to a JSON body that is not UTF-8 but 422 to one that does not
        # parse; both are a body that is not JSON, answered alike.
        invalid = FieldError(loc=["body"], msg="JSON decode error", type="json_invalid")
        return _validation_problem(request, [invalid])
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    problem = Problem(
        title=phrase, status=exc.status_code, detail=detail, instance=request.url.path
    )
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(problem, headers=headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only location, message and type: the rejected input may hold personal data.
    errors = [
        FieldError(
            loc=[part if isinstance(part, int) else str(part) for part in e["loc"]],
            msg=e["msg"],
            type=e["type"],
        )
        for e in exc.errors()
    ]
    return _validation_problem(request, errors)


def _validation_problem(request: Request, errors: list[FieldError]) -> JSONResponse:
    problem = Problem(
        type=VALIDATION_PROBLEM_TYPE,
        title="Unprocessable Content",
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        detail=f"The request has {len(errors)} invalid field(s).",
        instance=request.url.path,
        errors=errors,
    )
    return problem_response(problem)


# What a lost or refused database connection surfaces as, wrapped by SQLAlchemy or not.
_DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeout,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached, or went away mid-request, rather
    than that this request was wrong: a restart or failover, which retrying later survives."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            OSError  # refused, reset, no socket, connect timeout
            | PoolTimeout
            | asyncpg.PostgresConnectionError
            | asyncpg.OperatorInterventionError  # shutting down, not yet accepting
            | asyncpg.ConnectionDoesNotExistError,
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    # Here, inside the middleware stack, a 503 is logged and counted as the 503 it is.
    if not database_unreachable(exc):
        raise exc  # a real bug: the 500 handler takes it
    log.warning("database_unreachable", path=request.url.path, error=repr(exc))
    return await _on_problem_error(
        request,
        DependencyUnavailable(
            "The database is unreachable; try again shortly.", dependency="database"
        ),
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_exception", path=request.url.path, method=request.method)
    problem = Problem(
        title="Internal Server Error",
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        detail="The server failed to answer this request. Quote the request id when reporting it.",
        instance=request.url.path,
    )
    # This handler runs outside the request-id middleware, which cannot add the header here.
    request_id = correlation_id.get()
    return problem_response(
        problem, headers={REQUEST_ID_HEADER: request_id} if request_id else None
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    for error in _DATABASE_ERRORS:
        app.add_exception_handler(error, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
