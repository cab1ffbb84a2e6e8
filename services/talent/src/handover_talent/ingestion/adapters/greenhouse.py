"""Greenhouse's own webhooks.

`Signature: sha256 <hex>` is the HMAC-SHA256 of the whole raw body with the secret key set in
Greenhouse's UI. Greenhouse escapes unicode before signing, so only the bytes as received
verify: nothing is re-serialised. `Greenhouse-Event-ID` is the dedupe key. The body is
`{"action": ..., "payload": {...}}`; application actions carry `payload.application` (with its
candidate and jobs), offer actions a flat offer.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import AliasChoices, AwareDatetime, Field

from handover_shared.hiring_events import (
    ApplicationCreated,
    ApplicationStage,
    Candidate,
    CandidateHired,
    CandidateRejected,
    HireReversed,
    HiringEvent,
    OfferAccepted,
    OfferCreated,
    OfferDeclined,
    StageChanged,
)
from handover_talent.ingestion.adapters.base import (
    Adapter,
    Delivery,
    Lenient,
    missing,
    parse,
    require_hex_signature,
    validate,
)

APPLICATION_ACTIONS = frozenset(
    {
        "new_candidate_application",
        "candidate_stage_change",
        "hire_candidate",
        "reject_candidate",
        "unhire_candidate",
    }
)
OFFER_ACTIONS = frozenset({"offer_created", "offer_updated"})

# Greenhouse stages are named per job; these words place one on our pipeline.
_STAGE_WORDS: tuple[tuple[tuple[str, ...], ApplicationStage], ...] = (
    (("offer",), ApplicationStage.OFFER),
    (("hired",), ApplicationStage.HIRED),
    (("screen", "review", "application"), ApplicationStage.SCREENING),
    (("sourced", "prospect", "lead"), ApplicationStage.SOURCED),
)

_Id = int | str


class _Body(Lenient):
    action: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)


class _Email(Lenient):
    value: str


class _Candidate(Lenient):
    id: _Id
    first_name: str | None = None
    last_name: str | None = None
    email_addresses: list[_Email] = Field(default_factory=list)


class _Job(Lenient):
    id: _Id


class _Stage(Lenient):
    name: str


class _Named(Lenient):
    name: str | None = None


class _Offer(Lenient):
    starts_at: date | None = None


class _Application(Lenient):
    id: _Id
    candidate: _Candidate
    jobs: list[_Job] = Field(min_length=1)
    current_stage: _Stage | None = None
    offer: _Offer | None = None
    rejection_reason: _Named | None = None
    last_activity_at: AwareDatetime | None = None
    rejected_at: AwareDatetime | None = None


class _ApplicationPayload(Lenient):
    application: _Application


class _OfferPayload(Lenient):
    id: _Id
    application_id: _Id
    job_id: _Id
    candidate_id: _Id
    status: str | None = Field(
        default=None, validation_alias=AliasChoices("offer_status", "status")
    )
    start_date: date | None = Field(
        default=None, validation_alias=AliasChoices("start_date", "starts_at")
    )
    updated_at: AwareDatetime | None = None
    created_at: AwareDatetime | None = None


class Greenhouse(Adapter):
    vendor = "greenhouse"
    audit_headers = frozenset({"greenhouse-event-id", "user-agent", "content-type"})

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: datetime
    ) -> None:
        require_hex_signature(headers.get("signature", ""), " ", body, secrets)

    def interpret(self, headers: Mapping[str, str], body: bytes, received_at: datetime) -> Delivery:
        parsed = parse(_Body, body)
        if parsed.action == "ping":
            return Delivery(
                event_id=headers.get("greenhouse-event-id", ""),
                action="ping",
                event=None,
                ping=True,
            )
        event_id = headers.get("greenhouse-event-id")
        if not event_id:
            raise missing(
                "Greenhouse names each delivery in the Greenhouse-Event-ID header.",
                ["header", "greenhouse-event-id"],
            )
        event: HiringEvent | None = None
        if parsed.action in APPLICATION_ACTIONS:
            application = validate(_ApplicationPayload, parsed.payload, ["body", "payload"])
            event = _application_event(
                parsed.action, event_id, application.application, received_at
            )
        elif parsed.action in OFFER_ACTIONS:
            offer = validate(_OfferPayload, parsed.payload, ["body", "payload"])
            event = _offer_event(parsed.action, event_id, offer, received_at)
        return Delivery(event_id=event_id, action=parsed.action, event=event)


def _application_event(
    action: str, event_id: str, application: _Application, received_at: datetime
) -> HiringEvent:
    common: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": application.last_activity_at or received_at,
        "candidate": _candidate(application.candidate),
        "application_id": str(application.id),
        "job_id": str(application.jobs[0].id),
    }
    stage = _stage(application.current_stage)
    match action:
        case "new_candidate_application":
            return ApplicationCreated(**common, stage=stage or ApplicationStage.SOURCED)
        case "candidate_stage_change":
            return StageChanged(**common, stage=stage or ApplicationStage.INTERVIEW)
        case "hire_candidate":
            start = application.offer.starts_at if application.offer else None
            if start is None:
                raise missing(
                    "A hire carries its offer's start date.",
                    ["body", "payload", "application", "offer", "starts_at"],
                )
            return CandidateHired(**common, start_date=start)
        case "reject_candidate":
            reason = application.rejection_reason.name if application.rejection_reason else None
            if application.rejected_at:
                common["occurred_at"] = application.rejected_at
            return CandidateRejected(**common, reason=reason)
        case _:
            return HireReversed(**common)


def _offer_event(
    action: str, event_id: str, offer: _OfferPayload, received_at: datetime
) -> HiringEvent:
    common: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": offer.updated_at or offer.created_at or received_at,
        "candidate": Candidate(external_id=str(offer.candidate_id)),
        "application_id": str(offer.application_id),
        "job_id": str(offer.job_id),
    }
    status = (offer.status or "").lower()
    if action == "offer_updated" and status == "accepted":
        if offer.start_date is None:
            raise missing(
                "An accepted offer carries its start date.", ["body", "payload", "start_date"]
            )
        return OfferAccepted(**common, start_date=offer.start_date)
    if action == "offer_updated" and status in {"rejected", "declined"}:
        return OfferDeclined(**common)
    return OfferCreated(**common, start_date=offer.start_date)


def _candidate(candidate: _Candidate) -> Candidate:
    name = " ".join(part for part in (candidate.first_name, candidate.last_name) if part)
    email = candidate.email_addresses[0].value if candidate.email_addresses else None
    return Candidate(external_id=str(candidate.id), name=name or None, email=email)


def _stage(stage: _Stage | None) -> ApplicationStage | None:
    if stage is None:
        return None
    name = stage.name.lower()
    for words, mapped in _STAGE_WORDS:
        if any(word in name for word in words):
            return mapped
    return ApplicationStage.INTERVIEW
