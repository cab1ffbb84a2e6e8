"""Settings every service shares. Each service subclasses with its own env prefix."""

from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEV_DB_PASSWORD = "handover-dev"  # noqa: S105 - a development default, refused in production


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """From the environment: `DATABASE_URL` and `HANDOVER_ENV` as they are, the rest prefixed."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = Field(
        default=Environment.DEVELOPMENT, validation_alias=AliasChoices("HANDOVER_ENV")
    )
    database_url: SecretStr = Field(
        validation_alias=AliasChoices("DATABASE_URL"),
        description="The server and database. Its credentials, if any, are for migrations only: "
        "the service itself connects as its own role.",
    )
    db_role: str
    db_password: SecretStr = SecretStr(DEV_DB_PASSWORD)
    db_pool_size: int = Field(default=5, ge=1)
    db_pool_max_overflow: int = Field(default=5, ge=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)

    host: str = "127.0.0.1"
    port: int
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr) -> SecretStr:
        try:
            url = make_url(value.get_secret_value())
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        if url.get_backend_name() not in {"postgresql", "postgres"} or not url.database:
            raise ValueError("must be a postgresql:// URL that names a database")
        return SecretStr(url.set(drivername="postgresql").render_as_string(hide_password=False))

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> "ServiceSettings":
        if self.environment is Environment.PRODUCTION and self.db_password.get_secret_value() in {
            "",
            DEV_DB_PASSWORD,
        }:
            raise ValueError("db_password must be set to a real secret in production")
        return self

    @classmethod
    def with_database(cls, url: str) -> Self:
        """Settings from the environment, but for the database at `url`."""
        factory: Any = cls  # the URL is passed by its alias, which the typed signature hides
        settings: Self = factory(DATABASE_URL=url)
        return settings

    @property
    def admin_url(self) -> URL:
        """The URL as given, with its own (administrative) credentials: for provisioning only."""
        return make_url(self.database_url.get_secret_value())

    @property
    def service_url(self) -> URL:
        """The same server and database, as this service's own role."""
        return self.admin_url.set(
            username=self.db_role, password=self.db_password.get_secret_value()
        )
