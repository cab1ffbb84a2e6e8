"""What the API answers, as this client reads it. Engagements come from the shared contract;
the rest are read models of the client's own, which ignore members they do not know, so a
newer API does not break an older client."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from handover_shared.engagements import DeliveryModel, EngagementRead, Phase
from handover_shared.pagination import Page

__all__ = [
    "DeliveryModel",
    "EngagementRead",
    "IngestResult",
    "LineError",
    "MetricAggregation",
    "MetricDirection",
    "MetricRead",
    "MetricUnit",
    "OrganizationKind",
    "OrganizationRead",
    "Page",
    "Phase",
    "RequisitionRead",
    "RequisitionStatus",
]


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OrganizationKind(StrEnum):
    CLIENT = "client"
    PARTNER = "partner"


class OrganizationRead(_Read):
    id: UUID
    name: str
    kind: OrganizationKind
    created_at: datetime
    updated_at: datetime


class RequisitionStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    ON_HOLD = "on_hold"
    FILLED = "filled"
    CANCELLED = "cancelled"


class RequisitionRead(_Read):
    id: UUID
    engagement_id: UUID
    title: str
    headcount: int
    status: RequisitionStatus
    created_at: datetime
    updated_at: datetime


class MetricUnit(StrEnum):
    PERCENT = "percent"
    DAYS = "days"
    COUNT = "count"
    CURRENCY = "currency"
    FTE = "fte"
    RATIO = "ratio"


class MetricAggregation(StrEnum):
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    LAST = "last"
    RATIO = "ratio"


class MetricDirection(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class MetricRead(_Read):
    key: str
    name: str
    description: str
    unit: MetricUnit
    aggregation: MetricAggregation
    direction: MetricDirection
    built_in: bool
    created_at: datetime
    updated_at: datetime


class LineError(_Read):
    line: int
    field: str
    reason: str


class IngestResult(_Read):
    """What became of each line of a data point upload."""

    accepted: int
    replaced: int
    unchanged: int
    rejected: int
    errors: list[LineError]
    errors_omitted: int
