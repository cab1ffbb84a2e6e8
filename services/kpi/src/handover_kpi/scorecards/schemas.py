from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from handover_kpi.metrics.schemas import MetricDirection, MetricUnit
from handover_kpi.targets.schemas import TargetSource
from handover_shared.kpi import Comparator, MetricStatus


class Trend(StrEnum):
    """The latest value against the one before it: `up`, `down` or `flat`."""

    UP = "up"
    DOWN = "down"
    FLAT = "flat"


_LINE_EXAMPLE: JsonDict = {
    "metric_key": "retention_rate",
    "metric_name": "Retention rate",
    "unit": "percent",
    "direction": "higher_is_better",
    "target_id": "01936f20-6a1b-7c3d-9e4f-5a6b7c8d9e01",
    "source": "manual",
    "comparator": "gte",
    "threshold": 90.0,
    "at_risk_margin": 5.0,
    "value": 87.5,
    "value_at": "2026-04-01T00:00:00Z",
    "previous_value": 91.0,
    "trend": "down",
    "status": "at_risk",
    "reason": "retention_rate is 87.5, and the target is gte 90; within the at-risk margin of 5.",
}


class ScorecardLine(BaseModel):
    """One active target, judged against its metric's latest engagement-wide value."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LINE_EXAMPLE]})

    metric_key: str
    metric_name: str | None = Field(description="Null if the metric is not in the catalog.")
    unit: MetricUnit | None
    direction: MetricDirection | None
    target_id: UUID
    source: TargetSource
    comparator: Comparator
    threshold: float
    at_risk_margin: float
    value: float | None = Field(description="The latest value; null without data.")
    value_at: datetime | None = Field(description="When the latest value was measured.")
    previous_value: float | None = Field(description="The value before it, if any.")
    trend: Trend | None = Field(description="Null without two values to compare.")
    status: MetricStatus
    reason: str | None = Field(description="Why the target is not met; null when it is.")


class Scorecard(BaseModel):
    """An engagement's active targets and how its metrics stand against them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "evaluated_at": "2026-05-01T00:00:00Z",
                    "lines": [_LINE_EXAMPLE],
                }
            ]
        }
    )

    engagement_id: UUID
    evaluated_at: datetime
    lines: list[ScorecardLine] = Field(description="By metric key, then oldest target first.")
