"""What the talent service tells other services: hiring facts, and answers to the gates."""

from datetime import date
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from handover_shared.messages import MessageType


class RequisitionOpened(BaseModel):
    """A requisition was opened: the clock of time to hire starts at `opened_at`."""

    model_config = ConfigDict(frozen=True)

    requisition_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    title: str = Field(min_length=1, max_length=200)
    headcount: int = Field(ge=1)
    opened_at: AwareDatetime


REQUISITION_OPENED = MessageType(
    name="talent.requisition_opened",
    version=1,
    payload=RequisitionOpened,
    aggregate_type="requisition",
)


class RequisitionFilled(BaseModel):
    """Every position of a requisition is hired."""

    model_config = ConfigDict(frozen=True)

    requisition_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    filled_at: AwareDatetime


REQUISITION_FILLED = MessageType(
    name="talent.requisition_filled",
    version=1,
    payload=RequisitionFilled,
    aggregate_type="requisition",
)


class OfferMade(BaseModel):
    """A candidate was offered a position; the denominator of offer acceptance."""

    model_config = ConfigDict(frozen=True)

    application_id: UUID
    requisition_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    made_at: AwareDatetime


OFFER_MADE = MessageType(
    name="talent.offer_made", version=1, payload=OfferMade, aggregate_type="application"
)


class OfferDecided(BaseModel):
    """A candidate accepted or declined an offer."""

    model_config = ConfigDict(frozen=True)

    application_id: UUID
    requisition_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    accepted: bool
    decided_at: AwareDatetime


OFFER_DECIDED = MessageType(
    name="talent.offer_decided", version=1, payload=OfferDecided, aggregate_type="application"
)


class MemberHired(BaseModel):
    """A hire became a team member. Time to hire runs from the requisition's `opened_at`
    to `hired_at`."""

    model_config = ConfigDict(frozen=True)

    team_member_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    requisition_id: UUID | None = Field(description="Null for a member added without one.")
    application_id: UUID | None = None
    hired_at: AwareDatetime
    start_date: date


MEMBER_HIRED = MessageType(
    name="talent.member_hired", version=1, payload=MemberHired, aggregate_type="team_member"
)


class HireReversed(BaseModel):
    """The hire told at `hired_at` no longer stands: the source took it back (or an earlier hire
    of the member, told late, replaced it). A `member_hired` about the member with another
    `hired_at` after it is the member hired again."""

    model_config = ConfigDict(frozen=True)

    team_member_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    requisition_id: UUID | None
    application_id: UUID | None = None
    hired_at: AwareDatetime = Field(description="The hire taken back, as `member_hired` told it.")
    start_date: date
    reversed_at: AwareDatetime = Field(
        description="When the source took the hire back; when talent learned it was replaced, "
        "for a hire replaced by an earlier one."
    )


HIRE_REVERSED = MessageType(
    name="talent.hire_reversed", version=1, payload=HireReversed, aggregate_type="team_member"
)


class OnboardingCompleted(BaseModel):
    """A team member finished onboarding; onboarding time runs from `start_date`."""

    model_config = ConfigDict(frozen=True)

    team_member_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    start_date: date
    completed_on: date


ONBOARDING_COMPLETED = MessageType(
    name="talent.onboarding_completed",
    version=1,
    payload=OnboardingCompleted,
    aggregate_type="team_member",
)


class MemberTerminated(BaseModel):
    """A team member left; voluntary or not, for retention and attrition."""

    model_config = ConfigDict(frozen=True)

    team_member_id: UUID
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    terminated_on: date
    voluntary: bool


MEMBER_TERMINATED = MessageType(
    name="talent.member_terminated",
    version=1,
    payload=MemberTerminated,
    aggregate_type="team_member",
)


class HeadcountChanged(BaseModel):
    """The engagement's active head count, as of a moment: the whole figure, not a delta,
    so that applying it twice or late cannot drift."""

    model_config = ConfigDict(frozen=True)

    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    headcount: int = Field(ge=0)
    as_of: AwareDatetime


HEADCOUNT_CHANGED = MessageType(
    name="talent.headcount_changed",
    version=1,
    payload=HeadcountChanged,
    aggregate_type="engagement",
)


HIRING_PROGRESS_PATH = "/internal/v1/engagements/{engagement_id}/hiring-progress"
"""Where the engagements service asks talent how far the hiring plan is (build -> operate)."""


class HiringProgress(BaseModel):
    """How far hiring for an engagement has come; the engagements service judges the gate."""

    model_config = ConfigDict(frozen=True)

    engagement_id: UUID
    active_members: int = Field(ge=0, description="Team members employed now.")
    open_requisitions: int = Field(ge=0, description="Requisitions in draft, open or on hold.")
    unfilled_positions: int = Field(
        ge=0, description="Positions of those requisitions not hired yet."
    )


EMPLOYMENT_PATH = "/internal/v1/engagements/{engagement_id}/employment"
"""Where the engagements service asks talent whose employment has moved
(transfer -> transferred). Query parameter: `employer_entity_id`."""


class EmploymentStatus(BaseModel):
    """Which active team members the given legal entity employs, and which it does not yet."""

    model_config = ConfigDict(frozen=True)

    engagement_id: UUID
    employer_entity_id: UUID
    active_members: int = Field(ge=0)
    moved: int = Field(ge=0, description="Active members the entity employs.")
    not_moved: list[UUID] = Field(
        description="Active members employed elsewhere (at most 100 ids)."
    )
