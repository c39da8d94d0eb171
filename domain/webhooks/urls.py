"""Where a webhook may go: the policy against server-side request forgery (SSRF).

At save time the URL must be ``https`` (plain ``http`` only where the tenant allows it for
development) and every address its host resolves to must be globally reachable. At delivery
the same check runs again, on the addresses the connection is then made to, before anything
connects: the client's resolver checks every address of the answer and refuses the request
with the reason the save would give (so a name that changed its answer since the save,
DNS rebinding, is refused without a connection being opened to the refused address, which
would let the attempt's error tell an open port from a closed one), and the connector
connects to those very addresses (so the name cannot change its answer between the check
and the connection); a URL naming an address is checked as it stands; redirects are never
followed and no proxy is used.

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

import aiohttp
import aiohttp.abc

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


async def resolve(host: str, port: int, *, field: str = "url") -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        # UnicodeError: a name IDNA cannot encode (an empty or overlong label).
        raise InvalidInput(f"{host} does not resolve", field=field) from None
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
    refused = refusal(host, addresses, policy)
    if refused is not None:
        raise InvalidInput(refused, field="url")
    return parts.geturl()


def refusal(host: str, addresses: list[IPAddress], policy: UrlPolicy) -> str | None:
    """Why ``host``, answering ``addresses``, may not be reached (the refused ones named);
    None if it may. The same words at save and at delivery."""
    refused = [str(a) for a in addresses if not policy.admits(a)]
    if addresses and not refused:
        return None
    return (
        f"{host} resolves to an address webhooks may not reach "
        f"({', '.join(refused) or 'none'}): only public addresses are allowed"
    )


class SSRFProtectionError(aiohttp.ClientError):
    """The address a request would go to is one webhooks may not reach; raised before any
    connection is opened, its message the attempt's recorded error."""


class CheckedResolver(aiohttp.abc.AbstractResolver):
    """Resolves a name and hands the connector only addresses the policy admits: if any
    address of the answer is refused, the request is. The connector connects to these very
    addresses (the connection is pinned to what was checked) and keeps the checked answer
    for a short while (its DNS cache)."""

    def __init__(self, policy: UrlPolicy) -> None:
        self.policy = policy
        self.inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        try:
            found = await self.inner.resolve(host, port, family)
        except (OSError, UnicodeError):
            raise SSRFProtectionError(f"refused: {host} does not resolve") from None
        addresses = [ipaddress.ip_address(r["host"].split("%")[0]) for r in found]
        refused = refusal(host, addresses, self.policy)
        if refused is not None:
            raise SSRFProtectionError(f"refused: {refused}")
        return found

    async def close(self) -> None:
        await self.inner.close()


class DeliveryClient:
    """An HTTP client that connects only to addresses the policy admits, pinned to the
    address it checked, never through a proxy and never following a redirect; at most
    ``connections`` connections open, kept alive between requests. A name's checked answer
    is kept for 60 s; a URL naming an address is checked as it stands (the connector does
    not ask the resolver about a literal address)."""

    def __init__(self, policy: UrlPolicy, timeout: float, connections: int) -> None:
        self.policy = policy
        connector = aiohttp.TCPConnector(
            resolver=CheckedResolver(policy),
            limit=connections,
            ttl_dns_cache=60,
            enable_cleanup_closed=False,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=timeout),
            trust_env=False,
            auto_decompress=False,
        )

    def _check_literal(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: the resolver checks what it resolves to
        refused = refusal(host, [address], self.policy)
        if refused is not None:
            raise SSRFProtectionError(f"refused: {refused}")

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], excerpt: int
    ) -> tuple[int, bytes, str | None]:
        """The answer's status, its first ``excerpt`` bytes and its Retry-After."""
        self._check_literal(url)
        async with self.session.post(
            url, data=body, headers=headers, allow_redirects=False
        ) as response:
            start = await response.content.read(excerpt)
            return response.status, start, response.headers.get("retry-after")

    async def aclose(self) -> None:
        await self.session.close()


def delivery_client(policy: UrlPolicy, timeout: float, connections: int) -> DeliveryClient:
    return DeliveryClient(policy, timeout, connections)
