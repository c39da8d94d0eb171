import pytest

from config.settings import DEV_SECRET, SettingsError, settings_from_env


def test_development_defaults() -> None:
    settings = settings_from_env({})
    assert settings.env == "development"
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.embedded


def test_production_refuses_the_development_secret() -> None:
    base = {
        "RECOUP_ENV": "production",
        "DATABASE_URL": "postgresql://db/x",
        "REDIS_URL": "redis://r",
    }
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        settings_from_env(base)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        settings_from_env({**base, "SECRET_KEY": DEV_SECRET})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        settings_from_env({**base, "SECRET_KEY": "short"})
    ok = settings_from_env({**base, "SECRET_KEY": "s" * 48})
    assert ok.cookie_secure


def test_production_needs_real_servers() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        settings_from_env({"RECOUP_ENV": "production", "SECRET_KEY": "s" * 48})


def test_bad_values_are_named() -> None:
    with pytest.raises(SettingsError, match="PORT"):
        settings_from_env({"PORT": "eighty"})
    with pytest.raises(SettingsError, match="RECOUP_ENV"):
        settings_from_env({"RECOUP_ENV": "staging"})
