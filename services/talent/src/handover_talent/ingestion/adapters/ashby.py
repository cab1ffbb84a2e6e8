"""Ashby's own webhooks.

`Ashby-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw body with the secret token set in
Ashby's admin. The body is `{"action", "webhookActionId", "data"}`; `webhookActionId` is the
same on every retry, so it is the dedupe key. Ashby stops retrying on 401, 403, 404, 405 and 410.
"""

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, Field

from handover_shared.hiring_events import (
    ApplicationCreated,
    ApplicationStage,
    Candidate,
    CandidateHired,
    CandidateRejected,
    HiringEvent,
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

# Ashby's interview stage types, in its pipeline's order.
_STAGE_TYPES = {
    "Lead": ApplicationStage.SOURCED,
    "PreInterviewScreen": ApplicationStage.SCREENING,
    "Active": ApplicationStage.INTERVIEW,
    "Offer": ApplicationStage.OFFER,
    "Hired": ApplicationStage.HIRED,
    "Archived": ApplicationStage.REJECTED,
}

_Id = str


class _Body(Lenient):
    action: str = Field(min_length=1, max_length=100)
    webhook_action_id: str | None = Field(
        default=None, alias="webhookActionId", min_length=1, max_length=200
    )
    data: dict[str, Any] = Field(default_factory=dict)


class _Email(Lenient):
    value: str


class _Candidate(Lenient):
    id: _Id
    name: str | None = None
    primary_email_address: _Email | None = Field(default=None, alias="primaryEmailAddress")


class _Job(Lenient):
    id: _Id


class _Stage(Lenient):
    title: str | None = None
    type: str | None = None


class _Reason(Lenient):
    text: str | None = None


class _Application(Lenient):
    id: _Id
    candidate: _Candidate
    job: _Job
    current_interview_stage: _Stage | None = Field(default=None, alias="currentInterviewStage")
    archive_reason: _Reason | None = Field(default=None, alias="archiveReason")
    updated_at: AwareDatetime | None = Field(default=None, alias="updatedAt")


class _OfferVersion(Lenient):
    start_date: date | None = Field(default=None, alias="startDate")


class _Offer(Lenient):
    latest_version: _OfferVersion | None = Field(default=None, alias="latestVersion")


class _ApplicationData(Lenient):
    application: _Application
    offer: _Offer | None = None


class Ashby(Adapter):
    vendor = "ashby"
    audit_headers = frozenset({"user-agent", "content-type"})

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: datetime
    ) -> None:
        require_hex_signature(headers.get("ashby-signature", ""), "=", body, secrets)

    def interpret(self, headers: Mapping[str, str], body: bytes, received_at: datetime) -> Delivery:
        parsed = parse(_Body, body)
        if parsed.action == "ping":
            return Delivery(
                event_id=parsed.webhook_action_id or "", action="ping", event=None, ping=True
            )
        if not parsed.webhook_action_id:
            raise missing(
                "Ashby names each delivery by webhookActionId.", ["body", "webhookActionId"]
            )
        event_id = parsed.webhook_action_id
        event: HiringEvent | None = None
        if parsed.action in {"applicationSubmit", "candidateStageChange", "candidateHire"}:
            data = validate(_ApplicationData, parsed.data, ["body", "data"])
            event = _event(parsed.action, event_id, data, received_at)
        return Delivery(event_id=event_id, action=parsed.action, event=event)


def _event(
    action: str, event_id: str, data: _ApplicationData, received_at: datetime
) -> HiringEvent:
    application = data.application
    email = application.candidate.primary_email_address
    common: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": application.updated_at or received_at,
        "candidate": Candidate(
            external_id=application.candidate.id,
            name=application.candidate.name or None,
            email=email.value if email else None,
        ),
        "application_id": application.id,
        "job_id": application.job.id,
    }
    stage = application.current_interview_stage
    mapped = _STAGE_TYPES.get(stage.type or "") if stage else None
    if action == "candidateHire":
        version = data.offer.latest_version if data.offer else None
        if version is None or version.start_date is None:
            raise missing(
                "A hire carries its accepted offer's start date.",
                ["body", "data", "offer", "latestVersion", "startDate"],
            )
        return CandidateHired(**common, start_date=version.start_date)
    if action == "applicationSubmit":
        return ApplicationCreated(**common, stage=mapped or ApplicationStage.SOURCED)
    if mapped is ApplicationStage.REJECTED:
        reason = application.archive_reason.text if application.archive_reason else None
        return CandidateRejected(**common, reason=reason)
    return StageChanged(**common, stage=mapped or ApplicationStage.INTERVIEW)
