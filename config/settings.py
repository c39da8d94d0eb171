"""Settings read once from the environment into one typed, frozen object.

Development gets safe defaults; production refuses to start with a development
secret. Nothing here does work at import time: call ``get_settings()``.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import msgspec

DEV_SECRET = "recoup-development-secret-do-not-use-in-production"
DEV_SANDBOX_SECRET = "whsec_recoup_sandbox_development"
# Each worker process holds its own database pool: a bound keeps a typo from exhausting it.
MAX_WORKER_PROCESSES = 64

Environment = Literal["development", "test", "production"]


class SettingsError(RuntimeError):
    """The environment describes a configuration Recoup refuses to run with."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    env: Environment = "development"
    secret_key: str = DEV_SECRET
    # Owner connection (migrations, relay, scheduler); the app itself runs as `app_db_role`.
    database_url: str | None = None
    # The login roles of the pools; by default DATABASE_URL with the user swapped.
    app_database_url: str | None = None
    system_database_url: str | None = None
    redis_url: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 10
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".recoup")
    # Where uploaded import files are kept (IMPORTS_DIR; by default `data_dir`/imports).
    imports_dir: Path | None = None
    public_url: str | None = None
    access_token_ttl: int = 15 * 60
    # A sign-in ends when its refresh token goes unused this long (inactivity), and in any
    # case this long after the password was entered (absolute): NIST SP 800-63B's AAL2 values.
    refresh_token_ttl: int = 30 * 60
    session_max_age: int = 12 * 3600
    login_limit_per_email: int = 10
    login_limit_per_email_window: int = 15 * 60
    login_limit_per_ip: int = 100
    login_limit_per_ip_window: int = 60
    # The debtor's page (no login): checkouts started, socket tickets issued and disputes
    # sent, per link and per client address, in windows of `pay_limit_window` seconds. A
    # debtor retrying a declined card a few times a minute stays well inside them.
    pay_checkout_limit_per_link: int = 20
    pay_checkout_limit_per_ip: int = 60
    pay_ticket_limit_per_link: int = 120
    pay_ticket_limit_per_ip: int = 300
    # Disputes sent from the page: one is enough, a few cover a debtor's second thoughts.
    pay_dispute_limit_per_link: int = 5
    pay_dispute_limit_per_ip: int = 30
    pay_limit_window: int = 15 * 60
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks);
    # empty: nobody's, the peer address is the client.
    forwarded_allow_ips: tuple[str, ...] = ()
    # Bearer token that /metrics requires; without one, /metrics is open outside production
    # and closed in production.
    metrics_token: str | None = None
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    worker_processes: int = 1
    # Real-time: per-socket bounds and history per channel.
    ws_send_limit_bytes: int = 512 * 1024
    ws_send_limit_frames: int = 1000
    ws_max_subscriptions: int = 1000
    # Sockets one identity (a user, an API key, a payment link) may hold open on one web
    # process: a browser tab holds one; more is a leak or an attack.
    ws_sockets_per_identity: int = 100
    # "Next task" transactions in flight at once per web process; more wait their turn.
    # Pulls compete for the head of one queue: a few at a time finish sooner than many.
    pull_concurrency: int = 3
    ws_max_frame_bytes: int = 64 * 1024
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    channel_history: int = 1000
    relay_metrics_port: int | None = None
    # How long the relay waits after a commit's notice for more before it publishes: a
    # longer wait costs each event that much latency and the relay less CPU per event
    # (bench/README.md, relay.py, has the trade measured).
    relay_gather_ms: int = 4  # tasks.relay.GATHER_SECONDS
    # How long events a trickle published may wait to be marked published (and handed to
    # webhooks and workflows), gathered with those of the next batches into one statement.
    relay_mark_ms: int = 25  # tasks.relay.MARK_SECONDS
    # Payment providers' webhook secrets, newest first (several while rotating).
    sandbox_webhook_secrets: tuple[str, ...] = (DEV_SANDBOX_SECRET,)
    stripe_webhook_secrets: tuple[str, ...] = ()
    # The built-in sandbox payment provider (its checkout page and its webhook calls).
    payments_sandbox: bool = True
    # Where workflow e-mail goes: smtp://user:password@host:port (smtps:// for TLS from the
    # start, ?starttls=true to upgrade). Without it, e-mail stays in the development mailbox
    # the admin screen shows.
    smtp_url: str | None = None
    smtp_from: str = "Recoup <recoup@localhost>"

    def webhook_secrets(self, provider: str) -> tuple[str, ...] | None:
        """The secrets a provider's webhooks are signed with; None for an unknown provider."""
        if provider == "sandbox":
            return self.sandbox_webhook_secrets if self.payments_sandbox else None
        if provider == "stripe":
            return self.stripe_webhook_secrets or None
        return None

    # Outbound webhooks may reach loopback receivers over plain http (development and
    # tests); off by default outside development: public https addresses only.
    webhooks_allow_local: bool = False
    # A worker sending webhooks holds each delivery for this long, renewed every third of it
    # while it sends: when it dies, another worker sends the delivery again (same webhook-id)
    # within this and the retry job's 5 seconds (under the 30 a dead worker's job may wait).
    webhooks_lease_seconds: int = 20
    # The Redis stream of the background jobs (another name keeps two installations on one
    # Redis apart).
    jobs_queue: str = "recoup:jobs"

    # Development serves over plain http, where a Secure cookie would never come back.
    cookie_secure: bool = False

    @property
    def embedded(self) -> bool:
        """True when Recoup runs its own PostgreSQL and Redis under ``data_dir``."""
        return self.database_url is None or self.redis_url is None

    @property
    def imports_path(self) -> Path:
        """Where import files are kept."""
        return self.imports_dir or self.data_dir / "imports"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def https(self) -> bool:
        """True when users reach Recoup over HTTPS (so browsers may be told to insist on it)."""
        return self.base_url.lower().startswith("https://")

    def check(self) -> Settings:
        """Refuse configurations that would be unsafe; returns self for chaining."""
        for name, seconds in (
            ("ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("REFRESH_TOKEN_TTL", self.refresh_token_ttl),
            ("SESSION_MAX_AGE", self.session_max_age),
        ):
            if seconds <= 0:
                raise SettingsError(f"{name} must be a positive number of seconds")
        if not 3 <= self.webhooks_lease_seconds <= 600:
            raise SettingsError("WEBHOOKS_LEASE_SECONDS must be between 3 and 600 seconds")
        if not 1 <= self.ws_sockets_per_identity <= 1_000_000:
            raise SettingsError("WS_SOCKETS_PER_IDENTITY must be between 1 and 1000000")
        if not 1 <= self.worker_processes <= MAX_WORKER_PROCESSES:
            raise SettingsError(f"WORKER_PROCESSES must be between 1 and {MAX_WORKER_PROCESSES}")
        if not 0 <= self.relay_gather_ms <= 100:
            raise SettingsError("RELAY_GATHER_MS must be between 0 and 100 milliseconds")
        if not 0 <= self.relay_mark_ms <= 1000:
            raise SettingsError("RELAY_MARK_MS must be between 0 and 1000 milliseconds")
        if not self.jobs_queue.strip():
            raise SettingsError("JOBS_QUEUE must name a Redis stream")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise SettingsError("METRICS_TOKEN must be at least 16 random characters")
        for proxy in self.forwarded_allow_ips:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"FORWARDED_ALLOW_IPS takes IP addresses or networks (10.0.0.0/8), "
                    f"comma-separated; {proxy!r} is neither"
                ) from None
        if self.env == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise SettingsError(
                    "RECOUP_ENV=production needs SECRET_KEY set to a random value of at least "
                    "32 characters (for example: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'); refusing to start with the "
                    "development secret."
                )
            if self.payments_sandbox and DEV_SANDBOX_SECRET in self.sandbox_webhook_secrets:
                raise SettingsError(
                    "PAYMENTS_SANDBOX is on in production with the development webhook secret; "
                    "set SANDBOX_WEBHOOK_SECRETS or turn the sandbox off"
                )
            if self.webhooks_allow_local:
                raise SettingsError(
                    "WEBHOOKS_ALLOW_LOCAL lets webhooks reach this machine's own services; "
                    "it is for development only and refused in production"
                )
            if self.database_url is None or self.redis_url is None:
                raise SettingsError(
                    "RECOUP_ENV=production needs DATABASE_URL and REDIS_URL; the embedded "
                    "servers are for development only."
                )
        return self


def _bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"expected a boolean (true/false), got {value!r}")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from None


def settings_from_env(environ: dict[str, str] | os._Environ[str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default)."""
    e = os.environ if environ is None else environ
    env = e.get("RECOUP_ENV", "development")
    if env not in ("development", "test", "production"):
        raise SettingsError(f"RECOUP_ENV must be development, test or production, got {env!r}")
    values: dict[str, object] = {"env": env}
    text = {
        "SECRET_KEY": "secret_key",
        "DATABASE_URL": "database_url",
        "REDIS_URL": "redis_url",
        "APP_DATABASE_URL": "app_database_url",
        "SYSTEM_DATABASE_URL": "system_database_url",
        "HOST": "host",
        "PUBLIC_URL": "public_url",
        "LOG_LEVEL": "log_level",
        "METRICS_TOKEN": "metrics_token",
        "SMTP_URL": "smtp_url",
        "SMTP_FROM": "smtp_from",
    }
    for var, field in text.items():
        if e.get(var):
            values[field] = e[var]
    numbers = {
        "PORT": "port",
        "DB_POOL_MIN": "db_pool_min",
        "DB_POOL_MAX": "db_pool_max",
        "ACCESS_TOKEN_TTL": "access_token_ttl",
        "REFRESH_TOKEN_TTL": "refresh_token_ttl",
        "SESSION_MAX_AGE": "session_max_age",
        "LOGIN_LIMIT_PER_EMAIL": "login_limit_per_email",
        "LOGIN_LIMIT_PER_IP": "login_limit_per_ip",
        "MAX_BODY_BYTES": "max_body_bytes",
        "WORKER_PROCESSES": "worker_processes",
        "WS_SEND_LIMIT_BYTES": "ws_send_limit_bytes",
        "WS_MAX_SUBSCRIPTIONS": "ws_max_subscriptions",
        "WS_SOCKETS_PER_IDENTITY": "ws_sockets_per_identity",
        "PULL_CONCURRENCY": "pull_concurrency",
        "CHANNEL_HISTORY": "channel_history",
        "RELAY_METRICS_PORT": "relay_metrics_port",
        "RELAY_GATHER_MS": "relay_gather_ms",
        "RELAY_MARK_MS": "relay_mark_ms",
        "PAY_CHECKOUT_LIMIT_PER_LINK": "pay_checkout_limit_per_link",
        "PAY_CHECKOUT_LIMIT_PER_IP": "pay_checkout_limit_per_ip",
        "PAY_TICKET_LIMIT_PER_LINK": "pay_ticket_limit_per_link",
        "PAY_TICKET_LIMIT_PER_IP": "pay_ticket_limit_per_ip",
        "WEBHOOKS_LEASE_SECONDS": "webhooks_lease_seconds",
        "PAY_DISPUTE_LIMIT_PER_LINK": "pay_dispute_limit_per_link",
        "PAY_DISPUTE_LIMIT_PER_IP": "pay_dispute_limit_per_ip",
    }
    for var, field in numbers.items():
        if e.get(var):
            values[field] = _int(var, e[var])
    for var, field in (
        ("WS_PING_INTERVAL", "ws_ping_interval"),
        ("WS_PING_TIMEOUT", "ws_ping_timeout"),
    ):
        if e.get(var):
            try:
                values[field] = float(e[var])
            except ValueError:
                raise SettingsError(f"{var} must be a number of seconds, got {e[var]!r}") from None
    for var, field in (
        ("SANDBOX_WEBHOOK_SECRETS", "sandbox_webhook_secrets"),
        ("STRIPE_WEBHOOK_SECRETS", "stripe_webhook_secrets"),
        ("FORWARDED_ALLOW_IPS", "forwarded_allow_ips"),
    ):
        if e.get(var):
            values[field] = tuple(x.strip() for x in e[var].split(",") if x.strip())
    if e.get("PAYMENTS_SANDBOX"):
        values["payments_sandbox"] = _bool(e["PAYMENTS_SANDBOX"])
    elif env == "production":
        values["payments_sandbox"] = False
    if e.get("RECOUP_DATA_DIR"):
        values["data_dir"] = Path(e["RECOUP_DATA_DIR"])
    values["data_dir"] = Path(values.get("data_dir", Path(".recoup"))).resolve()  # type: ignore[arg-type]
    values["imports_dir"] = (
        Path(e["IMPORTS_DIR"]) if e.get("IMPORTS_DIR") else values["data_dir"] / "imports"  # type: ignore[operator]
    ).resolve()
    if e.get("LOG_JSON"):
        values["log_json"] = _bool(e["LOG_JSON"])
    if e.get("WEBHOOKS_ALLOW_LOCAL"):
        values["webhooks_allow_local"] = _bool(e["WEBHOOKS_ALLOW_LOCAL"])
    else:
        values["webhooks_allow_local"] = env == "development"
    if e.get("JOBS_QUEUE"):
        values["jobs_queue"] = e["JOBS_QUEUE"].strip()
    if e.get("COOKIE_SECURE"):
        values["cookie_secure"] = _bool(e["COOKIE_SECURE"])
    elif env == "production":
        values["cookie_secure"] = True
    return Settings(**values).check()  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return settings_from_env()
