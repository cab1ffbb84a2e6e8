"""What a call can raise:

ProblemError              the API answered with an error status; carries its problem document
httpx.TransportError      no answer at all: refused, reset, timed out (httpx's own)
pydantic.ValidationError  an answer that is not the API's, such as a web page at a wrong URL
"""

from http import HTTPStatus

import httpx
from pydantic import ValidationError

from handover_client._retry import retry_after
from handover_shared.problems import FieldError, Problem


class ProblemError(Exception):
    """The API refused or failed a request; `problem` is the RFC 9457 document it answered."""

    def __init__(self, problem: Problem, response: httpx.Response) -> None:
        super().__init__(describe(problem))
        self.problem = problem
        self.response = response

    @classmethod
    def from_response(cls, response: httpx.Response) -> "ProblemError":
        try:
            problem = Problem.model_validate_json(response.content)
        except ValidationError:
            # Not a problem document: a proxy's page, or not this API at all.
            problem = Problem(title=_phrase(response.status_code), status=response.status_code)
        return cls(problem, response)

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str | None:
        return self.problem.detail

    @property
    def errors(self) -> list[FieldError]:
        return self.problem.errors or []

    @property
    def retry_after(self) -> float | None:
        """Seconds the API asked to wait before trying again (429 and 503), if it said."""
        return retry_after(self.response)


def describe(problem: Problem) -> str:
    """`title: detail`, then one line per invalid field."""
    lines = [f"{problem.title}: {problem.detail}" if problem.detail else problem.title]
    lines += [
        f"  {'.'.join(str(part) for part in error.loc)}: {error.msg}"
        for error in problem.errors or []
    ]
    return "\n".join(lines)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
