"""The two clients: the same methods, one blocking and one for asyncio."""

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from importlib.metadata import version
from types import TracebackType
from typing import Self, TypeVar

import httpx
from pydantic import BaseModel

from handover_client import _api as api
from handover_client._api import Call, Id, Listing
from handover_client._errors import ProblemError
from handover_client._models import (
    DeliveryModel,
    EngagementRead,
    IngestResult,
    MetricRead,
    OrganizationKind,
    OrganizationRead,
    Phase,
    RequisitionRead,
    RequisitionStatus,
)
from handover_client._retry import RETRYABLE_ERRORS, RetryPolicy

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT")

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRY = RetryPolicy()


def _headers(token: str | None) -> dict[str, str]:
    headers = {
        "Accept": "application/json, application/problem+json",
        "User-Agent": f"handover-client/{version('handover-client')}",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class Client:
    """The Handover API, blocking. `base_url` is the gateway's; `token` an API key or an OIDC
    access token. Close it, or use it as a context manager.

    `iter_*` methods walk every page lazily: requests go out as the items are consumed."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(token), timeout=timeout, transport=transport
        )
        self._retry = retry

    def get_organization(self, organization_id: Id) -> OrganizationRead:
        return self._send(api.get_organization(organization_id))

    def iter_organizations(
        self, *, kind: OrganizationKind | None = None, page_size: int | None = None
    ) -> Iterator[OrganizationRead]:
        return self._walk(api.organizations(kind=kind), page_size)

    def get_engagement(self, engagement_id: Id) -> EngagementRead:
        return self._send(api.get_engagement(engagement_id))

    def iter_engagements(
        self,
        *,
        client_id: Id | None = None,
        partner_id: Id | None = None,
        phase: Phase | None = None,
        delivery_model: DeliveryModel | None = None,
        page_size: int | None = None,
    ) -> Iterator[EngagementRead]:
        listing = api.engagements(
            client_id=client_id, partner_id=partner_id, phase=phase, delivery_model=delivery_model
        )
        return self._walk(listing, page_size)

    def get_requisition(self, requisition_id: Id) -> RequisitionRead:
        return self._send(api.get_requisition(requisition_id))

    def iter_requisitions(
        self,
        *,
        engagement_id: Id | None = None,
        status: RequisitionStatus | None = None,
        page_size: int | None = None,
    ) -> Iterator[RequisitionRead]:
        return self._walk(api.requisitions(engagement_id=engagement_id, status=status), page_size)

    def create_requisition(self, engagement_id: Id, title: str, headcount: int) -> RequisitionRead:
        return self._send(api.create_requisition(engagement_id, title, headcount))

    def get_metric(self, key: str) -> MetricRead:
        return self._send(api.get_metric(key))

    def iter_metrics(self, *, page_size: int | None = None) -> Iterator[MetricRead]:
        return self._walk(api.metrics(), page_size)

    def push_points(self, chunks: Iterable[bytes], media_type: str) -> IngestResult:
        """Stream data points (`application/x-ndjson` or `text/csv` bytes, as read from a file)
        to their upload. Sent once, never retried: a stream cannot be replayed."""
        path, headers = api.point_upload(media_type)
        response = self._http.post(path, content=chunks, headers=headers, timeout=None)
        return api.read_upload(response)

    def export_points(
        self,
        *,
        export_format: str = "csv",
        engagement_id: Id | None = None,
        metric_key: str | None = None,
    ) -> Iterator[bytes]:
        """The export of data points as it streams: CSV (re-uploadable) or NDJSON bytes."""
        params = api.point_export(
            export_format=export_format, engagement_id=engagement_id, metric_key=metric_key
        )
        with self._http.stream("GET", api.POINT_EXPORT, params=params, timeout=None) as response:
            if response.is_error:
                response.read()
                raise ProblemError.from_response(response)
            yield from response.iter_bytes()

    def _send(self, call: Call[ModelT]) -> ModelT:
        request = call.request(self._http)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.send(request)
            except RETRYABLE_ERRORS:
                if (wait := self._retry.delay(request, attempt)) is None:
                    raise
            else:
                if (wait := self._retry.delay(request, attempt, response)) is None:
                    return call.read(response)
            time.sleep(wait)

    def _walk(self, listing: Listing[ItemT], page_size: int | None) -> Iterator[ItemT]:
        cursor = None
        while True:
            page = self._send(listing.page(cursor, page_size))
            yield from page.items
            if (cursor := page.next_cursor) is None:
                return

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """The Handover API, for asyncio: `Client`'s methods, awaited; `iter_*` are `async for`."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(token), timeout=timeout, transport=transport
        )
        self._retry = retry

    async def get_organization(self, organization_id: Id) -> OrganizationRead:
        return await self._send(api.get_organization(organization_id))

    def iter_organizations(
        self, *, kind: OrganizationKind | None = None, page_size: int | None = None
    ) -> AsyncIterator[OrganizationRead]:
        return self._walk(api.organizations(kind=kind), page_size)

    async def get_engagement(self, engagement_id: Id) -> EngagementRead:
        return await self._send(api.get_engagement(engagement_id))

    def iter_engagements(
        self,
        *,
        client_id: Id | None = None,
        partner_id: Id | None = None,
        phase: Phase | None = None,
        delivery_model: DeliveryModel | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[EngagementRead]:
        listing = api.engagements(
            client_id=client_id, partner_id=partner_id, phase=phase, delivery_model=delivery_model
        )
        return self._walk(listing, page_size)

    async def get_requisition(self, requisition_id: Id) -> RequisitionRead:
        return await self._send(api.get_requisition(requisition_id))

    def iter_requisitions(
        self,
        *,
        engagement_id: Id | None = None,
        status: RequisitionStatus | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[RequisitionRead]:
        return self._walk(api.requisitions(engagement_id=engagement_id, status=status), page_size)

    async def create_requisition(
        self, engagement_id: Id, title: str, headcount: int
    ) -> RequisitionRead:
        return await self._send(api.create_requisition(engagement_id, title, headcount))

    async def get_metric(self, key: str) -> MetricRead:
        return await self._send(api.get_metric(key))

    def iter_metrics(self, *, page_size: int | None = None) -> AsyncIterator[MetricRead]:
        return self._walk(api.metrics(), page_size)

    async def push_points(self, chunks: AsyncIterable[bytes], media_type: str) -> IngestResult:
        path, headers = api.point_upload(media_type)
        response = await self._http.post(path, content=chunks, headers=headers, timeout=None)
        return api.read_upload(response)

    async def export_points(
        self,
        *,
        export_format: str = "csv",
        engagement_id: Id | None = None,
        metric_key: str | None = None,
    ) -> AsyncIterator[bytes]:
        params = api.point_export(
            export_format=export_format, engagement_id=engagement_id, metric_key=metric_key
        )
        async with self._http.stream(
            "GET", api.POINT_EXPORT, params=params, timeout=None
        ) as response:
            if response.is_error:
                await response.aread()
                raise ProblemError.from_response(response)
            async for chunk in response.aiter_bytes():
                yield chunk

    async def _send(self, call: Call[ModelT]) -> ModelT:
        request = call.request(self._http)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.send(request)
            except RETRYABLE_ERRORS:
                if (wait := self._retry.delay(request, attempt)) is None:
                    raise
            else:
                if (wait := self._retry.delay(request, attempt, response)) is None:
                    return call.read(response)
            await asyncio.sleep(wait)

    async def _walk(self, listing: Listing[ItemT], page_size: int | None) -> AsyncIterator[ItemT]:
        cursor = None
        while True:
            page = await self._send(listing.page(cursor, page_size))
            for item in page.items:
                yield item
            if (cursor := page.next_cursor) is None:
                return

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
