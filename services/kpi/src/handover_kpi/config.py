from pydantic import Field
from pydantic_settings import SettingsConfigDict

from handover_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KPI_", extra="ignore", frozen=True)

    db_role: str = "kpi"
    port: int = 8003
    engagements_url: str = "http://127.0.0.1:8001"
    point_max_future_hours: int = Field(default=24, ge=0)
    """How far ahead of now a data point may be; later ones are rejected."""
    ingest_max_errors: int = Field(default=1000, ge=1)
    """Rejected lines listed in an ingestion answer; the rest are only counted."""
    ingest_max_line_bytes: int = Field(default=65_536, ge=1024)
    bulk_max_body_bytes: int = Field(default=4 * 1024**3, ge=1024)
    """The body cap of the streaming NDJSON and CSV uploads; every other path keeps
    `max_body_bytes`."""
    ingest_statement_timeout_ms: int = Field(default=3_600_000, ge=0)
    """An upload's COPY lasts as long as the body takes to arrive."""
