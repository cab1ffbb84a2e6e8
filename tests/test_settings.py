import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import ValidationError

from handover_engagements.config import Settings
from handover_kit.credentials import new_service_seed, private_key_from_seed, public_key_text

URL = "postgresql://db.internal:5432/handover"


def test_service_connects_as_its_own_role_not_the_urls_user() -> None:
    settings = Settings.with_database("postgresql://admin:root-pw@db:5432/handover")
    assert settings.service_url.username == "engagements"
    assert settings.service_url.host == "db"
    assert settings.service_url.database == "handover"
    assert settings.admin_url.username == "admin"


def test_production_refuses_the_development_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOVER_ENV", "production")
    monkeypatch.setenv("ENGAGEMENTS_SERVICE_KEY", new_service_seed())
    with pytest.raises(ValidationError, match="real secret"):
        Settings.with_database(URL)
    monkeypatch.setenv("ENGAGEMENTS_DB_PASSWORD", "a-real-secret")
    assert Settings.with_database(URL).db_password.get_secret_value() == "a-real-secret"


def test_production_refuses_to_run_without_a_service_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOVER_ENV", "production")
    monkeypatch.setenv("ENGAGEMENTS_DB_PASSWORD", "a-real-secret")
    with pytest.raises(ValidationError, match="service_key must be set"):
        Settings.with_database(URL)


def test_production_trusts_only_the_configured_service_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    talent = private_key_from_seed(new_service_seed())
    monkeypatch.setenv("HANDOVER_ENV", "production")
    monkeypatch.setenv("ENGAGEMENTS_DB_PASSWORD", "a-real-secret")
    monkeypatch.setenv("ENGAGEMENTS_SERVICE_KEY", new_service_seed())
    monkeypatch.setenv(
        "HANDOVER_SERVICE_PUBLIC_KEYS", json.dumps({"talent": public_key_text(talent)})
    )
    settings = Settings.with_database(URL)
    trusted = settings.trusted_service_key("talent")
    assert trusted is not None
    assert public_key_text(talent) == _raw(trusted)
    assert settings.trusted_service_key("kpi") is None  # no derived development keys


def _raw(key: Ed25519PublicKey) -> str:
    return (
        base64.urlsafe_b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
        .decode()
        .rstrip("=")
    )


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"service_key": "not-a-key"}, "Ed25519"),
        ({"HANDOVER_SERVICE_PUBLIC_KEYS": {"talent": "short"}}, "Ed25519"),
        ({"HANDOVER_OIDC_ISSUER": "https://idp.example/"}, "JWKS_URL"),
        ({"HANDOVER_OIDC_ALGORITHMS": ["HS256"]}, "not allowed"),
        ({"HANDOVER_OIDC_ALGORITHMS": ["none"]}, "not allowed"),
        ({"rate_limit": "lots"}, "rate_limit"),
    ],
)
def test_unsafe_or_malformed_auth_settings_are_refused(
    values: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings.with_database(URL, **values)


@pytest.mark.parametrize("url", ["mysql://db/handover", "postgresql://db", "not a url"])
def test_database_url_must_name_a_postgres_database(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings.with_database(url)


def test_secrets_do_not_appear_in_the_settings_repr() -> None:
    settings = Settings.with_database("postgresql://admin:root-pw@db/handover")
    assert "root-pw" not in repr(settings)
    assert "handover-dev" not in repr(settings)


def test_a_rejected_secret_is_not_echoed_in_the_error() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings.with_database(URL, service_key="s3cret-but-malformed")
    assert "s3cret-but-malformed" not in str(raised.value)
