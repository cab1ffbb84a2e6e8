from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, METRIC_KEY_PATTERN, Comparator
from handover_shared.pagination import Page


class TargetSource(StrEnum):
    """`manual`: set through the API. `sla`: one of the engagement's SLAs, told by the
    engagements service; changed only there."""

    MANUAL = "manual"
    SLA = "sla"


Threshold = Annotated[
    float,
    Field(allow_inf_nan=False, description="The value the metric is held to, in its unit."),
]
Margin = Annotated[
    float,
    Field(
        ge=0,
        allow_inf_nan=False,
        description="How far a value may miss the threshold and still be `at_risk` rather than "
        "`missed`; 0 means a miss is a miss.",
    ),
]
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


OUT_OF_RANGE = "must be between the years 1900 and 9999"


def storable(moment: datetime) -> bool:
    # Near year 1 or 9999 an offset carries a moment out of what Python can read back.
    return EARLIEST <= moment < LATEST


def _storable(moment: datetime) -> datetime:
    if not storable(moment):
        raise ValueError(OUT_OF_RANGE)
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_storable)]
EFFECTIVE_FROM = "When the target starts to apply."
EFFECTIVE_TO = "When it stops applying; null while it applies without end."

_EXAMPLE: JsonDict = {
    "metric_key": "retention_rate",
    "comparator": "gte",
    "threshold": 90.0,
    "at_risk_margin": 5.0,
    "effective_from": "2026-01-01T00:00:00Z",
    "effective_to": None,
}


def _check_period(effective_from: datetime | None, effective_to: datetime | None) -> None:
    if effective_from and effective_to and effective_to <= effective_from:
        raise ValueError("effective_to must be later than effective_from")


class TargetCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10", **_EXAMPLE}]
        },
    )

    engagement_id: UUID
    metric_key: str = Field(
        min_length=1,
        max_length=METRIC_KEY_MAX_LENGTH,
        pattern=METRIC_KEY_PATTERN,
        description="A metric of the catalog.",
    )
    comparator: Comparator
    threshold: Threshold
    at_risk_margin: Margin = 0.0
    effective_from: Moment | None = Field(
        default=None, description=f"{EFFECTIVE_FROM} Now if left out."
    )
    effective_to: Moment | None = Field(default=None, description=EFFECTIVE_TO)

    @model_validator(mode="after")
    def _period(self) -> Self:
        _check_period(self.effective_from, self.effective_to)
        return self


_NOT_NULL = ("comparator", "threshold", "at_risk_margin", "effective_from")


class TargetUpdate(BaseModel):
    """The fields to change; those left out keep their value. Only `effective_to` may be
    null, which makes the target apply without end."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"threshold": 92.5, "at_risk_margin": 2.5}]},
    )

    # SkipJsonSchema: may be left out, but not sent as null, and the schema says so.
    comparator: Comparator | SkipJsonSchema[None] = None
    threshold: Threshold | SkipJsonSchema[None] = None
    at_risk_margin: Margin | SkipJsonSchema[None] = None
    # Checked against the target once it is found (storable moments, a period that ends after
    # it begins), so that a missing target is a 404 whatever the body says.
    effective_from: AwareDatetime | SkipJsonSchema[None] = Field(
        default=None, description=EFFECTIVE_FROM
    )
    effective_to: AwareDatetime | None = Field(default=None, description=EFFECTIVE_TO)

    @model_validator(mode="after")
    def _present_fields_not_null(self) -> Self:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TargetRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f20-6a1b-7c3d-9e4f-5a6b7c8d9e01",
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    **_EXAMPLE,
                    "source": "manual",
                    "sla_id": None,
                    "window_days": None,
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    metric_key: str
    comparator: Comparator
    threshold: float
    at_risk_margin: float
    effective_from: datetime
    effective_to: datetime | None
    source: TargetSource
    sla_id: UUID | None = Field(description="The SLA this target stands for, if it is one.")
    window_days: int | None = Field(description="The SLA's measuring window, if it is one.")
    created_at: datetime
    updated_at: datetime


class TargetPage(Page[TargetRead]):
    """A page of targets, oldest first."""
