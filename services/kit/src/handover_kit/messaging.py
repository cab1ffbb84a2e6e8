"""Facts between services, as each service has them: an outbox for what it tells, an inbox for
what it is told, the endpoint that receives, and the admin endpoints for dead letters.

A service creates one `Messaging` next to its `Table` base (so that its migrations see both
tables), states facts with `publisher(session)`, and lists in its `ServiceSpec` the `Handler`s
of the facts it applies. `create_service_app` does the rest.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any, Generic
from uuid import UUID

import structlog
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.auth import CurrentPrincipal, ServiceCaller, require
from handover_kit.db import ALL_TENANTS, Database, Session
from handover_kit.errors import (
    Forbidden,
    NotFound,
    UnprocessableContent,
    problem_responses,
)
from handover_kit.inbox import Inbox
from handover_kit.outbox import Outbox, OutboxRecord, Publisher
from handover_kit.pagination import PageParams
from handover_shared.auth import Scope
from handover_shared.messages import (
    MESSAGES_PATH,
    Envelope,
    MessageType,
    PayloadModelT,
    Receipt,
)
from handover_shared.pagination import Page
from handover_shared.problems import FieldError

log = structlog.get_logger(__name__)

TIDY_EVERY_SECONDS = 3600.0

OPERATIONS_TAG = {
    "name": "dead-letters",
    "description": "Facts between services that stopped being retried, and their replay: "
    "running the platform.",
}


@dataclass(frozen=True)
class Handler(Generic[PayloadModelT]):
    """How a receiver applies one kind of fact, in the transaction that records it as received."""

    kind: MessageType[PayloadModelT]
    apply: Callable[[AsyncSession, Envelope[PayloadModelT]], Awaitable[None]]


class Messaging:
    """One service's outbox and inbox, in its schema."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox = Outbox(metadata)
        self.inbox = Inbox(metadata)

    def publisher(self, session: AsyncSession, *, source: str) -> Publisher:
        return Publisher(self.outbox, session, source=source)

    async def tidy(
        self, db: Database, *, delivered_for: timedelta, received_for: timedelta
    ) -> None:
        """Forget facts delivered, and ids of facts received, longer ago than their retention."""
        async with db.session(ALL_TENANTS) as session, session.begin():
            delivered = await self.outbox.purge_delivered(session, delivered_for)
            received = await self.inbox.purge(session, received_for)
        log.info("messaging_tidied", delivered_purged=delivered, received_purged=received)

    async def keep_tidy(
        self, db: Database, *, delivered_for: timedelta, received_for: timedelta
    ) -> None:
        """`tidy` every hour, until cancelled. Replicas that run it at once only repeat it."""
        while True:
            try:
                await self.tidy(db, delivered_for=delivered_for, received_for=received_for)
            except Exception:  # the database may be away; the next round catches up
                log.warning("messaging_tidy_failed", exc_info=True)
            await asyncio.sleep(TIDY_EVERY_SECONDS)

    def routers(self, service: str, handlers: Sequence[Handler[Any]]) -> list[APIRouter]:
        return [
            receiver_router(self.inbox, handlers),
            dead_letter_router(service, self.outbox),
        ]


class UnknownMessage(UnprocessableContent):
    type = "/problems/unknown-message"
    title = "Unknown Message"


def receiver_router(inbox: Inbox, handlers: Sequence[Handler[Any]]) -> APIRouter:
    """`POST /internal/v1/messages`: apply a fact once, however often it is delivered.

    Answers 200 to a first delivery and to every redelivery alike, so the sender stops
    retrying; 422 to a fact this service cannot read, which the sender dead-letters."""
    by_kind: Mapping[tuple[str, int], Handler[Any]] = {
        (handler.kind.name, handler.kind.version): handler for handler in handlers
    }
    router = APIRouter(prefix=MESSAGES_PATH, include_in_schema=False, dependencies=[ServiceCaller])

    @router.post("", responses=problem_responses(401, 403, 422))
    async def receive_message(
        envelope: Envelope[dict[str, Any]], session: Session, principal: CurrentPrincipal
    ) -> Receipt:
        if principal.id != f"service:{envelope.source}":
            raise Forbidden("A service tells only its own facts.")
        handler = by_kind.get((envelope.message_type, envelope.version))
        if handler is None:
            raise UnknownMessage(
                f"This service applies no {envelope.message_type!r} version {envelope.version}.",
                message_type=envelope.message_type,
                version=envelope.version,
            )
        try:
            payload = handler.kind.payload.model_validate(envelope.payload)
        except ValidationError as exc:
            raise UnprocessableContent(
                "The payload does not match its message type.",
                errors=[
                    FieldError(
                        loc=["body", "payload", *error["loc"]], msg=error["msg"], type=error["type"]
                    )
                    for error in exc.errors(include_input=False, include_url=False)
                ],
            ) from None
        new = await inbox.accept_once(
            session,
            envelope.message_id,
            message_type=envelope.message_type,
            source=envelope.source,
        )
        if new:
            await handler.apply(session, envelope.model_copy(update={"payload": payload}))
        return Receipt(message_id=envelope.message_id, duplicate=not new)

    return router


class DeadLetter(BaseModel):
    """A fact this service could not deliver, kept until it is replayed."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f13-a041-7d26-b503-2bac4d6e8f70",
                    "message_id": "01936f13-a041-7d26-b503-2bac4d6e8f71",
                    "message_type": "talent.requisition_opened",
                    "version": 1,
                    "aggregate_type": "requisition",
                    "aggregate_id": "01936f10-4c1e-7a93-b2d8-9e7f1a6c5b30",
                    "destination": "kpi",
                    "payload": {
                        "requisition_id": "01936f10-4c1e-7a93-b2d8-9e7f1a6c5b30",
                        "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                        "client_id": "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20",
                        "partner_id": "01936f0e-9b41-7d10-a2c4-5e6f7a8b9c01",
                        "title": "Senior claims analyst",
                        "headcount": 2,
                        "opened_at": "2025-01-16T08:00:00Z",
                    },
                    "occurred_at": "2025-01-16T08:00:00Z",
                    "attempts": 10,
                    "last_error": "HTTP 503: The database is unreachable; try again shortly.",
                    "dead_at": "2025-01-16T09:12:40Z",
                }
            ]
        },
    )

    id: UUID = Field(description="What the replay endpoint takes.")
    message_id: UUID
    message_type: str
    version: int
    aggregate_type: str
    aggregate_id: UUID
    destination: str = Field(description="The service the fact is for.")
    payload: Any
    occurred_at: datetime
    attempts: int
    last_error: str | None = Field(description="Why the last attempt failed.")
    dead_at: datetime | None = Field(description="When retrying stopped; null once replayed.")


class DeadLetterPage(Page[DeadLetter]):
    """A page of dead letters, oldest first."""


class DeadLetterNotFound(NotFound):
    type = "/problems/dead-letter-not-found"
    title = "Dead Letter Not Found"


def dead_letter_router(service: str, outbox: Outbox) -> APIRouter:
    """List and replay the service's dead letters; platform administrators only.

    A dead letter blocks the later facts about its aggregate, so that no receiver applies a
    fact without those before it: replaying it releases them too."""
    router = APIRouter(
        prefix=f"/v1/admin/{service}/dead-letters",
        tags=[OPERATIONS_TAG["name"]],
        dependencies=[require(Scope.PLATFORM_ADMIN)],
    )

    async def list_dead_letters(session: Session, page: PageParams) -> DeadLetterPage:
        records, cursor = await outbox.dead_letters(session, page)
        return DeadLetterPage(items=[_read(record) for record in records], next_cursor=cursor)

    async def replay_dead_letter(
        session: Session,
        dead_letter_id: Annotated[UUID, Path(description="The dead letter's `id`.")],
    ) -> DeadLetter:
        record = await outbox.replay(session, dead_letter_id)
        if record is None:
            raise DeadLetterNotFound(f"There is no dead letter {dead_letter_id}.")
        return _read(record)

    # Named per service: the gateway merges the three documents, and operation ids stay unique.
    router.add_api_route(
        "",
        list_dead_letters,
        methods=["GET"],
        name=f"list_{service}_dead_letters",
        summary=f"List the {service} service's dead letters",
        description="Facts the service stopped retrying, oldest first.",
        responses=problem_responses(401, 403, 422),
    )
    router.add_api_route(
        "/{dead_letter_id}/replay",
        replay_dead_letter,
        methods=["POST"],
        status_code=HTTPStatus.ACCEPTED,
        name=f"replay_{service}_dead_letter",
        summary=f"Send one of the {service} service's dead letters again",
        description="Queues the fact again with a fresh count of attempts; the later facts about "
        "its aggregate, held behind it, follow once it is delivered.",
        responses=problem_responses(401, 403, 404, 422),
    )
    return router


def _read(record: OutboxRecord) -> DeadLetter:
    return DeadLetter.model_validate(record)
