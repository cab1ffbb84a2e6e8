"""Cursor pages: the one shape every list endpoint answers with."""

from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field

ItemT = TypeVar("ItemT")

_CURSOR_EXAMPLE = "MDE5MzZmMTAtNGMxZS03YTkzLWIyZDgtOWU3ZjFhNmM1YjMw"


def _page_example(schema: dict[str, Any], page: type[BaseModel]) -> None:
    """A page of the item's own example, so that every page documents itself."""
    (item,) = get_args(page.model_fields["items"].annotation) or (None,)
    if isinstance(item, type) and issubclass(item, BaseModel):
        examples = item.model_json_schema().get("examples", [])
        schema["examples"] = [{"items": examples[:1], "next_cursor": _CURSOR_EXAMPLE}]


class Page(BaseModel, Generic[ItemT]):
    """A page of items. Pass `next_cursor` back as `cursor` for the next page; null means done."""

    # Always sent, so the answer's schema requires it, though it may be left out when building one.
    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True, json_schema_extra=_page_example
    )

    items: list[ItemT]
    next_cursor: str | None = Field(
        default=None,
        description="Opaque cursor of the next page; null on the last page.",
        examples=[_CURSOR_EXAMPLE],
    )
