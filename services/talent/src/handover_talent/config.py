import base64
import binascii
import hashlib

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from handover_kit.settings import Environment, ServiceSettings

# Anyone can derive it, so it guards nothing: production refuses to run with it.
DEV_HRIS_SECRETS_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"handover-development-hris-secrets-key").digest()
).decode()


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TALENT_", extra="ignore", frozen=True)

    db_role: str = "talent"
    port: int = 8002
    engagements_url: str = "http://127.0.0.1:8001"
    kpi_url: str = "http://127.0.0.1:8003"
    hris_secrets_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys (32 bytes, urlsafe base64) that encrypt the HRIS "
        "sources' signing secrets at rest. The first encrypts; every one decrypts, so a new key "
        "goes first and the old one stays until the secrets are re-encrypted. Development uses "
        "a fixed key when unset; production requires it.",
    )
    hris_body_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="How long the raw bodies of applied and ignored HRIS events are kept, for "
        "audit; they hold candidates' data. Dead events keep theirs until replayed.",
    )
    hris_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the event processor looks for work besides being notified.",
    )
    hris_processor: bool = Field(
        default=True,
        description="Apply HRIS events in this server process too. Production sets it false and "
        "runs `handover-talent process-hris-events` as a deployment of its own, so that the "
        "webhook, which only stores deliveries, never waits on the applying.",
    )

    def hris_keys(self) -> list[str]:
        """The keys, checked. Checked here, when the server starts, rather than when settings
        load: the migration jobs load them too, and never hold this key."""
        if self.hris_secrets_keys is None:
            if self.environment is Environment.PRODUCTION:
                raise ValueError("TALENT_HRIS_SECRETS_KEYS must be set in production")
            return [DEV_HRIS_SECRETS_KEY]
        keys = [key.strip() for key in self.hris_secrets_keys.get_secret_value().split(",")]
        for key in keys:
            try:
                Fernet(key)
            except (binascii.Error, ValueError):
                raise ValueError(
                    "TALENT_HRIS_SECRETS_KEYS: each key must be 32 bytes in urlsafe base64 "
                    "(a Fernet key)"
                ) from None
        return keys
