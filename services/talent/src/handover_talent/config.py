from pydantic_settings import SettingsConfigDict

from handover_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TALENT_", extra="ignore", frozen=True)

    db_role: str = "talent"
    port: int = 8002
    engagements_url: str = "http://127.0.0.1:8001"
    kpi_url: str = "http://127.0.0.1:8003"
