"""Facts one service tells another: the envelope every message travels in.

Delivery is at least once, so a receiver applies a message only if its `message_id` is new
to it. Messages of one aggregate arrive in the order they were stated.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PayloadT = TypeVar("PayloadT")


class Envelope(BaseModel, Generic[PayloadT]):
    """One fact about one aggregate, with what a receiver needs to apply it exactly once.

    `version` is the version of the payload's schema for this `message_type`. A receiver that
    does not know a version answers 422; the sender then holds the message, and the later ones
    of its aggregate, until it is replayed. Unknown members are ignored, so the envelope can
    grow without breaking receivers of the previous release."""

    model_config = ConfigDict(frozen=True)

    message_id: UUID = Field(
        default_factory=uuid4, description="What receivers deduplicate on; stable across retries."
    )
    message_type: str = Field(min_length=1, max_length=200, examples=["engagement.phase_changed"])
    version: int = Field(ge=1, description="The version of the payload's schema.")
    source: str = Field(
        min_length=1, max_length=63, description="The service that states the fact."
    )
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    aggregate_id: UUID = Field(
        description="The thing the fact is about; messages of one aggregate are delivered in order."
    )
    payload: PayloadT


MESSAGES_PATH = "/internal/v1/messages"
"""Where every service receives the facts other services tell it."""

PayloadModelT = TypeVar("PayloadModelT", bound=BaseModel)


@dataclass(frozen=True)
class MessageType(Generic[PayloadModelT]):
    """A kind of fact at one version of its payload's schema. A change a receiver of the
    previous version could not read is a new `MessageType` with the next version, and
    receivers accept both until no sender states the old one."""

    name: str
    version: int
    payload: type[PayloadModelT]
    aggregate_type: str
    """What the fact is about; facts about one aggregate are applied in order."""

    def envelope(
        self, payload: PayloadModelT, *, source: str, aggregate_id: UUID
    ) -> Envelope[PayloadModelT]:
        return Envelope(
            message_type=self.name,
            version=self.version,
            source=source,
            aggregate_id=aggregate_id,
            payload=payload,
        )


class Receipt(BaseModel):
    """A receiver's answer to a delivered message."""

    message_id: UUID
    duplicate: bool = Field(
        description="True if the message had been applied before; this delivery changed nothing."
    )
