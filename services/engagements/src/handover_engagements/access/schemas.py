from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from handover_shared.auth import Role, Scope
from handover_shared.pagination import Page


class MembershipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(
        min_length=1,
        max_length=500,
        description="The identity provider's issuer (`iss`), exactly as in its tokens.",
        examples=["https://login.example.com/"],
    )
    subject: str = Field(
        min_length=1,
        max_length=255,
        description="The person's subject (`sub`) at that issuer.",
        examples=["auth0|6650f1c2"],
    )
    role: Role = Field(
        description="`viewer` reads, `member` also writes, `admin` also manages members and API "
        "keys. `platform_admin` cannot be granted here.",
        examples=["member"],
    )


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    issuer: str
    subject: str
    organization_id: UUID | None
    role: Role
    created_at: datetime


class MembershipPage(Page[MembershipRead]):
    """A page of memberships."""


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=100, description="What the key is for.", examples=["Workday push"]
    )
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=len(Scope),
        description="What the key may do; at most what its creator may.",
        examples=[["talent:events:write"]],
    )
    organization_id: UUID | None = Field(
        default=None,
        description="The organization the key acts for. Defaults to the creator's; platform "
        "administrators may leave it out for a platform-wide key.",
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    prefix: str = Field(description="The start of the key, to recognise it by.")
    organization_id: UUID | None
    scopes: list[Scope]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When a service last accepted it; up to a minute behind."
    )
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(
        description="The key itself. Shown this once: only its digest is stored.",
        examples=["hov_live_3q2-7wEpXfV0b8lO0n2k9m8hJc8ZK1p3r5t7v9x1z3A"],
    )


class ApiKeyPage(Page[ApiKeyRead]):
    """A page of API keys."""
