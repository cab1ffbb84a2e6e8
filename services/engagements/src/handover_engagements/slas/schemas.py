from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from handover_engagements.schemas import PartialUpdate
from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, METRIC_KEY_PATTERN, Comparator
from handover_shared.pagination import Page

_SLA: JsonDict = {
    "id": "01936f1d-5f60-7b72-8c83-9d0e1f2a3b45",
    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
    "metric_key": "retention_rate",
    "comparator": "gte",
    "target": 90.0,
    "window_days": 90,
    "effective_from": "2025-04-01T00:00:00Z",
    "version": 1,
    "created_at": "2025-03-20T10:00:00Z",
    "updated_at": "2025-03-20T10:00:00Z",
}

_Comparator = Annotated[
    Comparator,
    Field(
        description="How the measured value is held against the target: "
        "`value <comparator> target` means met.",
        examples=["gte"],
    ),
]
_Target = Annotated[
    float,
    Field(
        allow_inf_nan=False,
        ge=-1e12,
        le=1e12,
        description="The value to meet, in the metric's unit.",
        examples=[90.0],
    ),
]
_WindowDays = Annotated[
    int,
    Field(
        ge=1,
        le=366,
        description="The rolling window the metric is measured over, in days.",
        examples=[90],
    ),
]
_EffectiveFrom = Annotated[
    AwareDatetime,
    Field(
        description="From when the SLA applies, with a time zone.",
        examples=["2025-04-01T00:00:00Z"],
    ),
]


class SlaCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "metric_key": "retention_rate",
                    "comparator": "gte",
                    "target": 90.0,
                    "window_days": 90,
                    "effective_from": "2025-04-01T00:00:00Z",
                }
            ]
        },
    )

    metric_key: str = Field(
        max_length=METRIC_KEY_MAX_LENGTH,
        pattern=METRIC_KEY_PATTERN,
        description="The metric the kpi service measures, in lowercase snake case. One SLA per "
        "metric of an engagement.",
        examples=["retention_rate"],
    )
    comparator: _Comparator
    target: _Target
    window_days: _WindowDays
    effective_from: _EffectiveFrom | None = Field(
        default=None, description="From when the SLA applies; now when left out."
    )


class SlaUpdate(PartialUpdate):
    """Only the fields sent change. The metric never changes: remove the SLA and define
    another."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"target": 92.5, "window_days": 60}]}
    )
    required_fields = ("comparator", "target", "window_days", "effective_from")

    comparator: _Comparator | SkipJsonSchema[None] = None
    target: _Target | SkipJsonSchema[None] = None
    window_days: _WindowDays | SkipJsonSchema[None] = None
    effective_from: _EffectiveFrom | SkipJsonSchema[None] = None


class SlaRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_SLA]})

    id: UUID
    engagement_id: UUID
    metric_key: str = Field(description="The metric the kpi service measures.")
    comparator: Comparator = Field(description="`value <comparator> target` means met.")
    target: float = Field(description="The value to meet, in the metric's unit.")
    window_days: int = Field(description="The window the metric is measured over, in days.")
    effective_from: datetime = Field(description="From when the SLA applies.")
    version: int = Field(ge=1, description="Grows by one with every change; the `ETag`.")
    created_at: datetime
    updated_at: datetime


class SlaPage(Page[SlaRead]):
    """A page of an engagement's SLAs, oldest first."""
