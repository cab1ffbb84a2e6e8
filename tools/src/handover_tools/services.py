"""The three services as the tooling sees them: names, ports, settings, migrations, apps."""

from dataclasses import dataclass

from handover_engagements import config as engagements_config
from handover_engagements import db as engagements_db
from handover_kit.migrations import Migrations
from handover_kit.settings import ServiceSettings
from handover_kpi import config as kpi_config
from handover_kpi import db as kpi_db
from handover_talent import config as talent_config
from handover_talent import db as talent_db


@dataclass(frozen=True)
class Service:
    name: str
    settings: type[ServiceSettings]
    migrations: Migrations
    app_factory: str

    @property
    def env_prefix(self) -> str:
        return str(self.settings.model_config.get("env_prefix", ""))

    @property
    def default_port(self) -> int:
        default = self.settings.model_fields["port"].default
        assert isinstance(default, int)
        return default


SERVICES: tuple[Service, ...] = (
    Service(
        "engagements",
        engagements_config.Settings,
        engagements_db.MIGRATIONS,
        "handover_engagements.main:create_app",
    ),
    Service(
        "talent", talent_config.Settings, talent_db.MIGRATIONS, "handover_talent.main:create_app"
    ),
    Service("kpi", kpi_config.Settings, kpi_db.MIGRATIONS, "handover_kpi.main:create_app"),
)
