"""Who may do what: roles, scopes, and the principal directory.

The engagements service owns organizations, people's memberships and API keys. It serves
the other services a `Directory` of every active credential, so they verify principals
locally, from memory, with no call on the hot path.
"""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

API_KEY_PREFIX = "hov_live_"


class Scope(StrEnum):
    ENGAGEMENTS_READ = "engagements:read"
    ENGAGEMENTS_WRITE = "engagements:write"
    TALENT_READ = "talent:read"
    TALENT_WRITE = "talent:write"
    TALENT_EVENTS_WRITE = "talent:events:write"
    KPI_READ = "kpi:read"
    KPI_WRITE = "kpi:write"
    ORGANIZATION_ADMIN = "organization:admin"
    """Manage the organization's memberships and API keys."""
    PLATFORM_ADMIN = "platform:admin"
    """Manage organizations and start engagements; every tenant's data."""


READ_SCOPES = frozenset({Scope.ENGAGEMENTS_READ, Scope.TALENT_READ, Scope.KPI_READ})
WRITE_SCOPES = frozenset(
    {Scope.ENGAGEMENTS_WRITE, Scope.TALENT_WRITE, Scope.TALENT_EVENTS_WRITE, Scope.KPI_WRITE}
)


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    PLATFORM_ADMIN = "platform_admin"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: READ_SCOPES,
    Role.MEMBER: READ_SCOPES | WRITE_SCOPES,
    Role.ADMIN: READ_SCOPES | WRITE_SCOPES | {Scope.ORGANIZATION_ADMIN},
    Role.PLATFORM_ADMIN: frozenset(Scope),
}


class DirectoryMember(BaseModel):
    """A person, known by their identity provider's issuer and subject."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    issuer: str
    subject: str
    organization_id: UUID | None = Field(description="None for platform administrators.")
    role: Role


class DirectoryApiKey(BaseModel):
    """An active API key: its SHA-256 digest, never the key."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    organization_id: UUID | None = Field(description="None for platform-wide keys.")
    scopes: frozenset[Scope]


class Directory(BaseModel):
    """Every active membership and API key. Revoked keys are left out, which is what revokes
    them everywhere at the next refresh."""

    members: list[DirectoryMember]
    api_keys: list[DirectoryApiKey]


class ApiKeyUsage(BaseModel):
    """When each key was last seen, as reported by a service that verified it."""

    last_used: dict[UUID, datetime]
