from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from handover_shared.hiring_events import HiringEvent
from handover_shared.pagination import Page
from handover_shared.text import Text
from handover_talent.ingestion.adapters import ADAPTERS

_SOURCE_ID = "01936f20-7a11-7c3e-9d42-1b6e8f0a2c55"
_ENGAGEMENT_ID = "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10"
_EVENT_ID = "01936f21-0b5c-7d18-a3e9-4f7c2d1b6a90"
_SOURCE_EXAMPLE: dict[str, Any] = {
    "id": _SOURCE_ID,
    "engagement_id": _ENGAGEMENT_ID,
    "name": "Greenhouse, Manila hiring",
    "vendor": "greenhouse",
    "webhook_path": f"/v1/hris/sources/{_SOURCE_ID}/webhook",
    "secret_rotated_at": "2025-01-16T08:00:00Z",
    "previous_secret_expires_at": None,
    "created_at": "2025-01-16T08:00:00Z",
    "updated_at": "2025-01-16T08:00:00Z",
}


def _known_vendor(vendor: str) -> str:
    if vendor not in ADAPTERS:
        raise ValueError(f"not a vendor this service reads; one of {', '.join(sorted(ADAPTERS))}")
    return vendor


Vendor = Annotated[
    str,
    AfterValidator(_known_vendor),
    Field(
        description="How the source signs and shapes its deliveries.",
        json_schema_extra={"enum": sorted(ADAPTERS)},
    ),
]


class EventStatus(StrEnum):
    RECEIVED = "received"
    """Stored, waiting for the processor."""
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    """A redelivery of an event already received; never applied again."""
    IGNORED = "ignored"
    """Verified and kept, but its action changes nothing talent keeps."""
    DEAD = "dead"
    """Could not be applied; `reason` says why. Replay it once the cause is fixed."""


class EventChannel(StrEnum):
    WEBHOOK = "webhook"
    BATCH = "batch"


class HrisSourceCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": _ENGAGEMENT_ID,
                    "name": "Greenhouse, Manila hiring",
                    "vendor": "greenhouse",
                    "secret": "3f9c1d0b7e2a4c58a6d1e0f7b2c9a4d3",
                }
            ]
        },
    )

    engagement_id: UUID = Field(description="The engagement whose hiring the source reports.")
    name: Text = Field(min_length=1, max_length=200)
    vendor: Vendor
    secret: Text | None = Field(
        default=None,
        min_length=16,
        max_length=500,
        description="The secret key set in the vendor's UI (Greenhouse, Ashby). Left out for "
        "Standard Webhooks, whose secret this service draws and shows once.",
    )


class HrisSourceRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [_SOURCE_EXAMPLE]},
    )

    id: UUID
    engagement_id: UUID
    name: str
    vendor: str = Field(description="How the source signs and shapes its deliveries.")
    webhook_path: str = Field(description="Where the vendor posts its signed deliveries.")
    secret_rotated_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret before the last rotation is still accepted."
    )
    created_at: datetime
    updated_at: datetime


class HrisSourceCreated(HrisSourceRead):
    """A source just registered, with its signing secret: shown this once, never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SOURCE_EXAMPLE,
                    "vendor": "standard_webhooks",
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                }
            ]
        }
    )

    secret: str = Field(description="The signing secret. Store it now: it is not shown again.")


class HrisSourcePage(Page[HrisSourceRead]):
    """A page of HRIS sources."""


class HrisSecretRotation(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"overlap_hours": 24}]},
    )

    secret: Text | None = Field(
        default=None,
        min_length=16,
        max_length=500,
        description="The new secret key set in the vendor's UI; left out for Standard Webhooks.",
    )
    overlap_hours: float = Field(
        default=24,
        ge=0,
        le=720,
        description="How long the secret being replaced stays valid beside the new one, so "
        "deliveries signed before the vendor switched still pass.",
    )


class HrisSecretRotated(BaseModel):
    """The source's new signing secret: shown this once, never again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source_id": _SOURCE_ID,
                    "secret": "whsec_plJ3nmyCDGBKInavdOK15jsl",
                    "previous_secret_expires_at": "2025-01-17T08:00:00Z",
                }
            ]
        }
    )

    source_id: UUID
    secret: str = Field(description="The new signing secret. Store it now: it is not shown again.")
    previous_secret_expires_at: datetime = Field(
        description="Until then, the secret it replaces is accepted too."
    )


class HrisEventRead(BaseModel):
    """What arrived from a source and what became of it. Never the body: it holds a
    candidate's personal data."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": _EVENT_ID,
                    "source_id": _SOURCE_ID,
                    "event_id": "8d0e8c1a-5c5b-4b8e-9a0e-2b1f3c4d5e6f",
                    "channel": "webhook",
                    "action": "hire_candidate",
                    "kind": "candidate.hired",
                    "status": "dead",
                    "reason": "No requisition has the external job id 4012.",
                    "duplicate_of": None,
                    "received_at": "2025-03-01T09:00:01Z",
                    "processed_at": "2025-03-01T09:00:01Z",
                    "attempts": 1,
                }
            ]
        },
    )

    id: UUID = Field(description="What the replay endpoint takes.")
    source_id: UUID
    event_id: str = Field(description="The source's id of the event, the same on its retries.")
    channel: EventChannel
    action: str = Field(description="The vendor's name for what happened.")
    kind: str | None = Field(description="The canonical event it maps onto; null if none.")
    status: EventStatus
    reason: str | None = Field(description="Why it is dead or ignored.")
    duplicate_of: UUID | None = Field(description="For a duplicate: the event it repeats.")
    received_at: datetime
    processed_at: datetime | None
    attempts: int = Field(description="How many times the processor took it up.")


class HrisEventPage(Page[HrisEventRead]):
    """A page of a source's events, oldest first."""


class HrisEventBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "kind": "candidate.hired",
                            "event_id": "evt_2025_03_01_0001",
                            "occurred_at": "2025-03-01T09:00:00Z",
                            "candidate": {"external_id": "cand-881"},
                            "application_id": "app-5521",
                            "job_id": "job-4012",
                            "start_date": "2025-04-01",
                        }
                    ]
                }
            ]
        },
    )

    events: list[HiringEvent] = Field(
        min_length=1,
        max_length=1000,
        description="Canonical events; each `event_id` is its dedupe key within the source.",
    )


class HrisBatchItem(BaseModel):
    event_id: str
    id: UUID = Field(description="The stored event, as the event log shows it.")
    status: EventStatus = Field(description="`received`, or `duplicate` for one seen before.")


class HrisBatchResult(BaseModel):
    """One result per event, in the order they were sent."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {"event_id": "evt_2025_03_01_0001", "id": _EVENT_ID, "status": "received"}
                    ]
                }
            ]
        }
    )

    results: list[HrisBatchItem]


class HrisReceipt(BaseModel):
    """The answer to a vendor's delivery."""

    id: UUID | None = None
    event_id: str
    status: EventStatus | None = None
