"""Where a webhook may go: the policy against server-side request forgery (SSRF).

At save time the URL must be ``https`` (plain ``http`` only where the tenant allows it for
development) and every address its host resolves to must be globally reachable. At delivery
the same check runs again before each batch of requests (``refusal``: a name that changed its
answer since the save is refused before anything connects to it), and once more on the
address the connection is then made to: ``httpx-secure`` resolves the host, checks the address
it picked and connects to that very address (so the name cannot change its answer between the
check and the connection); redirects are never followed. Both resolve through the event
loop's ``getaddrinfo``, the system's resolver.

A deployment setting (``WEBHOOKS_ALLOW_LOCAL``, on by default in development only) also
admits loopback addresses and plain ``http``, so that receivers on the same machine work in
development and tests.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from httpx_secure import httpx_ssrf_protection

from domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Named beside ``is_global`` so that a change in what Python counts as global cannot let
# one of these through.
_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
        "64:ff9b::/96",  # NAT64: checked through the IPv4 address inside
    )
)


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """``allow_local``: the deployment admits loopback and plain http (development);
    ``allow_http``: the tenant admits plain http (to global addresses)."""

    allow_local: bool = False
    allow_http: bool = False

    def admits(self, address: IPAddress) -> bool:
        if self.allow_local and address.is_loopback:
            return True
        return is_public(address)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return is_public(inner)
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return is_public(ipaddress.IPv4Address(address.packed[-4:]))
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address in net for net in _REFUSED if net.version == address.version)


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        # UnicodeError: a name IDNA cannot encode (an empty or overlong label).
        raise InvalidInput(f"{host} does not resolve", field="url") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_url(url: str, policy: UrlPolicy) -> str:
    """The URL, normalised, if a webhook may go there; 422 naming ``url`` if not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidInput("not a valid URL", field="url") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidInput("webhook URLs must use https", field="url")
    if scheme == "http" and not (policy.allow_http or policy.allow_local):
        raise InvalidInput(
            "webhook URLs must use https (plain http only where the tenant allows it for "
            "development)",
            field="url",
        )
    host = parts.hostname
    if not host:
        raise InvalidInput("the URL names no host", field="url")
    if parts.username or parts.password:
        raise InvalidInput("the URL may not carry a user name or password", field="url")
    addresses = await resolve(host, port or (443 if scheme == "https" else 80))
    refused = [str(a) for a in addresses if not policy.admits(a)]
    if not addresses or refused:
        raise InvalidInput(
            f"{host} resolves to an address webhooks may not reach "
            f"({', '.join(refused) or 'none'}): only public addresses are allowed",
            field="url",
        )
    return parts.geturl()


async def refusal(url: str, policy: UrlPolicy) -> str | None:
    """Why a delivery may not go to ``url`` now (its host resolves, at this moment, to an
    address the policy refuses, or to none); None if it may. Checked before any connection
    is made: httpx-secure, which checks again the address it then connects to, finds that
    address by opening (and closing) a connection to it, and the attempt's error would then
    tell a closed port from an open one on the refused host. The scheme is the caller's
    concern (the tenant's setting can change between attempts)."""
    try:
        await check_url(url, UrlPolicy(allow_local=policy.allow_local, allow_http=True))
    except InvalidInput as exc:
        return f"refused: {exc.detail}"
    return None


def delivery_client(policy: UrlPolicy, timeout: float) -> httpx.AsyncClient:
    """An HTTP client that connects only to addresses the policy admits, pinned to the
    address it checked, and never follows a redirect."""
    client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    def validator(_host: str, address: IPAddress, _port: int) -> bool:
        return policy.admits(address)

    return httpx_ssrf_protection(
        client,
        check_globally_reachable=not policy.allow_local,
        custom_validator=validator,
        dns_cache_ttl=60,
    )
