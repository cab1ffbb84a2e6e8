from typing import Any
from uuid import UUID

from handover_engagements.entities.models import LegalEntity
from handover_engagements.entities.repository import LegalEntityRepository
from handover_engagements.entities.schemas import LegalEntityCreate, LegalEntityUpdate
from handover_engagements.errors import (
    LegalEntityExists,
    LegalEntityNotFound,
    OrganizationNotFound,
)
from handover_engagements.organizations.repository import OrganizationRepository
from handover_kit.concurrency import check_version
from handover_kit.db import UniqueViolation
from handover_kit.pagination import PageRequest


def apply_changes(row: Any, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set the fields of `row` that `changes` alters, and bump its version if any: the fields
    as they were and as they became, for the audit trail."""
    before = {name: getattr(row, name) for name, value in changes.items()}
    altered = {name: value for name, value in changes.items() if before[name] != value}
    for name, value in altered.items():
        setattr(row, name, value)
    if altered:
        row.version += 1
    return {name: before[name] for name in altered}, altered


class LegalEntityService:
    """Only members of the organization see its entities (row-level security), and only its
    administrators write them: another organization's is answered as a missing one."""

    def __init__(
        self, repository: LegalEntityRepository, organizations: OrganizationRepository
    ) -> None:
        self.repository = repository
        self.organizations = organizations

    async def create(self, organization_id: UUID, data: LegalEntityCreate) -> LegalEntity:
        await self._organization(organization_id)
        entity = LegalEntity(organization_id=organization_id, **data.model_dump())
        try:
            return await self.repository.add(entity)
        except UniqueViolation:
            raise self._taken(data.country, data.registration_number) from None

    async def get(self, organization_id: UUID, entity_id: UUID) -> LegalEntity:
        await self._organization(organization_id)
        entity = await self.repository.of(organization_id, entity_id)
        if entity is None:
            raise LegalEntityNotFound(
                f"Organization {organization_id} has no legal entity {entity_id}."
            )
        return entity

    async def list(
        self, organization_id: UUID, page: PageRequest
    ) -> tuple[list[LegalEntity], str | None]:
        await self._organization(organization_id)
        return await self.repository.list(organization_id, page)

    async def update(
        self, organization_id: UUID, entity_id: UUID, data: LegalEntityUpdate, expected: int
    ) -> LegalEntity:
        await self._organization(organization_id)
        entity = await self.repository.of(organization_id, entity_id, for_update=True)
        if entity is None:
            raise LegalEntityNotFound(
                f"Organization {organization_id} has no legal entity {entity_id}."
            )
        check_version(expected, entity.version)
        _, altered = apply_changes(entity, data.model_dump(exclude_unset=True))
        if not altered:
            return entity
        try:
            return await self.repository.save(entity)
        except UniqueViolation:
            raise self._taken(entity.country, entity.registration_number) from None

    async def _organization(self, organization_id: UUID) -> None:
        if await self.organizations.get(organization_id) is None:
            raise OrganizationNotFound(f"There is no organization {organization_id}.")

    @staticmethod
    def _taken(country: str, registration_number: str) -> LegalEntityExists:
        return LegalEntityExists(
            f"The organization has a legal entity registered in {country} as "
            f"{registration_number!r} already.",
            country=country,
            registration_number=registration_number,
        )
