from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.pagination import Page


class OrganizationKind(StrEnum):
    CLIENT = "client"
    PARTNER = "partner"


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Acme Health"])
    kind: OrganizationKind


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    kind: OrganizationKind
    created_at: datetime
    updated_at: datetime


class OrganizationPage(Page[OrganizationRead]):
    """A page of organizations."""
