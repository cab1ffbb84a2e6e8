from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.pagination import Page
from handover_shared.text import Text


class OrganizationKind(StrEnum):
    CLIENT = "client"
    PARTNER = "partner"


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Acme Health", "kind": "client"}]}
    )

    name: Text = Field(min_length=1, max_length=200, examples=["Acme Health"])
    kind: OrganizationKind


class OrganizationRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20",
                    "name": "Acme Health",
                    "kind": "client",
                    "created_at": "2025-01-15T09:30:00Z",
                    "updated_at": "2025-01-15T09:30:00Z",
                }
            ]
        },
    )

    id: UUID
    name: str
    kind: OrganizationKind
    created_at: datetime
    updated_at: datetime


class OrganizationPage(Page[OrganizationRead]):
    """A page of organizations."""
