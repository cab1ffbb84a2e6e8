"""Every operation once: the request to send and the model its answer is read into. The two
clients differ only in how they send."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel

from handover_client._errors import ProblemError
from handover_client._models import (
    DeliveryModel,
    EngagementRead,
    IngestResult,
    MetricRead,
    OrganizationKind,
    OrganizationRead,
    Page,
    Phase,
    RequisitionRead,
    RequisitionStatus,
)

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT")

Id = UUID | str


@dataclass(frozen=True)
class Call(Generic[ModelT]):
    method: str
    path: str
    model: type[ModelT]
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        return http.build_request(self.method, self.path, params=self.params, json=self.body)

    def read(self, response: httpx.Response) -> ModelT:
        if response.is_error:
            raise ProblemError.from_response(response)
        return self.model.model_validate_json(response.content)


@dataclass(frozen=True)
class Listing(Generic[ItemT]):
    """A list operation with its filters; each page of it is one call."""

    path: str
    page_model: type[Page[ItemT]]
    filters: Mapping[str, str]

    def page(self, cursor: str | None, size: int | None) -> Call[Page[ItemT]]:
        params = dict(self.filters)
        if size is not None:
            params["limit"] = str(size)
        if cursor is not None:
            params["cursor"] = cursor
        return Call("GET", self.path, self.page_model, params)


def _path(collection: str, key: Id) -> str:
    # A key is one path segment, whatever it holds.
    return f"{collection}/{quote(str(key), safe='')}"


def _query(**filters: object) -> dict[str, str]:
    return {name: str(value) for name, value in filters.items() if value is not None}


def get_organization(organization_id: Id) -> Call[OrganizationRead]:
    return Call("GET", _path("/v1/organizations", organization_id), OrganizationRead)


def organizations(*, kind: OrganizationKind | None) -> Listing[OrganizationRead]:
    return Listing("/v1/organizations", Page[OrganizationRead], _query(kind=kind))


def get_engagement(engagement_id: Id) -> Call[EngagementRead]:
    return Call("GET", _path("/v1/engagements", engagement_id), EngagementRead)


def engagements(
    *,
    client_id: Id | None,
    partner_id: Id | None,
    phase: Phase | None,
    delivery_model: DeliveryModel | None,
) -> Listing[EngagementRead]:
    filters = _query(
        client_id=client_id, partner_id=partner_id, phase=phase, delivery_model=delivery_model
    )
    return Listing("/v1/engagements", Page[EngagementRead], filters)


def get_requisition(requisition_id: Id) -> Call[RequisitionRead]:
    return Call("GET", _path("/v1/requisitions", requisition_id), RequisitionRead)


def requisitions(
    *, engagement_id: Id | None, status: RequisitionStatus | None
) -> Listing[RequisitionRead]:
    filters = _query(engagement_id=engagement_id, status=status)
    return Listing("/v1/requisitions", Page[RequisitionRead], filters)


def create_requisition(engagement_id: Id, title: str, headcount: int) -> Call[RequisitionRead]:
    body = {"engagement_id": str(engagement_id), "title": title, "headcount": headcount}
    return Call("POST", "/v1/requisitions", RequisitionRead, body=body)


POINT_UPLOADS = {
    "application/x-ndjson": "/v1/data-points/ndjson",
    "text/csv": "/v1/data-points/csv",
}
"""Per media type, the upload that streams such a body."""
POINT_EXPORT = "/v1/data-points/export"


def point_upload(media_type: str) -> tuple[str, dict[str, str]]:
    """Where a body of data points goes, and its headers."""
    return POINT_UPLOADS[media_type], {"Content-Type": media_type}


def point_export(
    *, export_format: str, engagement_id: Id | None, metric_key: str | None
) -> dict[str, str]:
    return _query(format=export_format, engagement_id=engagement_id, metric_key=metric_key)


def read_upload(response: httpx.Response) -> IngestResult:
    if response.is_error:
        raise ProblemError.from_response(response)
    return IngestResult.model_validate_json(response.content)


def get_metric(key: str) -> Call[MetricRead]:
    return Call("GET", _path("/v1/metrics", key), MetricRead)


def metrics() -> Listing[MetricRead]:
    return Listing("/v1/metrics", Page[MetricRead], {})
