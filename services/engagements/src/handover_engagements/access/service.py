from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from handover_engagements.access.models import ApiKey, Membership
from handover_engagements.access.repository import ApiKeyRepository, MembershipRepository
from handover_engagements.access.schemas import ApiKeyCreate, MembershipCreate
from handover_engagements.errors import (
    ApiKeyNotFound,
    InvalidGrant,
    MembershipExists,
    MembershipNotFound,
    OrganizationNotFound,
)
from handover_engagements.organizations.repository import OrganizationRepository
from handover_kit.auth import Principal
from handover_kit.credentials import api_key_digest, new_api_key
from handover_kit.db import UniqueViolation
from handover_kit.errors import Forbidden
from handover_kit.pagination import PageRequest
from handover_shared.auth import (
    ApiKeyUsage,
    Directory,
    DirectoryApiKey,
    DirectoryMember,
    Scope,
)
from handover_shared.problems import FieldError

PREFIX_LENGTH = 13  # "hov_live_" and four characters of the secret


class AccessService:
    """Memberships and API keys. Row-level security already hides other tenants' rows; these
    rules add what a policy cannot say (who may grant what)."""

    def __init__(
        self,
        memberships: MembershipRepository,
        keys: ApiKeyRepository,
        organizations: OrganizationRepository,
    ) -> None:
        self.memberships = memberships
        self.keys = keys
        self.organizations = organizations

    @classmethod
    def of(cls, session: AsyncSession) -> "AccessService":
        return cls(
            MembershipRepository(session),
            ApiKeyRepository(session),
            OrganizationRepository(session),
        )

    async def add_member(self, organization_id: UUID, data: MembershipCreate) -> Membership:
        await self._organization(organization_id)
        try:
            return await self.memberships.add(
                Membership(**data.model_dump(), organization_id=organization_id)
            )
        except UniqueViolation:
            raise MembershipExists(
                "This person already has a membership; remove it before granting another."
            ) from None

    async def list_members(
        self, organization_id: UUID, page: PageRequest
    ) -> tuple[list[Membership], str | None]:
        await self._organization(organization_id)
        return await self.memberships.list(page, organization_id=organization_id)

    async def remove_member(self, organization_id: UUID, membership_id: UUID) -> None:
        membership = await self.memberships.get(membership_id)
        if membership is None or membership.organization_id != organization_id:
            raise MembershipNotFound(f"There is no membership {membership_id} here.")
        await self.memberships.delete(membership)

    async def create_key(self, data: ApiKeyCreate, creator: Principal) -> tuple[ApiKey, str]:
        organization_id = data.organization_id
        if not creator.all_tenants:
            if organization_id not in (None, creator.organization_id):
                raise _no_such_organization()
            organization_id = creator.organization_id
        if organization_id is not None and await self.organizations.get(organization_id) is None:
            raise _no_such_organization()
        scopes = set(data.scopes)
        if not scopes <= creator.scopes:
            raise Forbidden("A key cannot be granted scopes its creator lacks.")
        if organization_id is not None and Scope.PLATFORM_ADMIN in scopes:
            raise InvalidGrant(
                "Only platform-wide keys may hold platform:admin.",
                errors=[FieldError(loc=["body", "scopes"], msg="Not grantable", type="scope")],
            )
        secret = new_api_key()
        key = await self.keys.add(
            ApiKey(
                organization_id=organization_id,
                name=data.name,
                prefix=secret[:PREFIX_LENGTH],
                secret_sha256=api_key_digest(secret),
                scopes=sorted(scopes),
                created_by=creator.id,
            )
        )
        return key, secret

    async def list_keys(
        self, page: PageRequest, organization_id: UUID | None
    ) -> tuple[list[ApiKey], str | None]:
        return await self.keys.list(page, organization_id=organization_id)

    async def get_key(self, key_id: UUID) -> ApiKey:
        key = await self.keys.get(key_id)
        if key is None:
            raise ApiKeyNotFound(f"There is no API key {key_id}.")
        return key

    async def revoke_key(self, key_id: UUID) -> None:
        await self.keys.revoke(await self.get_key(key_id))

    async def directory(self) -> Directory:
        return Directory(
            members=[
                DirectoryMember.model_validate(m, from_attributes=True)
                for m in await self.memberships.all()
            ],
            api_keys=[
                DirectoryApiKey(
                    id=k.id,
                    secret_sha256=k.secret_sha256,
                    organization_id=k.organization_id,
                    scopes=frozenset(Scope(s) for s in k.scopes),
                )
                for k in await self.keys.active()
            ],
        )

    async def record_use(self, usage: ApiKeyUsage) -> None:
        await self.keys.record_use(usage.last_used)

    async def _organization(self, organization_id: UUID) -> None:
        if await self.organizations.get(organization_id) is None:
            raise OrganizationNotFound(f"There is no organization {organization_id}.")


def _no_such_organization() -> InvalidGrant:
    return InvalidGrant(
        "organization_id names no organization you can act for.",
        errors=[
            FieldError(
                loc=["body", "organization_id"], msg="No such organization", type="not_found"
            )
        ],
    )
