"""Settings every service shares. Each service subclasses with its own env prefix."""

from enum import StrEnum
from typing import Any, Literal, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from handover_kit.credentials import development_seed, private_key_from_seed, public_key_from_text
from handover_kit.oidc import ALLOWED_ALGORITHMS

DEV_DB_PASSWORD = "handover-dev"  # noqa: S105 - a development default, refused in production


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """From the environment: `DATABASE_URL` and `HANDOVER_ENV` as they are, the rest prefixed."""

    # Errors never echo the input: it may be a secret.
    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, hide_input_in_errors=True, env_ignore_empty=True
    )

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

    service_key: SecretStr | None = Field(
        default=None,
        description="This service's Ed25519 signing key (32-byte seed, base64url), with which it "
        "signs its calls to other services. Development derives one from the service's name.",
    )
    service_public_keys: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("HANDOVER_SERVICE_PUBLIC_KEYS"),
        description="JSON: the public key of each service whose calls this one accepts.",
    )
    oidc_issuer: str | None = Field(
        default=None, validation_alias=AliasChoices("HANDOVER_OIDC_ISSUER")
    )
    oidc_audience: str = Field(
        default="handover", validation_alias=AliasChoices("HANDOVER_OIDC_AUDIENCE")
    )
    oidc_jwks_url: str | None = Field(
        default=None, validation_alias=AliasChoices("HANDOVER_OIDC_JWKS_URL")
    )
    oidc_algorithms: list[str] = Field(
        default=["RS256", "ES256"], validation_alias=AliasChoices("HANDOVER_OIDC_ALGORITHMS")
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("HANDOVER_CORS_ORIGINS"),
        description="JSON: the frontend origins allowed to call the API from a browser.",
    )
    rate_limit: str = Field(
        default="600/minute", description="Per principal, per service instance."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    directory_refresh_seconds: float = Field(default=5.0, gt=0)
    directory_max_staleness_seconds: float = Field(default=60.0, gt=0)
    directory_miss_refresh_seconds: float = Field(default=1.0, ge=0)
    # Calls to other services: a gate answers 503 within the deadline, retries included.
    upstream_connect_timeout_seconds: float = Field(default=1.0, gt=0)
    upstream_read_timeout_seconds: float = Field(default=3.0, gt=0)
    upstream_deadline_seconds: float = Field(default=5.0, gt=0)
    upstream_failure_threshold: int = Field(default=5, ge=1)
    upstream_cool_down_seconds: float = Field(default=10.0, gt=0)
    # Facts told to other services: see handover_kit.outbox.RelayPolicy.
    outbox_poll_seconds: float = Field(default=10.0, gt=0)
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_backoff_initial_seconds: float = Field(default=1.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=600.0, gt=0)
    outbox_send_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long delivered facts, and the ids of received ones, are kept. A received id must be
    # kept longer than any sender may still redeliver it, dead-letter replays included.
    outbox_retention_days: float = Field(default=7.0, gt=0)
    inbox_retention_days: float = Field(default=30.0, gt=0)

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

    @field_validator("service_key")
    @classmethod
    def _a_signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            private_key_from_seed(value.get_secret_value())
        return value

    @field_validator("service_public_keys")
    @classmethod
    def _public_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value.values():
            public_key_from_text(key)
        return value

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> "ServiceSettings":
        if self.environment is Environment.PRODUCTION and self.db_password.get_secret_value() in {
            "",
            DEV_DB_PASSWORD,
        }:
            raise ValueError("db_password must be set to a real secret in production")
        if self.environment is Environment.PRODUCTION and self.service_key is None:
            raise ValueError("service_key must be set in production")
        if self.oidc_issuer and not self.oidc_jwks_url:
            raise ValueError("HANDOVER_OIDC_JWKS_URL must be set with HANDOVER_OIDC_ISSUER")
        if unsupported := set(self.oidc_algorithms) - ALLOWED_ALGORITHMS:
            raise ValueError(f"HANDOVER_OIDC_ALGORITHMS: not allowed: {sorted(unsupported)}")
        try:
            parse_rate_limit(self.rate_limit)
        except ValueError:
            raise ValueError(
                f"rate_limit: not a rate such as '600/minute': {self.rate_limit!r}"
            ) from None
        return self

    @classmethod
    def with_database(cls, url: str, **values: Any) -> Self:
        """Settings from the environment, but for the database at `url` and with `values`
        (by field name, or by alias for the shared, unprefixed ones)."""
        factory: Any = cls  # the URL is passed by its alias, which the typed signature hides
        settings: Self = factory(DATABASE_URL=url, **values)
        return settings

    def signing_key(self, service: str) -> Ed25519PrivateKey:
        seed = (
            self.service_key.get_secret_value() if self.service_key else development_seed(service)
        )
        return private_key_from_seed(seed)

    def trusted_service_key(self, service: str) -> Ed25519PublicKey | None:
        """The key `service` signs its calls with; in development, also the derived one."""
        if service in self.service_public_keys:
            return public_key_from_text(self.service_public_keys[service])
        if self.environment is Environment.DEVELOPMENT:
            return private_key_from_seed(development_seed(service)).public_key()
        return None

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
