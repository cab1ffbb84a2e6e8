from pydantic_settings import SettingsConfigDict

from handover_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENGAGEMENTS_", extra="ignore", frozen=True)

    db_role: str = "engagements"
    port: int = 8001
    talent_url: str = "http://127.0.0.1:8002"
    kpi_url: str = "http://127.0.0.1:8003"
