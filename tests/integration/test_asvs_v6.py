"""OWASP ASVS 5.0, V6 Authentication: a test for each level 1 and 2 requirement that
applies to Recoup, named after it (docs/security.md holds the table)."""

from __future__ import annotations

import re
import subprocess
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from config.settings import Settings
from domain.auth.passwords import CONTEXT_WORDS, check_password_strength
from domain.errors import InvalidInput
from server.app import create_app
from server.realtime import WS_PATH
from server.resources import Resources
from tests.conftest import RECOUP, ROOT, _free_port, recoup_env
from tests.factories import PASSWORD, SeededTenant
from tests.integration.asvs_helpers import (
    LOGIN,
    ME,
    USERS,
    doc_section,
    login_status,
    me,
    new_user,
    sign_in,
)
from tests.realtime import start_web, stop, ticket

# zxcvbn's list of the most common passwords, as breaches leaked them, most common first.
COMMON = FREQUENCY_LISTS["passwords"]


def password_error(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "password", error
    return error["message"]


# V6.1 Authentication documentation ---------------------------------------------------------


def test_asvs_v6_1_1_rate_limits_against_guessing_are_documented_as_configured() -> None:
    limits = Settings()
    section = doc_section("V6 Authentication")
    for documented in (
        f"{limits.login_limit_per_email} attempts per e-mail in "
        f"{limits.login_limit_per_email_window // 60} minutes",
        f"{limits.login_limit_per_ip} attempts per address in "
        f"{limits.login_limit_per_ip_window} seconds",
        "LOGIN_LIMIT_PER_EMAIL",
        "LOGIN_LIMIT_PER_IP",
    ):
        assert documented in section, documented


def test_asvs_v6_1_2_the_context_specific_words_are_documented() -> None:
    section = doc_section("V6 Authentication")
    missing = [word for word in CONTEXT_WORDS if f"`{word}`" not in section]
    assert not missing, f"docs/security.md should list {missing}"


def _ways_in(settings: Settings) -> set[str]:
    """Every route that does not take a bearer token (access token or API key), by the app's
    own route table, as ``METHOD /path`` with parameter types left out."""
    found = {f"WS {WS_PATH}"}
    for route in create_app(settings).routes:
        for handler in getattr(route, "route_handlers", []):
            bearer_only = route.path.startswith("/api/v1") and not handler.opt.get(
                "exclude_from_auth"
            )
            if bearer_only:
                continue
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            for method in getattr(handler, "http_methods", set()) - {"HEAD", "OPTIONS"}:
                found.add(f"{method} {path}")
    return found


def test_asvs_v6_1_3_every_way_in_is_documented_with_what_stands_for_a_sign_in(
    settings: Settings,
) -> None:
    documented = set(
        re.findall(r"`((?:GET|POST|PATCH|PUT|DELETE|WS) /[^`]*)`", doc_section("Ways in"))
    )
    served = _ways_in(settings)
    assert not served - documented, f"undocumented ways in: {sorted(served - documented)}"
    assert not documented - served, f"documented, but not served: {documented - served}"


# V6.2 Password security --------------------------------------------------------------------


async def test_asvs_v6_2_1_passwords_have_at_least_8_characters(
    client, tenant: SeededTenant
) -> None:
    assert "at least 8 characters" in password_error(await new_user(client, tenant, "k7#Vq!z"))
    # Eight pass the length rule (eight random characters are still too guessable by zxcvbn).
    assert "at least 8" not in password_error(await new_user(client, tenant, "k7#Vq!zM"))
    assert (await new_user(client, tenant, "k7#Vq!zMw")).status_code == 201


async def test_asvs_v6_2_2_users_can_change_their_password(client, tenant: SeededTenant) -> None:
    user = tenant.other_collector
    changed = await client.patch(
        ME,
        json={"password": "quiet harbour lanterns", "current_password": PASSWORD},
        headers=user.headers,
    )
    assert changed.status_code == 200, changed.text
    assert await login_status(client, user.email, "quiet harbour lanterns") == 200
    assert await login_status(client, user.email, PASSWORD) == 401


async def test_asvs_v6_2_3_a_password_change_needs_the_current_and_the_new_password(
    client, tenant: SeededTenant
) -> None:
    new = {"password": "copper kettle meadows"}
    for current in ({}, {"current_password": "not my password"}):
        refused = await client.patch(ME, json={**new, **current}, headers=tenant.readonly.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "current_password"
    assert await login_status(client, tenant.readonly.email, PASSWORD) == 200
    both = {**new, "current_password": PASSWORD}
    assert (await client.patch(ME, json=both, headers=tenant.readonly.headers)).status_code == 200


async def test_asvs_v6_2_4_the_3000_most_common_passwords_are_refused(
    client, tenant: SeededTenant
) -> None:
    top = [p for p in COMMON[:3000] if len(p) >= 8]  # shorter ones fail the length rule
    assert len(top) > 800
    accepted = []
    for password in top:
        try:
            await check_password_strength(password)
            accepted.append(password)
        except InvalidInput:
            pass
    assert not accepted
    # And through the API, for a new user and for a password change alike.
    for password in top[:: len(top) // 8]:
        assert "stronger" in password_error(await new_user(client, tenant, password))
    change = {"password": top[0], "current_password": PASSWORD}
    password_error(await client.patch(ME, json=change, headers=tenant.collector.headers))


@pytest.mark.parametrize(
    "password",
    [
        "wandering ochre lighthouse",  # lower case and spaces only
        "83027495610382745",  # digits only
        "ŝtelo kaj ĉevalo bluaj",  # letters beyond ASCII
        "🦉🌵🚲🎻 owl cactus",  # symbols
        "QUIET HARBOUR LANTERNS TONIGHT",  # upper case only
    ],
)
async def test_asvs_v6_2_5_passwords_of_any_composition_are_accepted(
    client, tenant: SeededTenant, password: str
) -> None:
    created = await new_user(client, tenant, password)
    assert created.status_code == 201, created.text
    assert await login_status(client, created.json()["email"], password) == 200


def _password_inputs() -> list[str]:
    """Every input a password is typed into: in our HTML pages and built by our scripts."""
    frontend = ROOT / "frontend"
    found = []
    for page in frontend.rglob("*.html"):
        found += [i for i in re.findall(r"<input[^>]*>", page.read_text()) if "password" in i]
    for script in frontend.rglob("*.js"):
        found += [
            i for i in re.findall(r'h\("input",\s*\{[^}]*\}', script.read_text()) if "password" in i
        ]
    return found


async def test_asvs_v6_2_6_password_fields_mask_what_is_typed(client) -> None:
    inputs = _password_inputs()
    assert inputs, "the sign-in page has a password field"
    for field in inputs:
        assert re.search(r"""type[=:]\s*["']password["']""", field), field
    served = (await client.get("/login")).text
    assert re.search(r'<input[^>]*id="password"[^>]*type="password"', served)


def test_asvs_v6_2_7_paste_and_password_managers_are_not_blocked() -> None:
    for path in (ROOT / "frontend").rglob("*"):
        if path.suffix in (".js", ".html"):
            text = path.read_text()
            blocked = r"""\bon(paste|drop)\b|addEventListener\(\s*["'](paste|drop)["']"""
            assert not re.search(blocked, text), path
    for field in _password_inputs():
        # As an HTML attribute (autocomplete="...") or in h()'s attributes (autocomplete: "...").
        assert not re.search(r"""autocomplete[=:]\s*["']off["']""", field), field
        assert re.search(r"""autocomplete[=:]\s*["'](current|new)-password["']""", field), field


async def test_asvs_v6_2_8_the_password_is_verified_exactly_as_typed(
    client, tenant: SeededTenant
) -> None:
    password = "Crème Brûlée at Noon "  # mixed case, non-ASCII, a trailing space
    created = await new_user(client, tenant, password)
    assert created.status_code == 201, created.text
    email = created.json()["email"]
    decomposed = "Cre\u0300me Bru\u0302le\u0301e at Noon "  # the same letters, NFD
    for variant in (password.strip(), password.lower(), password[:-2], decomposed):
        assert await login_status(client, email, variant) == 401, repr(variant)
    assert await login_status(client, email, password) == 200


async def test_asvs_v6_2_9_passwords_of_64_characters_and_more_are_permitted(
    client, tenant: SeededTenant
) -> None:
    words = "wandering ochre lighthouse keeps fourteen quiet ledgers "
    for length in (64, 256):
        password = (words * 5)[:length]
        created = await new_user(client, tenant, password)
        assert created.status_code == 201, created.text
        assert await login_status(client, created.json()["email"], password) == 200
    assert await login_status(client, created.json()["email"], password[:-1]) == 401  # whole
    assert "256" in password_error(await new_user(client, tenant, (words * 5)[:257]))


async def test_asvs_v6_2_10_passwords_never_expire_by_age(client, tenant: SeededTenant) -> None:
    user = tenant.supervisor
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            """UPDATE users SET created_at = now() - interval '5 years',
              updated_at = now() - interval '5 years', last_login_at = NULL WHERE id = $1""",
            user.id,
        )
    tokens = await sign_in(client, user.email)
    assert await me(client, tokens) == 200
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}


async def test_asvs_v6_2_11_context_specific_words_make_a_password_guessable(
    client, tenant: SeededTenant
) -> None:
    renamed = await client.patch(
        "/api/v1/tenant", json={"name": "Northwind Recovery"}, headers=tenant.admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    # Strong by zxcvbn's own dictionaries; made of our roles, or of the tenant's name.
    for password in ("supervisorreadonly", "northwindrecovery"):
        assert "stronger" in password_error(await new_user(client, tenant, password))
    assert (await new_user(client, tenant, "zanzibarquokka")).status_code == 201


async def test_asvs_v6_2_12_breached_passwords_are_refused(client, tenant: SeededTenant) -> None:
    # Deep in the list: not merely the top few thousand.
    breached = [p for p in COMMON[20_000:] if len(p) >= 10][:5]
    assert len(breached) == 5
    for password in (*breached, "trustno1", "Summer2024!", "P@ssw0rd123"):
        password_error(await new_user(client, tenant, password))


# V6.3 General authentication security ------------------------------------------------------


@pytest.fixture(scope="module")
async def web_with_low_limits(settings: Settings, resources: Resources):  # type: ignore[no-untyped-def]
    """``recoup web`` (uvicorn decides who the client is) with limits reached in a test."""
    port = _free_port()
    env = recoup_env(settings, HOST="127.0.0.1", LOGIN_LIMIT_PER_EMAIL="2", LOGIN_LIMIT_PER_IP="6")
    env.pop("FORWARDED_ALLOW_IPS", None)
    process = await start_web(env, port)
    await resources.redis.delete("recoup:login:ip:127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        await resources.redis.delete("recoup:login:ip:127.0.0.1")


async def test_asvs_v6_3_1_password_guessing_is_limited_per_e_mail_and_per_address(
    web_with_low_limits: str, tenant: SeededTenant
) -> None:
    async with httpx.AsyncClient(base_url=web_with_low_limits) as http:

        async def attempt(email: str, password: str, forwarded: str | None = None) -> int:
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            body = {"email": email, "password": password}
            return (await http.post(LOGIN, json=body, headers=headers)).status_code

        # Per e-mail: two wrong passwords, then even the right one waits.
        assert [await attempt(tenant.admin.email, "wrong") for _ in range(2)] == [401, 401]
        assert await attempt(tenant.admin.email, PASSWORD) == 429
        assert await attempt(tenant.supervisor.email, PASSWORD) == 200  # another e-mail
        # Per address: a forged X-Forwarded-For from an untrusted peer changes nothing.
        statuses = [
            await attempt(f"n{i}@{tenant.slug}.test", "wrong", forwarded=f"203.0.113.{i}")
            for i in range(3)
        ]
        assert statuses == [401, 401, 429], statuses


async def test_asvs_v6_3_2_there_are_no_default_accounts(settings: Settings, db, demo) -> None:
    run = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 120}
    production = recoup_env(settings, RECOUP_ENV="production", PAYMENTS_SANDBOX="false")
    refused = subprocess.run([*RECOUP, "seed-demo"], env=production, **run)
    assert refused.returncode != 0
    assert "never created with RECOUP_ENV=production" in refused.stderr
    allowed = subprocess.run([*RECOUP, "seed-demo"], env=recoup_env(settings), **run)
    assert allowed.returncode == 0, allowed.stderr
    assert "demo tenant already there" in allowed.stdout
    # A new tenant starts with no user at all: its first admin is created by hand.
    slug = f"t-{uuid.uuid4().hex[:12]}"
    create = [*RECOUP, "tenant", "create", "--slug", slug, "--name", "Fresh"]
    assert subprocess.run(create, env=recoup_env(settings), **run).returncode == 0
    async with db.system() as conn:
        users = await conn.fetchval(
            "SELECT count(*) FROM users JOIN tenants t ON t.id = tenant_id WHERE t.slug = $1",
            slug,
        )
    assert users == 0


async def test_asvs_v6_3_4_sockets_take_only_their_own_credentials(
    client, live_server: str, tenant: SeededTenant
) -> None:
    tokens = await sign_in(client, tenant.supervisor.email)
    link = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links", headers=tenant.admin.headers
    )
    not_tickets = (
        tokens["access_token"],
        tokens["refresh_token"],
        link.json()["url"].rsplit("/", 1)[-1],
    )
    ws_url = live_server.replace("http://", "ws://") + WS_PATH
    for credential in not_tickets:
        for url, headers in (
            (f"{ws_url}?ticket={credential}", {}),
            (ws_url, {"Authorization": f"Bearer {credential}"}),
        ):
            async with connect(url, additional_headers=headers) as ws:
                await ws.wait_closed()
                assert ws.close_code == 4001, (credential[:12], url)
    good = await ticket(client, tenant.supervisor)  # what a sign-in trades for a socket
    async with connect(f"{ws_url}?ticket={good}") as ws:
        await ws.send('{"op": "ping"}')
        assert "pong" in await ws.recv()


# V6.4 Authentication factor lifecycle and recovery -----------------------------------------


async def test_asvs_v6_4_2_there_are_no_password_hints_or_secret_questions(
    client, tenant: SeededTenant
) -> None:
    schema = (await client.get("/schema/openapi.json")).text.lower()
    for word in ("hint", "question", "secret_answer", "security_answer", "reminder"):
        assert word not in schema, word
    hinted = await new_user(client, tenant, "k7#Vq!zMw", password_hint="the usual")
    assert hinted.status_code == 422, hinted.text


async def test_asvs_v6_4_3_a_forgotten_password_is_reset_by_an_admin_only(
    client, tenant: SeededTenant
) -> None:
    user = tenant.collector
    tokens = await sign_in(client, user.email)
    reset = {"password": "violet tram at dusk"}
    for role in ("supervisor", "collector", "readonly"):
        path = f"{USERS}/{user.id}"
        forbidden = await client.patch(path, json=reset, headers=tenant.users[role].headers)
        assert forbidden.status_code == 403, role
    done = await client.patch(f"{USERS}/{user.id}", json=reset, headers=tenant.admin.headers)
    assert done.status_code == 200, done.text
    assert await login_status(client, user.email, PASSWORD) == 401
    assert await login_status(client, user.email, reset["password"]) == 200
    assert await me(client, tokens) == 401  # whoever held the old password is out
