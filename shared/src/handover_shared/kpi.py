"""What the kpi service answers other services: the transfer-readiness verdict and its terms."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

METRIC_KEY_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
"""Metric keys are stable identifiers in lowercase snake case: `time_to_hire`, `sla_compliance`."""
METRIC_KEY_MAX_LENGTH = 64

TRANSFER_READINESS_PATH = "/internal/v1/engagements/{engagement_id}/transfer-readiness"
"""Where the engagements service asks kpi whether an engagement is ready for transfer."""


class Comparator(StrEnum):
    """How a value is held against a target: `value <comparator> target` means met."""

    GTE = "gte"
    GT = "gt"
    LTE = "lte"
    LT = "lt"
    EQ = "eq"


class MetricStatus(StrEnum):
    MET = "met"
    AT_RISK = "at_risk"
    MISSED = "missed"
    NO_DATA = "no_data"


class MetricVerdict(BaseModel):
    """One metric of the readiness scorecard, with why it fails if it does."""

    model_config = ConfigDict(frozen=True)

    metric_key: str = Field(max_length=METRIC_KEY_MAX_LENGTH, pattern=METRIC_KEY_PATTERN)
    status: MetricStatus
    value: float | None = Field(description="The latest value; null without data.")
    target: float | None = None
    comparator: Comparator | None = None
    reason: str | None = Field(
        default=None, description="Why the metric does not pass; null when it does."
    )


class TransferReadiness(BaseModel):
    """The kpi verdict at the operate -> transfer gate: ready only if every metric passes."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "ready": False,
                    "evaluated_at": "2026-05-01T00:00:00Z",
                    "metrics": [
                        {
                            "metric_key": "retention_rate",
                            "status": "missed",
                            "value": 81.0,
                            "target": 90.0,
                            "comparator": "gte",
                            "reason": "retention_rate is 81, and the target is gte 90.",
                        }
                    ],
                }
            ]
        },
    )

    engagement_id: UUID
    ready: bool
    evaluated_at: datetime
    metrics: list[MetricVerdict]
