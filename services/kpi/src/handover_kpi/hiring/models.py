from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime
from sqlmodel import Field

from handover_kit.db import timestamp_field
from handover_kpi.db import Table


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
