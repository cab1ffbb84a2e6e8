from datetime import date, datetime
from uuid import UUID

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field

from handover_kit.db import id_field, text_enum, timestamp_field
from handover_talent.db import Table
from handover_talent.members.schemas import MemberStatus


class TeamMember(Table, table=True):
    __tablename__ = "team_members"
    # One member per hired application: a hire applied twice finds the member it made.
    __table_args__ = (UniqueConstraint("application_id"),)

    id: UUID = id_field()
    engagement_id: UUID = Field(index=True)
    client_id: UUID
    partner_id: UUID
    candidate_id: UUID | None = Field(default=None, foreign_key="talent.candidates.id")
    application_id: UUID | None = Field(default=None, foreign_key="talent.applications.id")
    requisition_id: UUID | None = Field(default=None, foreign_key="talent.requisitions.id")
    role_id: UUID | None = Field(default=None, foreign_key="talent.roles.id")
    title: str = Field(max_length=200)
    status: MemberStatus = Field(sa_type=text_enum(MemberStatus))
    start_date: date
    hired_at: datetime = Field(sa_type=DateTime(timezone=True))
    employer_entity_id: UUID | None = None
    onboarded_on: date | None = None
    terminated_on: date | None = None
    termination_reason: str | None = Field(default=None, max_length=500)
    voluntary: bool | None = None
    # Kpi holds `hired_at` as a standing hire; cleared when the hire is taken back or replaced.
    hired_told: bool = False
    onboarded_told: bool = False
    terminated_told: bool = False
    version: int = 1
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)


class EmploymentTransfer(Table, table=True):
    """One request to move a set of members' contracts to the client's entity."""

    __tablename__ = "employment_transfers"

    id: UUID = id_field()
    engagement_id: UUID = Field(index=True)
    client_id: UUID
    partner_id: UUID
    to_entity_id: UUID
    effective_date: date
    actor: str = Field(max_length=200)
    created_at: datetime = timestamp_field()


class EmploymentTransition(Table, table=True):
    """A member's contract moving from one employing entity to another."""

    __tablename__ = "employment_transitions"

    id: UUID = id_field()
    engagement_id: UUID
    client_id: UUID
    partner_id: UUID
    transfer_id: UUID | None = Field(
        default=None, foreign_key="talent.employment_transfers.id", index=True
    )
    team_member_id: UUID = Field(foreign_key="talent.team_members.id", index=True)
    from_entity_id: UUID | None = None
    to_entity_id: UUID
    effective_date: date
    created_at: datetime = timestamp_field()
