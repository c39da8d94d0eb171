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


def test_forwarded_headers_are_trusted_from_configured_proxies_only() -> None:
    assert settings_from_env({}).forwarded_allow_ips == ()
    proxies = settings_from_env({"FORWARDED_ALLOW_IPS": "10.0.0.5, 192.168.0.0/16,::1"})
    assert proxies.forwarded_allow_ips == ("10.0.0.5", "192.168.0.0/16", "::1")
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        settings_from_env({"FORWARDED_ALLOW_IPS": "proxy.internal"})


def test_metrics_token_and_debtor_page_limits_come_from_the_environment() -> None:
    settings = settings_from_env(
        {
            "METRICS_TOKEN": "t" * 32,
            "PAY_CHECKOUT_LIMIT_PER_LINK": "7",
            "PAY_CHECKOUT_LIMIT_PER_IP": "70",
            "PAY_TICKET_LIMIT_PER_LINK": "8",
            "PAY_TICKET_LIMIT_PER_IP": "80",
        }
    )
    assert settings.metrics_token == "t" * 32
    assert (settings.pay_checkout_limit_per_link, settings.pay_checkout_limit_per_ip) == (7, 70)
    assert (settings.pay_ticket_limit_per_link, settings.pay_ticket_limit_per_ip) == (8, 80)
    assert settings_from_env({}).metrics_token is None
    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        settings_from_env({"METRICS_TOKEN": "short"})


def test_session_lifetimes_come_from_the_environment_and_must_be_positive() -> None:
    defaults = settings_from_env({})
    assert (defaults.refresh_token_ttl, defaults.session_max_age) == (30 * 60, 12 * 3600)
    chosen = settings_from_env({"REFRESH_TOKEN_TTL": "600", "SESSION_MAX_AGE": "3600"})
    assert (chosen.refresh_token_ttl, chosen.session_max_age) == (600, 3600)
    for name in ("ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "SESSION_MAX_AGE"):
        with pytest.raises(SettingsError, match=name):
            settings_from_env({name: "0"})


def test_the_jobs_stream_and_the_webhook_lease_come_from_the_environment() -> None:
    defaults = settings_from_env({})
    assert (defaults.jobs_queue, defaults.webhooks_lease_seconds) == ("recoup:jobs", 20)
    chosen = settings_from_env({"JOBS_QUEUE": " recoup:jobs:b ", "WEBHOOKS_LEASE_SECONDS": "3"})
    assert (chosen.jobs_queue, chosen.webhooks_lease_seconds) == ("recoup:jobs:b", 3)
    assert settings_from_env({"WEBHOOKS_LEASE_SECONDS": "600"}).webhooks_lease_seconds == 600
    for seconds in ("2", "601"):
        with pytest.raises(SettingsError, match="WEBHOOKS_LEASE_SECONDS must be between 3"):
            settings_from_env({"WEBHOOKS_LEASE_SECONDS": seconds})
    with pytest.raises(SettingsError, match="JOBS_QUEUE must name a Redis stream"):
        settings_from_env({"JOBS_QUEUE": "   "})


def test_the_relays_gathering_comes_from_the_environment_within_its_bounds() -> None:
    assert settings_from_env({}).relay_gather_ms == 4
    for ms in ("0", "100"):
        assert settings_from_env({"RELAY_GATHER_MS": ms}).relay_gather_ms == int(ms)
    for ms in ("-1", "101"):
        with pytest.raises(SettingsError, match="RELAY_GATHER_MS must be between 0 and 100"):
            settings_from_env({"RELAY_GATHER_MS": ms})
    with pytest.raises(SettingsError, match="RELAY_GATHER_MS"):
        settings_from_env({"RELAY_GATHER_MS": "4.5"})


def test_the_relays_marking_comes_from_the_environment_within_its_bounds() -> None:
    assert settings_from_env({}).relay_mark_ms == 25
    for ms in ("0", "1000"):
        assert settings_from_env({"RELAY_MARK_MS": ms}).relay_mark_ms == int(ms)
    for ms in ("-1", "1001"):
        with pytest.raises(SettingsError, match="RELAY_MARK_MS must be between 0 and 1000"):
            settings_from_env({"RELAY_MARK_MS": ms})


def test_sockets_per_identity_come_from_the_environment_within_their_bounds() -> None:
    assert settings_from_env({}).ws_sockets_per_identity == 100
    for count in ("1", "1000000"):
        assert settings_from_env({"WS_SOCKETS_PER_IDENTITY": count}).ws_sockets_per_identity == (
            int(count)
        )
    for count in ("0", "1000001"):
        with pytest.raises(SettingsError, match="WS_SOCKETS_PER_IDENTITY must be between 1"):
            settings_from_env({"WS_SOCKETS_PER_IDENTITY": count})


def test_worker_processes_are_at_least_one_and_bounded() -> None:
    assert settings_from_env({}).worker_processes == 1
    for count in ("1", "64"):
        assert settings_from_env({"WORKER_PROCESSES": count}).worker_processes == int(count)
    for count in ("0", "-1", "65"):
        with pytest.raises(SettingsError, match="WORKER_PROCESSES must be between 1 and 64"):
            settings_from_env({"WORKER_PROCESSES": count})
