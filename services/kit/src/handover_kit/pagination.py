"""Keyset pagination: a cursor is the opaque form of the last key of the previous page.

Ids are UUIDv7, so ordering by id is ordering by creation time."""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast
from uuid import UUID

from fastapi import Depends, Query
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Mapped
from sqlmodel.sql.expression import SelectOfScalar

from handover_kit.errors import UnprocessableContent

RowT = TypeVar("RowT")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_MAX_LENGTH = 64
LIMIT_DESCRIPTION = "How many items to return at most."
CURSOR_DESCRIPTION = "The `next_cursor` of the previous page; leave it out for the first page."


class InvalidCursor(UnprocessableContent):
    title = "Invalid Cursor"
    type = "/problems/invalid-cursor"


_INVALID = "The cursor is not one this API issued; start again without it."

CURSOR_FORMAT = "cursor"
# Only a cursor this API issued names a page, which no schema can say: the format tells tools
# that generate input to draw such a cursor rather than any string.
Cursor = Annotated[str, Field(json_schema_extra={"format": CURSOR_FORMAT})]


def encode_cursor(last_key: str | UUID) -> str:
    return base64.urlsafe_b64encode(str(last_key).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(_INVALID) from None
    # No key holds NUL (PostgreSQL text cannot), and a query comparing with one fails.
    if not key or "\x00" in key:
        raise InvalidCursor(_INVALID)
    return key


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: str | None

    def after_id(self) -> UUID | None:
        if self.after is None:
            return None
        try:
            return UUID(self.after)
        except ValueError:
            raise InvalidCursor(_INVALID) from None


# async: FastAPI runs a plain `def` dependency in a worker thread, a costly hop per request.
async def _page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)] = DEFAULT_LIMIT,
    cursor: Annotated[
        Cursor | None, Query(max_length=CURSOR_MAX_LENGTH, description=CURSOR_DESCRIPTION)
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageParams = Annotated[PageRequest, Depends(_page_request)]


def next_cursor(keys: Sequence[str | UUID], limit: int) -> str | None:
    """Repositories fetch limit + 1 rows: a row past the limit means there is a next page."""
    return encode_cursor(keys[limit - 1]) if len(keys) > limit else None


async def paginate(
    session: AsyncSession,
    statement: SelectOfScalar[RowT],
    key: Mapped[Any],
    page: PageRequest,
    after: object | None,
) -> tuple[list[RowT], str | None]:
    """One page of `statement` in `key` order, after the key `after` (the decoded cursor)."""
    attribute = cast(InstrumentedAttribute[Any], key)
    if after is not None:
        statement = statement.where(attribute > after)
    rows = list((await session.scalars(statement.order_by(attribute).limit(page.limit + 1))).all())
    keys = [getattr(row, attribute.key) for row in rows]
    return rows[: page.limit], next_cursor(keys, page.limit)
