"""How the command line writes what it fetched: data to stdout in the chosen format, progress
to stderr, and progress only to a terminal."""

import csv
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import TextIO, TypeVar

import typer
from pydantic import BaseModel

T = TypeVar("T")


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


def chosen(fmt: Format | None) -> Format:
    """A table for a person at a terminal; otherwise one JSON object per line, for programs."""
    if fmt is not None:
        return fmt
    return Format.TABLE if sys.stdout.isatty() else Format.NDJSON


def with_progress(items: Iterator[T], *, label: str, page_size: int, fmt: Format) -> Iterator[T]:
    """`items`, unchanged; once they run past the first page, a bar on stderr counts them.

    Only on a terminal, and not while rows stream onto the same terminal: a table is written
    after the transfer, the other formats as it goes."""
    yield from itertools.islice(items, page_size)
    following = list(itertools.islice(items, 1))
    if not following:
        return
    streaming_to_terminal = fmt is not Format.TABLE and sys.stdout.isatty()
    if not sys.stderr.isatty() or streaming_to_terminal:
        yield from following
        yield from items
        return
    bar = typer.progressbar(
        itertools.chain(following, items), label=label, file=sys.stderr, show_pos=True
    )
    bar.update(page_size)  # the first page, already through
    with bar:
        yield from bar


def write_items(
    items: Iterable[BaseModel],
    model: type[BaseModel],
    fmt: Format,
    *,
    columns: Sequence[str],
    out: TextIO,
) -> None:
    """Every field of `model` in CSV and JSON; a table shows `columns`."""
    fields = list(model.model_fields)
    if fmt is Format.NDJSON:
        for item in items:
            out.write(item.model_dump_json() + "\n")
    elif fmt is Format.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows(_cells(item, fields) for item in items)
    elif fmt is Format.JSON:
        json.dump([item.model_dump(mode="json") for item in items], out, indent=2)
        out.write("\n")
    else:
        header = [column.upper() for column in columns]
        _table([header, *(_cells(item, columns) for item in items)], out)


def write_item(item: BaseModel, fmt: Format, *, out: TextIO) -> None:
    """One resource: a JSON object rather than an array, and as a table one field per line."""
    if fmt is Format.JSON:
        out.write(item.model_dump_json(indent=2) + "\n")
    elif fmt is Format.TABLE:
        fields = list(type(item).model_fields)
        _table([list(pair) for pair in zip(fields, _cells(item, fields), strict=True)], out)
    else:
        write_items([item], type(item), fmt, columns=(), out=out)


def _cells(item: BaseModel, fields: Sequence[str]) -> list[str]:
    values = item.model_dump(mode="json")
    return [_cell(values[field]) for field in fields]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write(line.rstrip() + "\n")
