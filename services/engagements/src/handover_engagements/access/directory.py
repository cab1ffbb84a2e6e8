"""The engagements service reads the principal directory from its own database."""

from handover_engagements.access.service import AccessService
from handover_kit.db import ALL_TENANTS, Database
from handover_shared.auth import ApiKeyUsage, Directory


class LocalDirectory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> Directory:
        async with self.db.session(ALL_TENANTS) as session, session.begin():
            return await AccessService.of(session).directory()

    async def report_usage(self, usage: ApiKeyUsage) -> None:
        async with self.db.session(ALL_TENANTS) as session, session.begin():
            await AccessService.of(session).record_use(usage)
