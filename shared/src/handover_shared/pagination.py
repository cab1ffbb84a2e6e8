"""Cursor pages: the one shape every list endpoint answers with."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """A page of items. Pass `next_cursor` back as `cursor` for the next page; null means done."""

    items: list[ItemT]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null on the last page."
    )
