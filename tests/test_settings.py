import pytest
from pydantic import ValidationError

from handover_engagements.config import Settings

URL = "postgresql://db.internal:5432/handover"


def test_service_connects_as_its_own_role_not_the_urls_user() -> None:
    settings = Settings.with_database("postgresql://admin:root-pw@db:5432/handover")
    assert settings.service_url.username == "engagements"
    assert settings.service_url.host == "db"
    assert settings.service_url.database == "handover"
    assert settings.admin_url.username == "admin"


def test_production_refuses_the_development_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOVER_ENV", "production")
    with pytest.raises(ValidationError, match="real secret"):
        Settings.with_database(URL)
    monkeypatch.setenv("ENGAGEMENTS_DB_PASSWORD", "a-real-secret")
    assert Settings.with_database(URL).db_password.get_secret_value() == "a-real-secret"


@pytest.mark.parametrize("url", ["mysql://db/handover", "postgresql://db", "not a url"])
def test_database_url_must_name_a_postgres_database(url: str) -> None:
    with pytest.raises(ValidationError):
        Settings.with_database(url)


def test_secrets_do_not_appear_in_the_settings_repr() -> None:
    settings = Settings.with_database("postgresql://admin:root-pw@db/handover")
    assert "root-pw" not in repr(settings)
    assert "handover-dev" not in repr(settings)
