from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.kpi import METRIC_KEY_MAX_LENGTH, METRIC_KEY_PATTERN
from handover_shared.pagination import Page

KEY_PATTERN = METRIC_KEY_PATTERN
KEY_MAX_LENGTH = METRIC_KEY_MAX_LENGTH

MetricKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=KEY_MAX_LENGTH,
        pattern=KEY_PATTERN,
        description="Stable identifier in lowercase snake case.",
        examples=["time_to_hire"],
    ),
]


class MetricUnit(StrEnum):
    PERCENT = "percent"
    DAYS = "days"
    COUNT = "count"
    CURRENCY = "currency"
    FTE = "fte"
    RATIO = "ratio"


class MetricAggregation(StrEnum):
    """How values combine across periods or engagements. `ratio` metrics keep a numerator
    and a denominator, and aggregate as the sum of one over the sum of the other."""

    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    LAST = "last"
    RATIO = "ratio"


class MetricDirection(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class MetricCreate(BaseModel):
    """A custom metric. The catalog is one for the whole platform: a key means the same thing
    in every engagement, so that SLAs, series and exports across tenants can name it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "key": "first_contact_resolution",
                    "name": "First contact resolution",
                    "description": "Share of customer contacts resolved without a follow-up, "
                    "from 0 to 100.",
                    "unit": "percent",
                    "aggregation": "avg",
                    "direction": "higher_is_better",
                }
            ]
        },
    )

    key: MetricKey
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    unit: MetricUnit
    aggregation: MetricAggregation
    direction: MetricDirection


class MetricRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "key": "time_to_hire",
                    "name": "Time to hire",
                    "description": "Days from a requisition opening to the candidate accepting "
                    "the offer.",
                    "unit": "days",
                    "aggregation": "avg",
                    "direction": "lower_is_better",
                    "built_in": True,
                    "created_at": "2025-01-01T00:00:00Z",
                    "updated_at": "2025-01-01T00:00:00Z",
                }
            ]
        },
    )

    key: MetricKey
    name: str
    description: str
    unit: MetricUnit
    aggregation: MetricAggregation
    direction: MetricDirection
    built_in: bool = Field(description="Defined by Handover rather than by a user.")
    created_at: datetime
    updated_at: datetime


class MetricPage(Page[MetricRead]):
    """A page of metrics, in key order."""
