from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from handover_shared.auth import Role, Scope
from handover_shared.pagination import Page
from handover_shared.text import Text

# Platform administrators belong to no organization, so no organization can grant the role.
GrantableRole = Literal[Role.VIEWER, Role.MEMBER, Role.ADMIN]


class MembershipCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "issuer": "https://login.example.com/",
                    "subject": "auth0|6650f1c2",
                    "role": "member",
                }
            ]
        },
    )

    issuer: Text = Field(
        min_length=1,
        max_length=500,
        description="The identity provider's issuer (`iss`), exactly as in its tokens.",
        examples=["https://login.example.com/"],
    )
    subject: Text = Field(
        min_length=1,
        max_length=255,
        description="The person's subject (`sub`) at that issuer.",
        examples=["auth0|6650f1c2"],
    )
    role: GrantableRole = Field(
        description="`viewer` reads, `member` also writes, `admin` also manages members and API "
        "keys. `platform_admin` cannot be granted here.",
        examples=["member"],
    )


class MembershipRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f11-6d2f-7b04-93e1-0f8a2b4c6d50",
                    "issuer": "https://login.example.com/",
                    "subject": "auth0|6650f1c2",
                    "organization_id": "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20",
                    "role": "member",
                    "created_at": "2025-01-15T10:00:00Z",
                }
            ]
        },
    )

    id: UUID
    issuer: str
    subject: str
    organization_id: UUID | None
    role: Role
    created_at: datetime


class MembershipPage(Page[MembershipRead]):
    """A page of memberships."""


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Workday push",
                    "scopes": ["talent:events:write"],
                    "organization_id": "01936f0e-9b41-7d10-a2c4-5e6f7a8b9c01",
                }
            ]
        },
    )

    name: Text = Field(
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


_API_KEY_EXAMPLE: dict[str, JsonValue] = {
    "id": "01936f12-8e30-7c15-a4f2-1a9b3c5d7e60",
    "name": "Workday push",
    "prefix": "hov_live_3q2-",
    "organization_id": "01936f0e-9b41-7d10-a2c4-5e6f7a8b9c01",
    "scopes": ["talent:events:write"],
    "created_by": "person:01936f11-6d2f-7b04-93e1-0f8a2b4c6d50",
    "created_at": "2025-01-15T10:05:00Z",
    "last_used_at": None,
    "revoked_at": None,
}


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_API_KEY_EXAMPLE]}
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_API_KEY_EXAMPLE, "key": "hov_live_3q2-7wEpXfV0b8lO0n2k9m8hJc8ZK1p3r5t7v9x1z3A"}
            ]
        }
    )

    key: str = Field(
        description="The key itself. Shown this once: only its digest is stored.",
        examples=["hov_live_3q2-7wEpXfV0b8lO0n2k9m8hJc8ZK1p3r5t7v9x1z3A"],
    )


class ApiKeyPage(Page[ApiKeyRead]):
    """A page of API keys."""
