"""The facts talent tells, one table per kind, each keyed by talent's own id of the thing it is
about: a second fact about the same thing finds the row taken and changes nothing. Derived
metrics are recomputed from these rows alone, so they do not depend on the order facts came in.
"""

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import DateTime
from sqlmodel import Field

from handover_kit.db import timestamp_field
from handover_kpi.db import Table


class _Engagement(Table):
    """The engagement a fact is about, with its parties: row-level security filters on them."""

    engagement_id: UUID = Field(index=True)
    client_id: UUID
    partner_id: UUID


class OpenedRequisition(Table, table=True):
    """A requisition talent opened; time to hire is measured from `opened_at`."""

    __tablename__ = "opened_requisitions"

    # Talent's id: one row per requisition, whoever delivers the fact and how often.
    requisition_id: UUID = Field(primary_key=True)
    engagement_id: UUID = Field(index=True)
    # The engagement's parties, as talent told them: row-level security filters on them.
    client_id: UUID
    partner_id: UUID
    title: str = Field(max_length=200)
    headcount: int
    opened_at: datetime = Field(sa_type=DateTime(timezone=True))
    recorded_at: datetime = timestamp_field()


class FilledRequisition(_Engagement, table=True):
    """A requisition whose every position is hired."""

    __tablename__ = "filled_requisitions"

    requisition_id: UUID = Field(primary_key=True)
    filled_at: datetime = Field(sa_type=DateTime(timezone=True))
    recorded_at: datetime = timestamp_field()


class Offer(_Engagement, table=True):
    """An offer to one application: made, then decided. The first decision told is kept."""

    __tablename__ = "offers"

    application_id: UUID = Field(primary_key=True)
    requisition_id: UUID
    made_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    accepted: bool | None = None
    recorded_at: datetime = timestamp_field()


class Hire(_Engagement, table=True):
    """A hire that became a team member; `reversed_at` once talent took it back. After that, a
    hire of the member told with another `hired_at` replaces it (hired again)."""

    __tablename__ = "hires"

    team_member_id: UUID = Field(primary_key=True)
    requisition_id: UUID | None = Field(default=None, index=True)
    application_id: UUID | None = None
    hired_at: datetime = Field(sa_type=DateTime(timezone=True))
    start_date: date
    reversed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    recorded_at: datetime = timestamp_field()


class CompletedOnboarding(_Engagement, table=True):
    """A team member who finished onboarding."""

    __tablename__ = "completed_onboardings"

    team_member_id: UUID = Field(primary_key=True)
    start_date: date
    completed_on: date
    recorded_at: datetime = timestamp_field()


class Termination(_Engagement, table=True):
    """A team member who left the team."""

    __tablename__ = "terminations"

    team_member_id: UUID = Field(primary_key=True)
    terminated_on: date
    voluntary: bool
    recorded_at: datetime = timestamp_field()


class HeadcountReading(Table, table=True):
    """The engagement's whole active head count as of a moment; one reading per moment."""

    __tablename__ = "headcount_readings"

    engagement_id: UUID = Field(primary_key=True)
    as_of: datetime = Field(primary_key=True, sa_type=DateTime(timezone=True))
    client_id: UUID
    partner_id: UUID
    headcount: int
    recorded_at: datetime = timestamp_field()
