from pydantic_settings import SettingsConfigDict

from handover_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KPI_", extra="ignore", frozen=True)

    db_role: str = "kpi"
    port: int = 8003
    engagements_url: str = "http://127.0.0.1:8001"
