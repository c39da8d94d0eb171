"""OWASP ASVS 5.0, V9 Self-contained Tokens: a test for each level 1 and 2 requirement,
named after it (docs/security.md holds the table). Recoup's self-contained tokens are its
access tokens (JWT, HS256); its signed links (payment pages, opt-outs) are itsdangerous
tokens made with the same secret for one purpose each."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import connect

from config.settings import Settings
from domain.compliance.optout import optout_url
from tests.conftest import SECRET
from tests.factories import SeededTenant
from tests.integration.asvs_helpers import claims_of, forge, me, sign_in

ANOTHER_KEY = "another-deployments-secret-" + "y" * 30


async def valid_claims(client, tenant: SeededTenant) -> dict:  # type: ignore[no-untyped-def]
    tokens = await sign_in(client, tenant.supervisor.email)
    assert await me(client, tokens) == 200
    return claims_of(tokens["access_token"])


def _segment(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def signed_as(claims: dict, algorithm: str) -> str:
    """Our HMAC signature under another algorithm's name (the key-confusion attack)."""
    signing_input = f"{_segment({'alg': algorithm, 'typ': 'JWT'})}.{_segment(claims)}"
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


# V9.1 Token source and integrity -----------------------------------------------------------


async def test_asvs_v9_1_1_tokens_are_accepted_only_with_a_valid_signature(
    client, tenant: SeededTenant
) -> None:
    claims = await valid_claims(client, tenant)
    assert await me(client, forge(claims)) == 200  # re-signed with our key: still good
    assert await me(client, forge(claims, key=ANOTHER_KEY)) == 401
    head, payload, signature = forge(claims).split(".")
    other_payload = forge(claims, role="admin").split(".")[1]
    assert await me(client, f"{head}.{other_payload}.{signature}") == 401  # tampered
    assert await me(client, f"{head}.{payload}.") == 401  # signature left off
    assert await me(client, f"{head}.{payload}.{signature[:-4]}AAAA") == 401


@pytest.mark.filterwarnings("ignore:The HMAC key")
async def test_asvs_v9_1_2_only_hs256_is_accepted_and_never_none(
    client, tenant: SeededTenant
) -> None:
    claims = await valid_claims(client, tenant)
    assert await me(client, forge(claims, algorithm="HS256")) == 200
    for algorithm in ("HS384", "HS512"):  # the right key, another algorithm
        assert await me(client, forge(claims, algorithm=algorithm)) == 401, algorithm
    assert await me(client, forge(claims, key=None, algorithm="none")) == 401
    assert await me(client, signed_as(claims, "HS256")) == 200
    for algorithm in ("RS256", "ES256", "PS256", "EdDSA"):
        assert await me(client, signed_as(claims, algorithm)) == 401, algorithm


async def test_asvs_v9_1_3_keys_come_only_from_our_configuration_never_from_the_token(
    client, tenant: SeededTenant
) -> None:
    claims = await valid_claims(client, tenant)
    attacker = {"kty": "oct", "k": "YW5vdGhlci1kZXBsb3ltZW50cy1zZWNyZXQ"}
    pointers = [
        {"jwk": attacker},
        {"jku": "https://attacker.example/keys.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"kid": "../../../dev/null"},
    ]
    for header in pointers:
        # Signed by the key the header points to: refused, that key is not ours.
        assert await me(client, forge(claims, key=ANOTHER_KEY, headers=header)) == 401, header
        # Signed by our key: the header changes nothing either way.
        assert await me(client, forge(claims, headers=header)) == 200, header


# V9.2 Token content ------------------------------------------------------------------------


async def test_asvs_v9_2_1_tokens_are_accepted_only_within_their_validity_time(
    client, tenant: SeededTenant
) -> None:
    claims = await valid_claims(client, tenant)
    now = int(time.time())
    assert await me(client, forge(claims, exp=now + 60)) == 200
    assert await me(client, forge(claims, exp=now - 30)) == 401
    assert await me(client, forge(claims, exp=None)) == 401  # no expiry: not accepted
    assert await me(client, forge(claims, nbf=now - 60)) == 200
    assert await me(client, forge(claims, nbf=now + 60)) == 401  # not yet valid


async def test_asvs_v9_2_2_a_token_is_accepted_only_for_its_own_purpose(
    client, settings: Settings, live_server: str, tenant: SeededTenant
) -> None:
    claims = await valid_claims(client, tenant)
    tokens = await sign_in(client, tenant.supervisor.email)
    link = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links", headers=tenant.admin.headers
    )
    pay_path = urlsplit(link.json()["url"]).path
    ticket = (
        await client.post(
            "/api/v1/realtime/ticket",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    ).json()["ticket"]
    # As a bearer token: only an access token.
    for other in (
        forge(claims, typ="refresh"),
        forge(claims, typ=None),
        tokens["refresh_token"],
        ticket,
        pay_path.rsplit("/", 1)[-1],
    ):
        assert await me(client, other) == 401, other[:16]
    # As a payment link: only a payment link.
    assert (await client.get(pay_path + "/summary")).status_code == 200
    optout = urlsplit(optout_url("", settings.secret_key, tenant.id, 1, "email")).path
    for other in (tokens["access_token"], optout.rsplit("/", 1)[-1]):
        assert (await client.get(f"/pay/{other}/summary")).status_code == 404
    # As a socket ticket: only a ticket (it works once).
    ws_url = live_server.replace("http://", "ws://") + "/ws?ticket="
    async with connect(ws_url + tokens["access_token"]) as refused:
        await refused.wait_closed()
        assert refused.close_code == 4001
    async with connect(ws_url + ticket) as accepted:
        await accepted.send('{"op": "ping"}')
        assert "pong" in await accepted.recv()


async def test_asvs_v9_2_3_tokens_are_accepted_only_by_the_service_they_were_made_for(
    client, tenant: SeededTenant
) -> None:
    claims = await valid_claims(client, tenant)
    assert await me(client, forge(claims, iss="recoup")) == 200
    for issuer in ("another-service", None):
        assert await me(client, forge(claims, iss=issuer)) == 401, issuer
    for audience in ("another-service", ["billing", "crm"]):
        assert await me(client, forge(claims, aud=audience)) == 401, audience
    # Another deployment's tokens (another key) mean nothing here.
    assert await me(client, forge(claims, key=ANOTHER_KEY)) == 401


async def test_asvs_v9_2_4_one_secret_signs_each_purpose_apart(
    client, settings: Settings, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    link = await client.post(
        f"/api/v1/accounts/{account.id}/payment-links", headers=tenant.admin.headers
    )
    link_token = urlsplit(link.json()["url"]).path.rsplit("/", 1)[-1]
    optout = urlsplit(optout_url("", settings.secret_key, tenant.id, account.debtor_id, "email"))
    optout_token = optout.path.rsplit("/", 1)[-1]
    assert (await client.get(optout.path)).status_code == 200
    assert (await client.get(f"/pay/{link_token}/summary")).status_code == 200
    # Each made with SECRET_KEY, each worthless for the other's purpose.
    assert (await client.get(f"/optout/{link_token}")).status_code == 404
    assert (await client.get(f"/pay/{optout_token}/summary")).status_code == 404
    assert settings.secret_key == SECRET
