import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from handover_kit.auth import Principal
from handover_kit.pagination import PageRequest
from handover_shared.engagements import EngagementRead
from handover_shared.hiring_events import HiringEvent
from handover_shared.problems import FieldError
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import (
    HrisEventNotFound,
    InvalidSignature,
    NotDeadLettered,
    SecretRequired,
    SourceNotFound,
    StaleDelivery,
    UnknownEngagement,
)
from handover_talent.ingestion.adapters import ADAPTERS, Adapter
from handover_talent.ingestion.models import HrisEvent, HrisSource
from handover_talent.ingestion.repository import (
    Deliveries,
    EventRepository,
    SourceKeys,
    SourceRepository,
    Stored,
)
from handover_talent.ingestion.schemas import (
    EventChannel,
    EventStatus,
    HrisSecretRotation,
    HrisSourceCreate,
)
from handover_talent.ingestion.secrets import SecretBox, UnknownSecretKey


class SourceService:
    def __init__(self, sources: SourceRepository, box: SecretBox) -> None:
        self.sources = sources
        self.box = box

    async def create(
        self, data: HrisSourceCreate, principal: Principal, engagements: EngagementsClient
    ) -> tuple[HrisSource, str]:
        """The source, and its signing secret in the clear: the only time it is shown."""
        adapter = ADAPTERS[data.vendor]
        secret = _secret(adapter, data.secret, ["body", "secret"])
        # Asked before the first query, so no connection idles in a transaction meanwhile.
        engagement = await engagements.get_engagement(data.engagement_id)
        if engagement is None or not _may_act_on(principal, engagement):
            raise UnknownEngagement(
                f"There is no engagement {data.engagement_id}.",
                errors=[
                    FieldError(
                        loc=["body", "engagement_id"], msg="No such engagement", type="not_found"
                    )
                ],
            )
        source = await self.sources.add(
            HrisSource(
                engagement_id=engagement.id,
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
                name=data.name,
                vendor=data.vendor,
                secret_sealed=self.box.seal(secret),
            )
        )
        return source, secret

    async def get(self, source_id: UUID) -> HrisSource:
        source = await self.sources.get(source_id)
        if source is None:
            raise SourceNotFound(f"There is no HRIS source {source_id}.")
        return source

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[HrisSource], str | None]:
        return await self.sources.list(page, engagement_id=engagement_id)

    async def rotate(
        self, source_id: UUID, data: HrisSecretRotation, now: datetime
    ) -> tuple[HrisSource, str]:
        """A new secret; the one it replaces stays valid for the overlap, so deliveries the
        vendor signed before it switched still pass. A second rotation within the overlap
        retires the oldest secret at once: at most two are ever valid."""
        source = await self.get(source_id)
        secret = _secret(ADAPTERS[source.vendor], data.secret, ["body", "secret"])
        source.previous_secret_sealed = source.secret_sealed
        source.previous_secret_expires_at = now + timedelta(hours=data.overlap_hours)
        source.secret_sealed = self.box.seal(secret)
        source.secret_rotated_at = now
        await self.sources.session.flush()
        await self.sources.session.refresh(source)
        return source, secret


@dataclass(frozen=True)
class Resealed:
    resealed: int
    already: int
    unreadable: list[UUID]
    """Sources whose secrets no configured key opens: only rotating them mends them."""


async def reseal_secrets(sources: SourceRepository, box: SecretBox) -> Resealed:
    """Seal every source's secrets again under the first configured key, so that the keys
    after it can be retired. A secret that no key opens is left as it is, and reported."""
    resealed = already = 0
    unreadable: list[UUID] = []
    for source in await sources.every_for_update():
        try:
            current = box.reseal(source.secret_sealed)
            previous = None
            if source.previous_secret_sealed is not None:
                previous = box.reseal(source.previous_secret_sealed)
        except UnknownSecretKey:
            unreadable.append(source.id)
            continue
        if current is None and previous is None:
            already += 1
            continue
        source.secret_sealed = current or source.secret_sealed
        source.previous_secret_sealed = previous or source.previous_secret_sealed
        resealed += 1
    await sources.session.flush()
    return Resealed(resealed, already, unreadable)


class IngestionService:
    def __init__(self, sources: SourceRepository, events: EventRepository, box: SecretBox) -> None:
        self.sources = sources
        self.events = events
        self.box = box

    async def receive_batch(self, source_id: UUID, events: list[HiringEvent]) -> list[Stored]:
        source = await self.sources.get(source_id)
        if source is None:
            raise SourceNotFound(f"There is no HRIS source {source_id}.")
        results = []
        for event in events:
            stored = await self.events.store(
                source,
                event_id=event.event_id,
                channel=EventChannel.BATCH,
                action=event.kind,
                kind=event.kind,
                candidate_ref=event.candidate.external_id,
                headers={},
                body=event.model_dump_json().encode(),
            )
            results.append(stored)
        return results

    async def log(
        self,
        source_id: UUID,
        page: PageRequest,
        *,
        status: EventStatus | None,
        kind: str | None,
        received_from: datetime | None,
    ) -> tuple[list[HrisEvent], str | None]:
        if await self.sources.get(source_id) is None:
            raise SourceNotFound(f"There is no HRIS source {source_id}.")
        return await self.events.list(
            page, source_id=source_id, status=status, kind=kind, received_from=received_from
        )

    async def get(self, event_id: UUID) -> HrisEvent:
        event = await self.events.get(event_id)
        if event is None:
            raise HrisEventNotFound(f"There is no HRIS event {event_id}.")
        return event

    async def replay(self, event_id: UUID) -> HrisEvent:
        event = await self.get(event_id)
        replayed = await self.events.replay(event)
        if replayed is None:
            raise NotDeadLettered(
                f"The HRIS event {event_id} is {event.status.value}; only dead events replay."
            )
        return replayed


class SourceKeyCache:
    """Each source's keys as last read, kept for `ttl` seconds, so that most deliveries need no
    read before their insert. Only a rotation changes a source's keys: a delivery signed with a
    new secret fails against the kept keys and is checked again against the stored ones. So
    kept keys can only go on accepting, for at most `ttl` seconds, a previous secret that a
    second rotation has just dropped."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._kept: dict[UUID, tuple[float, SourceKeys]] = {}

    def get(self, source_id: UUID) -> SourceKeys | None:
        kept = self._kept.get(source_id)
        if kept is None or self._clock() - kept[0] > self.ttl:
            return None
        return kept[1]

    def keep(self, keys: SourceKeys) -> None:
        self._kept[keys.id] = (self._clock(), keys)

    def forget(self, source_id: UUID) -> None:
        self._kept.pop(source_id, None)


class DeliveryService:
    """A vendor's delivery: verified against its source's secrets, then stored."""

    def __init__(
        self,
        deliveries: Deliveries,
        box: SecretBox,
        kept: SourceKeyCache,
        wake: Callable[[], None],
    ) -> None:
        self.deliveries = deliveries
        self.box = box
        self.kept = kept
        self.wake = wake
        """Tells the processors that a delivery waits, once it is committed."""

    async def receive(
        self, source_id: UUID, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> Stored | None:
        """Verify a vendor's delivery, then store it; None for a ping, which is not stored."""
        source = self.kept.get(source_id) or await self._read(source_id)
        adapter = ADAPTERS.get(source.vendor)
        if adapter is None:
            raise SourceNotFound(f"The HRIS source {source_id} is of no vendor read here.")
        try:
            adapter.verify(headers, body, self._secrets(source, now), now)
        except StaleDelivery:
            raise
        except InvalidSignature:
            current = await self._read(source_id)
            if current == source:
                raise
            source = current  # rotated since it was kept
            adapter.verify(headers, body, self._secrets(source, now), now)
        delivery = adapter.read(headers, body, now)
        if delivery.ping:
            return None
        event = delivery.event
        ignored = event is None
        stored = await self.deliveries.store(
            source,
            event_id=delivery.event_id,
            action=delivery.action,
            kind=None if event is None else event.kind,
            candidate_ref=None if event is None else event.candidate.external_id,
            status=EventStatus.IGNORED if ignored else EventStatus.RECEIVED,
            reason=f"{source.vendor} {delivery.action!r} changes nothing talent keeps."
            if ignored
            else None,
            processed_at=now if ignored else None,
            headers={name: headers[name] for name in adapter.audit_headers if name in headers},
            body=body,
        )
        if stored.new and not ignored:
            self.wake()
        return stored

    async def _read(self, source_id: UUID) -> SourceKeys:
        source = await self.deliveries.keys(source_id)
        if source is None:
            raise SourceNotFound(f"There is no HRIS source {source_id}.")
        self.kept.keep(source)
        return source

    def _secrets(self, source: SourceKeys, now: datetime) -> list[str]:
        sealed = [source.secret_sealed]
        expires = source.previous_secret_expires_at
        if source.previous_secret_sealed and expires is not None and expires > now:
            sealed.append(source.previous_secret_sealed)
        try:
            return [self.box.open(secret) for secret in sealed]
        except UnknownSecretKey:
            raise InvalidSignature(
                "This source's secret cannot be read with the configured keys; rotate it."
            ) from None


def _secret(adapter: Adapter, given: str | None, loc: list[str | int]) -> str:
    if adapter.issues_secrets:
        if given is not None:
            raise SecretRequired(
                f"{adapter.vendor} secrets are drawn here; leave `secret` out.",
                errors=[FieldError(loc=loc, msg="Must be left out", type="extra_forbidden")],
            )
        return adapter.new_secret()
    if given is None:
        raise SecretRequired(
            f"Copy the secret key set in {adapter.vendor}'s webhook settings into `secret`.",
            errors=[FieldError(loc=loc, msg="Field required", type="missing")],
        )
    return given


def _may_act_on(principal: Principal, engagement: EngagementRead) -> bool:
    return principal.all_tenants or principal.tenant in (
        engagement.client_id,
        engagement.partner_id,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
