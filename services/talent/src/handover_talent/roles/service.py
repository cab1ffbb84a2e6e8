from uuid import UUID

from handover_kit.auth import Principal
from handover_kit.concurrency import check_version
from handover_kit.pagination import PageRequest
from handover_shared.problems import FieldError
from handover_talent.clients.engagements import EngagementsClient
from handover_talent.errors import InvalidSalaryBand, RoleNotFound, RoleNotReady
from handover_talent.roles.models import Role
from handover_talent.roles.repository import RoleRepository
from handover_talent.roles.schemas import RoleCreate, RoleUpdate, band_error


def missing_for_hiring(role: Role) -> list[str]:
    """What the role still lacks before a requisition for it may open."""
    return [
        name
        for name, value in (
            ("responsibilities", role.responsibilities),
            ("success_criteria", role.success_criteria),
        )
        if not value
    ]


def require_ready(role: Role) -> None:
    missing = missing_for_hiring(role)
    if missing:
        raise RoleNotReady(
            f"Role {role.id} needs {' and '.join(missing)} before a requisition for it can open.",
            missing=missing,
            errors=[
                FieldError(loc=["role", name], msg="Required before hiring", type="missing")
                for name in missing
            ],
        )


class RoleService:
    def __init__(self, repository: RoleRepository, engagements: EngagementsClient) -> None:
        self.repository = repository
        self.engagements = engagements

    async def create(self, data: RoleCreate, principal: Principal) -> Role:
        engagement = await self.engagements.visible_engagement(
            data.engagement_id, principal, ["body", "engagement_id"]
        )
        return await self.repository.add(
            Role(
                **data.model_dump(),
                client_id=engagement.client_id,
                partner_id=engagement.partner_id,
            )
        )

    async def get(self, role_id: UUID) -> Role:
        role = await self.repository.get(role_id)
        if role is None:
            raise RoleNotFound(f"There is no role {role_id}.")
        return role

    async def update(self, role_id: UUID, data: RoleUpdate, expected_version: int) -> Role:
        role = await self.get(role_id)
        check_version(expected_version, role.version)
        changes = data.model_dump(exclude_unset=True)
        band = {
            name: changes.get(name, getattr(role, name))
            for name in ("salary_currency", "salary_min", "salary_max")
        }
        error = band_error(band["salary_currency"], band["salary_min"], band["salary_max"])
        if error is not None:
            raise InvalidSalaryBand(
                f"The salary band would not be one: {error}.",
                errors=[FieldError(loc=["body"], msg=error, type="value_error")],
            )
        for name, value in changes.items():
            setattr(role, name, value)
        role.version += 1
        return await self.repository.save(role)

    async def list(
        self, page: PageRequest, *, engagement_id: UUID | None
    ) -> tuple[list[Role], str | None]:
        return await self.repository.list(page, engagement_id=engagement_id)
