"""Outbound webhooks without a database: signatures as the reference library makes them,
the retry schedule and Retry-After, the address policy, and the deployment's setting."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from standardwebhooks.webhooks import Webhook

from config.settings import SettingsError, settings_from_env
from domain.errors import InvalidInput
from domain.webhooks.delivery import ATTEMPTS, MAX_RETRY_AFTER, SCHEDULE, next_attempt, retry_after
from domain.webhooks.signing import SecretBox, new_secret, signature, signatures
from domain.webhooks.urls import UrlPolicy, check_url, is_public

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_our_signature_is_the_reference_librarys() -> None:
    secret = new_secret()
    body = '{"type":"account.updated","data":{"id":1}}'
    ours = signature(secret, "msg_1", 1764579600, body.encode())
    theirs = Webhook(secret).sign("msg_1", dt.datetime.fromtimestamp(1764579600, dt.UTC), body)
    assert ours == theirs


def test_both_secrets_sign_during_a_rotation_and_either_verifies() -> None:
    old, new = new_secret(), new_secret()
    header = signatures([new, old], "msg_2", 1764579600, b"{}")
    assert header.count("v1,") == 2
    assert header.split(" ")[0] == signature(new, "msg_2", 1764579600, b"{}")
    assert header.split(" ")[1] == signature(old, "msg_2", 1764579600, b"{}")


def test_a_sealed_secret_opens_only_under_its_server_key() -> None:
    secret = new_secret()
    sealed = SecretBox("one server key of enough length").seal(secret)
    assert secret not in sealed
    assert SecretBox("one server key of enough length").open(sealed) == secret
    with pytest.raises(ValueError, match="another server key"):
        SecretBox("another server key").open(sealed)


def test_the_schedule_then_the_dead_letter() -> None:
    assert [s.total_seconds() for s in SCHEDULE] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert ATTEMPTS == 8
    assert next_attempt(1, NOW, None, 1.0) == NOW + dt.timedelta(seconds=5)
    assert next_attempt(7, NOW, None, 1.0) == NOW + dt.timedelta(hours=10)
    assert next_attempt(8, NOW, None, 1.0) is None
    # Jitter spreads the wait.
    assert next_attempt(2, NOW, None, 1.1) == NOW + dt.timedelta(minutes=5.5)
    assert next_attempt(2, NOW, None, 0.9) == NOW + dt.timedelta(minutes=4.5)


def test_retry_after_is_waited_when_longer_than_the_schedule() -> None:
    asked = retry_after("120", NOW)
    assert asked == dt.timedelta(seconds=120)
    assert next_attempt(1, NOW, asked, 1.0) == NOW + dt.timedelta(seconds=120)
    # Shorter than the schedule: the schedule.
    assert next_attempt(2, NOW, asked, 1.0) == NOW + dt.timedelta(minutes=5)
    date = "Tue, 01 Dec 2026 09:10:00 GMT"
    assert retry_after(date, NOW) == dt.timedelta(minutes=10)
    assert retry_after("Tue, 01 Dec 2026 08:00:00 GMT", NOW) == dt.timedelta(0)
    assert retry_after("999999999", NOW) == MAX_RETRY_AFTER
    assert retry_after("soon", NOW) is None
    assert retry_after(None, NOW) is None


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:7f00:1::", False),
    ],
)
def test_only_global_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


async def test_the_development_setting_admits_loopback_and_http_but_not_private() -> None:
    local = UrlPolicy(allow_local=True)
    assert await check_url("http://127.0.0.1:8080/hooks", local) == "http://127.0.0.1:8080/hooks"
    assert await check_url("https://[::1]/hooks", local) == "https://[::1]/hooks"
    with pytest.raises(InvalidInput) as refused:
        await check_url("http://10.0.0.1/hooks", local)
    assert refused.value.field == "url"
    with pytest.raises(InvalidInput):
        await check_url("http://127.0.0.1:8080/hooks", UrlPolicy())


@pytest.mark.parametrize(
    "url",
    [
        "https://a..b/hooks",
        "https://" + "a" * 64 + ".example/hooks",
        "https://[::1/hooks",
        "https://example.com:99999/hooks",
        "https:///hooks",
        "mailto:someone@example.com",
    ],
)
async def test_a_malformed_url_is_a_422_naming_url(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await check_url(url, UrlPolicy())
    assert refused.value.field == "url"


def test_the_setting_is_on_only_in_development_and_refused_in_production() -> None:
    assert settings_from_env({}).webhooks_allow_local is True
    assert settings_from_env({"RECOUP_ENV": "test"}).webhooks_allow_local is False
    assert (
        settings_from_env(
            {"RECOUP_ENV": "test", "WEBHOOKS_ALLOW_LOCAL": "true"}
        ).webhooks_allow_local
        is True
    )
    production = {
        "RECOUP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgresql://db/recoup",
        "REDIS_URL": "redis://redis",
    }
    assert settings_from_env(production).webhooks_allow_local is False
    with pytest.raises(SettingsError, match="WEBHOOKS_ALLOW_LOCAL"):
        settings_from_env({**production, "WEBHOOKS_ALLOW_LOCAL": "true"})
