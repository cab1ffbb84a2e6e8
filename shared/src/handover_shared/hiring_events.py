"""The canonical hiring event: what every HRIS/ATS delivery becomes, whatever its vendor.

A vendor adapter maps a native delivery onto one of these; the batch endpoint takes them
as they are. `event_id` is the source's own id of the delivery, stable across its retries:
with the source, it is what makes a redelivery change nothing. `occurred_at` is when it
happened at the source, so that events applied out of order converge to the same state.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from handover_shared.text import Text

ExternalId = Annotated[Text, Field(min_length=1, max_length=200)]
"""An id in the source system: a candidate's, an application's, a job's."""


class ApplicationStage(StrEnum):
    SOURCED = "sourced"
    SCREENING = "screening"
    INTERVIEW = "interview"
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Candidate(BaseModel):
    """The person, as little of them as hiring needs. Never logged; erasable on request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    external_id: ExternalId
    name: Text | None = Field(default=None, max_length=200)
    email: Text | None = Field(default=None, max_length=320)


def _kind_required(schema: dict[str, Any]) -> None:
    """`kind` picks the event's schema, so a sender must state it; Python code building an
    event leaves it to its default."""
    required = schema.setdefault("required", [])
    if "kind" not in required:
        required.insert(0, "kind")


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_kind_required)

    event_id: ExternalId = Field(description="The source's id of this event; stable on retries.")
    occurred_at: AwareDatetime = Field(description="When it happened at the source.")
    candidate: Candidate


class _ApplicationEvent(_Event):
    application_id: ExternalId = Field(description="The application in the source system.")
    job_id: ExternalId = Field(
        description="The job in the source system; a requisition names it as `external_job_id`."
    )


class ApplicationCreated(_ApplicationEvent):
    kind: Literal["application.created"] = "application.created"
    stage: ApplicationStage = ApplicationStage.SOURCED


class StageChanged(_ApplicationEvent):
    kind: Literal["application.stage_changed"] = "application.stage_changed"
    stage: ApplicationStage


class OfferCreated(_ApplicationEvent):
    kind: Literal["offer.created"] = "offer.created"
    start_date: date | None = None


class OfferAccepted(_ApplicationEvent):
    kind: Literal["offer.accepted"] = "offer.accepted"
    start_date: date


class OfferDeclined(_ApplicationEvent):
    kind: Literal["offer.declined"] = "offer.declined"


class CandidateHired(_ApplicationEvent):
    kind: Literal["candidate.hired"] = "candidate.hired"
    start_date: date


class CandidateRejected(_ApplicationEvent):
    kind: Literal["candidate.rejected"] = "candidate.rejected"
    reason: Text | None = Field(default=None, max_length=500)


class CandidateWithdrew(_ApplicationEvent):
    kind: Literal["candidate.withdrew"] = "candidate.withdrew"


class HireReversed(_ApplicationEvent):
    """The source took a hire back (Greenhouse `unhire_candidate`)."""

    kind: Literal["candidate.unhired"] = "candidate.unhired"


class EmployeeOnboarded(_Event):
    """The team member is matched by the candidate's `external_id` within the source."""

    kind: Literal["employee.onboarded"] = "employee.onboarded"
    completed_on: date


class EmployeeTerminated(_Event):
    """The team member is matched by the candidate's `external_id` within the source."""

    kind: Literal["employee.terminated"] = "employee.terminated"
    terminated_on: date
    voluntary: bool
    reason: Text | None = Field(default=None, max_length=500)


HiringEvent = Annotated[
    ApplicationCreated
    | StageChanged
    | OfferCreated
    | OfferAccepted
    | OfferDeclined
    | CandidateHired
    | CandidateRejected
    | CandidateWithdrew
    | HireReversed
    | EmployeeOnboarded
    | EmployeeTerminated,
    Field(discriminator="kind"),
]
