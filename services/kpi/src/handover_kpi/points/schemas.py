from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from handover_shared.pagination import Page

DIMENSIONS = ("role", "team", "site")

ENGAGEMENT_ID = "0193a5c0-7b1e-7c00-8000-00000000e001"
POINT_EXAMPLE: dict[str, Any] = {
    "engagement_id": ENGAGEMENT_ID,
    "metric_key": "quality_score",
    "at": "2026-11-01T00:00:00Z",
    "value": 93.5,
    "unit": "percent",
    "dimensions": {"team": "claims"},
    "source": "qa-export",
}


class LineError(BaseModel):
    line: int = Field(
        ge=1,
        description="The line of the body (for a JSON batch, the position in `points`), from 1.",
        examples=[3],
    )
    field: str = Field(description="The field at fault, or `line` for the line as a whole.")
    reason: str = Field(description="Why the line was rejected.")


class IngestResult(BaseModel):
    """What became of each line: good lines are all written together once the whole body has
    been read; a bad line is rejected without holding back the good ones."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 9998,
                    "replaced": 1,
                    "unchanged": 0,
                    "rejected": 1,
                    "errors": [{"line": 17, "field": "metric_key", "reason": "Unknown metric."}],
                    "errors_omitted": 0,
                }
            ]
        }
    )

    accepted: int = Field(ge=0, description="New points stored.")
    replaced: int = Field(ge=0, description="Points whose value was corrected; revisions kept.")
    unchanged: int = Field(
        ge=0,
        description="Points sent again with the value they have, or superseded by a later "
        "line of the same request with the same natural key.",
    )
    rejected: int = Field(ge=0, description="Lines rejected; the first ones are in `errors`.")
    errors: list[LineError] = Field(description="The rejected lines, in order, up to a limit.")
    errors_omitted: int = Field(
        ge=0, description="Rejected lines beyond the limit of `errors`, counted only."
    )


class PointBatch(BaseModel):
    """Points as JSON. Each is checked on its own: see `IngestResult`."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"points": [POINT_EXAMPLE]}]}
    )

    points: list[dict[str, JsonValue]] = Field(
        min_length=1,
        max_length=1_000,
        description="Data points: `engagement_id`, `metric_key`, `at` (ISO 8601 with an "
        "offset), `value` (a finite number); optionally `unit` (checked against the metric's), "
        "`dimensions` (`role`, `team`, `site`) and `source`.",
    )


class PointRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "0193a5c0-7b1e-7c00-8000-0000000d0001",
                    "engagement_id": ENGAGEMENT_ID,
                    "metric_key": "quality_score",
                    "at": "2026-11-01T00:00:00Z",
                    "dimensions": {"team": "claims"},
                    "value": 93.5,
                    "source": "qa-export",
                    "revision": 2,
                    "created_at": "2026-11-02T08:00:00Z",
                    "updated_at": "2026-11-03T08:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    metric_key: str
    at: datetime
    dimensions: dict[str, str] = Field(description="Role, team or site the value is for.")
    value: float
    source: str = Field(description="Where the value came from.")
    revision: int = Field(ge=1, description="How many values the point has had.")
    created_at: datetime
    updated_at: datetime


class PointPage(Page[PointRead]):
    pass


class RevisionRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "point_id": "0193a5c0-7b1e-7c00-8000-0000000d0001",
                    "revision": 1,
                    "value": 91.0,
                    "source": "qa-export",
                    "recorded_at": "2026-11-02T08:00:00Z",
                }
            ]
        },
    )

    point_id: UUID
    revision: int = Field(ge=1, description="1 for the first value, then one more per correction.")
    value: float
    source: str
    recorded_at: datetime


class RevisionPage(Page[RevisionRead]):
    pass


class ChangeKind(StrEnum):
    INSERTED = "inserted"
    CORRECTED = "corrected"


class ChangeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "corrected",
                    "point_id": "0193a5c0-7b1e-7c00-8000-0000000d0001",
                    "engagement_id": ENGAGEMENT_ID,
                    "metric_key": "quality_score",
                    "at": "2026-11-01T00:00:00Z",
                    "dimensions": {"team": "claims"},
                    "revision": 2,
                    "value": 93.5,
                    "source": "qa-export",
                    "recorded_at": "2026-11-03T08:00:00Z",
                }
            ]
        }
    )

    kind: ChangeKind
    point_id: UUID
    engagement_id: UUID
    metric_key: str
    at: datetime
    dimensions: dict[str, str]
    revision: int = Field(ge=1)
    value: float = Field(description="The point's value as of this change.")
    source: str
    recorded_at: datetime


class ChangeFeed(Page[ChangeRead]):
    """Changes after the cursor, oldest first. `next_cursor` is always given, also when
    `items` is empty: pull again with it (keep it between runs of a script) to see every
    insert and correction exactly once; an empty page means caught up for now."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [], "next_cursor": "MTIzNDo1Njc"}]}
    )


class ExportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"
