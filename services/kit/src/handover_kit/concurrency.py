"""Optimistic concurrency: a row carries a `version` (1 on insert, +1 per update).

Reads answer it as a strong `ETag` (`"3"`); an update states the version it read in
`If-Match` and is refused with 412 if the row has moved on since, so two editors never
silently overwrite each other. An update without `If-Match` is refused with 428.
"""

import re
from typing import Annotated

from fastapi import Depends, Header, Response

from handover_kit.errors import ProblemError, UnprocessableContent

ETAG_HEADER = "ETag"
IF_MATCH_HEADER = "If-Match"
STALE_VERSION = "/problems/stale-version"

_ETAG = re.compile(r'^"(\d{1,18})"$')

ETAG_RESPONSE = {
    "headers": {
        ETAG_HEADER: {
            "description": "The version read; send it back in `If-Match` to change the resource.",
            "schema": {"type": "string", "examples": ['"1"']},
        }
    }
}
"""The `ETag` of an answer that holds one resource, as OpenAPI documents it."""


class PreconditionRequired(ProblemError):
    status = 428
    title = "Precondition Required"
    type = "/problems/if-match-required"


class StaleVersion(ProblemError):
    status = 412
    title = "Precondition Failed"
    type = STALE_VERSION


class InvalidIfMatch(UnprocessableContent):
    title = "Invalid If-Match"
    type = "/problems/invalid-if-match"


def etag(version: int) -> str:
    """The strong entity tag of a row at `version`."""
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers[ETAG_HEADER] = etag(version)


def parse_if_match(value: str) -> int:
    """The version an `If-Match` value names. Only one strong tag this API issued is accepted:
    `*` or a list would let a stale write through."""
    match = _ETAG.match(value)
    if match is None:
        raise InvalidIfMatch(
            'If-Match must hold one ETag this API issued, such as "3".',
            errors=[{"loc": ["header", "If-Match"], "msg": "Not an ETag", "type": "etag"}],
        )
    return int(match.group(1))


def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias=IF_MATCH_HEADER,
            max_length=40,
            pattern=_ETAG.pattern,
            description='The `ETag` of the version this change is based on, e.g. `"3"`. '
            "Required: a change to a version that is no longer current is refused with 412.",
            examples=['"1"'],
        ),
    ] = None,
) -> int:
    if if_match is None:
        raise PreconditionRequired(
            'If-Match required: send the ETag of the version you read, e.g. If-Match: "3".'
        )
    return parse_if_match(if_match)


IfMatch = Annotated[int, Depends(_if_match)]
"""The version the caller's change is based on, from the `If-Match` header."""


def check_version(expected: int, current: int) -> None:
    """Refuse a change based on `expected` when the row is at `current`."""
    if expected != current:
        raise StaleVersion(
            f"The resource changed since you read it: it is at ETag {etag(current)}, "
            f"your If-Match was {etag(expected)}. Read it again and retry.",
            current_etag=etag(current),
            headers={ETAG_HEADER: etag(current)},
        )
