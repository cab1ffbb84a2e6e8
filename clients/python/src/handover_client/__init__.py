"""A typed client of the Handover API, and the `handover` command line built on it.

with Client("http://127.0.0.1:8000", token=api_key) as handover:
    for engagement in handover.iter_engagements(phase=Phase.OPERATE):
        print(engagement.name)
"""

from handover_client._client import DEFAULT_URL, AsyncClient, Client
from handover_client._errors import ProblemError
from handover_client._models import (
    DeliveryModel,
    EngagementRead,
    IngestResult,
    LineError,
    MetricAggregation,
    MetricDirection,
    MetricRead,
    MetricUnit,
    OrganizationKind,
    OrganizationRead,
    Page,
    Phase,
    RequisitionRead,
    RequisitionStatus,
)
from handover_client._retry import RetryPolicy
from handover_shared.problems import FieldError, Problem

__all__ = [
    "DEFAULT_URL",
    "AsyncClient",
    "Client",
    "DeliveryModel",
    "EngagementRead",
    "FieldError",
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
    "Problem",
    "ProblemError",
    "RequisitionRead",
    "RequisitionStatus",
    "RetryPolicy",
]
