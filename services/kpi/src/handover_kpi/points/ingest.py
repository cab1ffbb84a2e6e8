"""Reading data points as they arrive, line by line, and checking each on its own.

A line that fails a check is rejected with its line number, the field at fault and the
reason, and the others go on; nothing is written until the whole body has been read, and then
every good line is written in one statement, so a request commits all its good lines or none.
Bodies are read as a stream and lines go to the staging table as they are checked: memory
holds one line at a time, whatever the size of the upload.
"""

import csv
import json
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from handover_kpi.points.schemas import DIMENSIONS, LineError
from handover_kpi.points.store import StagedRow, dimensions_json

DEFAULT_SOURCE = "api"
SOURCE_MAX_LENGTH = 100
DIMENSION_MAX_LENGTH = 100
LINE_FIELDS = frozenset({"engagement_id", "metric_key", "at", "value", "unit", "source"})
CSV_REQUIRED = ("engagement_id", "metric_key", "at", "value")
CSV_FIELDS = frozenset({*LINE_FIELDS, *DIMENSIONS})

Parties = tuple[UUID, UUID]
"""An engagement's client and partner."""
EngagementLookup = Callable[[UUID], Awaitable[Parties | None]]


class Rejected(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class UnreadableUpload(Exception):
    """A body that holds no points at all (empty, or a CSV header that is not one): the whole
    upload is refused, nothing is written."""


@dataclass
class Report:
    """The rejections of one request: all counted, the first `limit` listed."""

    limit: int
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)

    def reject(self, line: int, field: str, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < self.limit:
            self.errors.append(LineError(line=line, field=field, reason=reason))

    @property
    def omitted(self) -> int:
        return self.rejected - len(self.errors)


class LineChecker:
    """Checks one line at a time against the catalog, the engagements the caller may see and
    the clock; remembers each engagement it asked about for the rest of the request."""

    def __init__(
        self,
        units: Mapping[str, str],
        engagements: EngagementLookup,
        *,
        now: datetime,
        max_future: timedelta,
        report: Report,
    ) -> None:
        self._units = units
        self._lookup = engagements
        self._latest = now + max_future
        self._max_future = max_future
        self._engagements: dict[str, tuple[UUID, Parties] | None] = {}
        self.report = report

    async def check(self, line: int, fields: Mapping[str, Any]) -> StagedRow | None:
        """The staged row for a good line; None, with the rejection reported, for a bad one."""
        try:
            return await self._check(line, fields)
        except Rejected as rejection:
            self.report.reject(line, rejection.field, rejection.reason)
            return None

    async def _check(self, line: int, fields: Mapping[str, Any]) -> StagedRow:
        for name in fields:
            if name not in LINE_FIELDS and name != "dimensions":
                raise Rejected(str(name)[:100], "Not a field of a data point.")
        engagement_id, (client_id, partner_id) = await self._engagement(fields.get("engagement_id"))
        metric_key = fields.get("metric_key")
        if not isinstance(metric_key, str) or not metric_key:
            raise Rejected("metric_key", "Required: the key of a metric in the catalog.")
        unit = self._units.get(metric_key)
        if unit is None:
            raise Rejected("metric_key", "Unknown metric: no metric in the catalog has this key.")
        at = _instant(fields.get("at"))
        if at > self._latest:
            raise Rejected(
                "at",
                f"Too far in the future: points may be at most {self._max_future} ahead of now.",
            )
        value = _value(fields.get("value"))
        given_unit = fields.get("unit")
        if given_unit is not None and given_unit != "" and given_unit != unit:
            raise Rejected("unit", f"Wrong unit: metric {metric_key!r} is measured in {unit!r}.")
        dimensions = _dimensions(fields.get("dimensions"))
        source = _source(fields.get("source"))
        return (
            line,
            engagement_id,
            client_id,
            partner_id,
            metric_key,
            at,
            dimensions_json(dimensions),
            value,
            source,
        )

    async def _engagement(self, raw: Any) -> tuple[UUID, Parties]:
        if not isinstance(raw, str) or not raw:
            raise Rejected("engagement_id", "Required: the id of an engagement.")
        if raw not in self._engagements:
            try:
                engagement_id = UUID(raw)
            except ValueError:
                raise Rejected("engagement_id", "Not a UUID.") from None
            parties = await self._lookup(engagement_id)
            self._engagements[raw] = None if parties is None else (engagement_id, parties)
        known = self._engagements[raw]
        if known is None:
            raise Rejected(
                "engagement_id", "Unknown engagement: none with this id that you may see."
            )
        return known


def _instant(raw: Any) -> datetime:
    if not isinstance(raw, str) or not raw:
        raise Rejected("at", "Required: an ISO 8601 timestamp with a UTC offset.")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise Rejected("at", "Not an ISO 8601 timestamp.") from None
    if at.tzinfo is None:
        raise Rejected("at", "The timestamp needs a UTC offset, such as Z or +02:00.")
    return at


def _value(raw: Any) -> float:
    if isinstance(raw, bool) or raw is None or raw == "":
        raise Rejected("value", "Required: a finite number.")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise Rejected("value", "Not a number.") from None
    if not math.isfinite(value):
        raise Rejected("value", "Not a finite number: NaN and infinities are refused.")
    return value


def _dimensions(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Rejected("dimensions", "An object of role, team and site.")
    dimensions: dict[str, str] = {}
    for name, value in raw.items():
        if name not in DIMENSIONS:
            raise Rejected(
                "dimensions", f"Not a dimension: {str(name)[:50]!r}; use role, team, site."
            )
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > DIMENSION_MAX_LENGTH or "\x00" in value:
            raise Rejected(
                "dimensions", f"{name}: text of at most {DIMENSION_MAX_LENGTH} characters."
            )
        dimensions[name] = value
    return dimensions


def _source(raw: Any) -> str:
    if raw is None or raw == "":
        return DEFAULT_SOURCE
    if not isinstance(raw, str) or len(raw) > SOURCE_MAX_LENGTH or "\x00" in raw:
        raise Rejected("source", f"Text of at most {SOURCE_MAX_LENGTH} characters.")
    return raw


async def lines(
    chunks: AsyncIterable[bytes], max_line_bytes: int
) -> AsyncIterator[tuple[int, bytes | None]]:
    """Numbered lines of a streamed body, without their line ends; None for a line longer than
    `max_line_bytes`, which is skipped rather than held."""
    number = 0
    buffer = b""
    overlong = False
    async for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            number += 1
            yield number, None if overlong or len(line) > max_line_bytes else line.rstrip(b"\r")
            overlong = False
        if len(buffer) > max_line_bytes:
            overlong, buffer = True, b""
    if buffer or overlong:
        number += 1
        yield number, None if overlong else buffer.rstrip(b"\r")


async def ndjson_rows(
    body: AsyncIterable[bytes], checker: LineChecker, max_line_bytes: int
) -> AsyncIterator[StagedRow]:
    empty = True
    async for number, line in lines(body, max_line_bytes):
        empty = empty and line is not None and not line.strip()
        if line is None:
            checker.report.reject(number, "line", f"Longer than {max_line_bytes} bytes.")
            continue
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except ValueError:
            checker.report.reject(number, "line", "Not a JSON object.")
            continue
        if not isinstance(fields, dict):
            checker.report.reject(number, "line", "Not a JSON object.")
            continue
        row = await checker.check(number, fields)
        if row is not None:
            yield row
    if empty:
        raise UnreadableUpload("The body holds no line: send one JSON object per line.")


async def csv_rows(
    body: AsyncIterable[bytes], checker: LineChecker, max_line_bytes: int
) -> AsyncIterator[StagedRow]:
    """Rows of a CSV upload: a header line naming the columns (engagement_id, metric_key, at,
    value; optionally unit, role, team, site, source), then one point per line."""
    header: list[str] | None = None
    async for number, line in lines(body, max_line_bytes):
        if header is None:
            header = _header(line)
            continue
        if line is None:
            checker.report.reject(number, "line", f"Longer than {max_line_bytes} bytes.")
            continue
        if not line.strip():
            continue
        try:
            values = next(csv.reader([line.decode()]))
        except (UnicodeDecodeError, csv.Error):
            checker.report.reject(number, "line", "Not a line of UTF-8 CSV.")
            continue
        if len(values) != len(header):
            checker.report.reject(
                number, "line", f"{len(values)} fields where the header names {len(header)}."
            )
            continue
        fields: dict[str, Any] = {}
        dimensions: dict[str, str] = {}
        for name, value in zip(header, values, strict=True):
            if name in DIMENSIONS:
                dimensions[name] = value
            else:
                fields[name] = value
        fields["dimensions"] = dimensions
        row = await checker.check(number, fields)
        if row is not None:
            yield row
    if header is None:
        raise UnreadableUpload("The upload is empty: a CSV header line is required.")


def _header(line: bytes | None) -> list[str]:
    if line is None:
        raise UnreadableUpload("The header line is too long.")
    try:
        names = [name.strip() for name in next(csv.reader([line.decode()]))]
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise UnreadableUpload("The first line must be a CSV header.") from None
    unknown = [name for name in names if name not in CSV_FIELDS]
    if unknown:
        raise UnreadableUpload(
            f"Unknown columns {unknown[:5]}; the columns are {sorted(CSV_FIELDS)}."
        )
    missing = [name for name in CSV_REQUIRED if name not in names]
    if missing:
        raise UnreadableUpload(f"Missing required columns {missing}.")
    if len(set(names)) != len(names):
        raise UnreadableUpload("A column is named twice.")
    return names
