from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from handover_kit.db import id_field, timestamp_field
from handover_talent.db import Table


class Role(Table, table=True):
    """What a position is for: written before anyone is hired for it."""

    __tablename__ = "roles"
    __table_args__ = (
        CheckConstraint(
            "salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max",
            name="salary_band",
        ),
    )

    id: UUID = id_field()
    engagement_id: UUID = Field(index=True)
    client_id: UUID
    partner_id: UUID
    title: str = Field(max_length=200)
    function: str = Field(max_length=100)
    seniority: str = Field(max_length=50)
    location: str = Field(max_length=200)
    salary_currency: str | None = Field(default=None, max_length=3)
    salary_min: int | None = Field(default=None, sa_type=BigInteger)
    salary_max: int | None = Field(default=None, sa_type=BigInteger)
    responsibilities: list[str] = Field(default_factory=list, sa_type=JSONB)
    success_criteria: list[str] = Field(default_factory=list, sa_type=JSONB)
    version: int = Field(default=1, sa_column_kwargs={"server_default": None})
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field(on_update=True)
