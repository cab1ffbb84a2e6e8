from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_kpi.metrics.schemas import MetricAggregation, MetricUnit


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class SeriesPoint(BaseModel):
    period_start: datetime = Field(description="The first instant of the period, in UTC.")
    value: float = Field(description="The points of the period, combined by the aggregation.")
    count: int = Field(ge=1, description="How many data points the period holds.")


class Series(BaseModel):
    engagement_id: UUID
    metric_key: str
    unit: MetricUnit
    aggregation: MetricAggregation
    points: list[SeriesPoint] = Field(
        min_length=1, description="Periods that hold data, oldest first."
    )


class SeriesSet(BaseModel):
    """One series per engagement and metric asked for that has data in the range, in the
    order asked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "granularity": "month",
                    "series": [
                        {
                            "engagement_id": "0193a5c0-7b1e-7c00-8000-00000000e001",
                            "metric_key": "quality_score",
                            "unit": "percent",
                            "aggregation": "avg",
                            "points": [
                                {
                                    "period_start": "2026-10-01T00:00:00Z",
                                    "value": 92.4,
                                    "count": 31,
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    granularity: Granularity
    series: list[Series]
