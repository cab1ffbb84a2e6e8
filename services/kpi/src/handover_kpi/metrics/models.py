from datetime import datetime

from sqlmodel import Field

from handover_kit.db import text_enum, timestamp_field
from handover_kpi.db import Table
from handover_kpi.metrics.schemas import (
    KEY_MAX_LENGTH,
    MetricAggregation,
    MetricDirection,
    MetricUnit,
)


class Metric(Table, table=True):
    __tablename__ = "metrics"

    key: str = Field(primary_key=True, max_length=KEY_MAX_LENGTH)
    name: str = Field(max_length=200)
    description: str = Field(max_length=1000)
    unit: MetricUnit = Field(sa_type=text_enum(MetricUnit))
    aggregation: MetricAggregation = Field(sa_type=text_enum(MetricAggregation))
    direction: MetricDirection = Field(sa_type=text_enum(MetricDirection))
    built_in: bool = False
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
