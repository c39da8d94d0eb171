"""Every API route, walked from the app's route table, so that no route ships unchecked.

For each route the walk asks every role and an API key with and without the route's scope,
and expects exactly what the route's guard says: 403 when it forbids, neither 401 nor 403
when it allows, never a 5xx. A route with an id in its path is then asked, by every caller
it allows, about another tenant's object (404), and, when collectors may call it, about an
object on an account the collector cannot see (404). An id in a body from another tenant
is refused too. A new route needs nothing here unless it is public (``PUBLIC``), names a
new kind of object in its path (``PATH_KINDS``) or needs a body (``EXAMPLES``): the first
test says which.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, Router, get, post
from litestar.params import FromPath, JSONBody

from config.settings import Settings
from domain.actor import Actor, system_actor
from domain.auth.schemas import SCOPES, ApiKeyCreate
from domain.auth.service import ApiKeyService, expand_scopes
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from domain.worklist.rules import RuleService
from domain.worklist.schemas import RuleCreate
from server.app import API_CONTROLLERS, create_app
from server.auth.guards import Allow, allow, rule_of
from server.controllers.deps import provide_actor
from tests.factories import SeededTenant, TenantFactory

API = "/api/v1"

# Routes anyone may call, and what stands in for a sign-in on each.
PUBLIC = {
    ("POST", "/api/v1/auth/login"): "the e-mail and password",
    ("POST", "/api/v1/auth/refresh"): "the refresh token",
    ("POST", "/api/v1/auth/logout"): "the refresh token (and the access token it revokes)",
    ("POST", "/api/v1/webhooks/payments/{provider:str}"): "the provider's signature",
}

# What each id in a path names.
PATH_KINDS = {
    "account_id": "account",
    "debtor_id": "debtor",
    "payment_id": "payment",
    "link_id": "link",
    "task_id": "task",
    "user_id": "user",
    "group_id": "group",
    "key_id": "api_key",
    "queue_id": "queue",
    "rule_id": "rule",
}
# Objects that belong to an account: a collector sees them only with the account.
ON_AN_ACCOUNT = frozenset({"account", "debtor", "payment", "link", "task"})

# Least privileged first: what a caller allowed by the guard changes cannot take the
# object away from a less privileged one still to come (a task handed back by a manager
# is no longer the collector's).
ROLES_IN_ORDER = ("collector", "readonly", "supervisor", "admin")


@dataclass(frozen=True)
class Ref:
    """An id in a body: an object of ``kind`` in the caller's tenant (or another's)."""

    kind: str


@dataclass(frozen=True)
class Unique:
    """A value that must differ on every request (a name, a reference)."""

    prefix: str
    suffix: str = ""


LATE = {"field": "days_past_due", "op": "at_least", "value": 30}
IN_A_WEEK = (dt.date.today() + dt.timedelta(days=7)).isoformat()

# A valid body for each route that needs one (changing little: the walk sends it many
# times). Ids in bodies are ``Ref``s, so that the walk can send another tenant's instead.
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/users"): {
        "email": Unique("walker-", "@walk.test"),
        "name": "Walker",
        "password": "long enough pw",
        "group_id": Ref("group"),
    },
    ("PATCH", "/api/v1/users/{user_id:int}"): {"name": "Walked", "group_id": Ref("group")},
    ("PATCH", "/api/v1/users/me"): {"name": "Walking"},
    ("POST", "/api/v1/agent-groups"): {"name": Unique("group-")},
    ("PATCH", "/api/v1/agent-groups/{group_id:int}"): {"description": "walked"},
    ("POST", "/api/v1/api-keys"): {"name": "walk", "scopes": ["accounts:read"]},
    ("PATCH", "/api/v1/tenant"): {"name": "Walked tenant"},
    ("POST", "/api/v1/debtors"): {"first_name": "Walk"},
    ("PATCH", "/api/v1/debtors/{debtor_id:int}"): {"first_name": "Walked"},
    ("POST", "/api/v1/accounts"): {
        "external_ref": Unique("WALK-"),
        "currency": "USD",
        "principal": "10.00",
        "debtor_id": Ref("debtor"),
        "owner_id": Ref("collector"),
    },
    ("PATCH", "/api/v1/accounts/{account_id:int}"): {
        "creditor": "Walk Bank",
        "owner_id": Ref("collector"),
    },
    ("POST", "/api/v1/accounts/{account_id:int}/interactions"): {"channel": "note"},
    ("POST", "/api/v1/accounts/{account_id:int}/payments"): {"amount": "1.00", "currency": "USD"},
    ("POST", "/api/v1/accounts/{account_id:int}/promises"): {
        "amount": "500.00",
        "due_date": IN_A_WEEK,
    },
    ("POST", "/api/v1/queues"): {
        "name": Unique("queue-"),
        "group_id": Ref("group"),
        "agent_ids": [Ref("collector")],
    },
    ("PATCH", "/api/v1/queues/{queue_id:int}"): {"group_id": Ref("group")},
    ("POST", "/api/v1/rules"): {
        "name": "Walk",
        "conditions": [LATE],
        "queue_id": Ref("queue"),
        "strategy": {"kind": "fewest_open", "group_id": Ref("group")},
    },
    ("PATCH", "/api/v1/rules/{rule_id:int}"): {"priority": 60, "queue_id": Ref("queue")},
    ("POST", "/api/v1/rules/preview"): {"conditions": [LATE], "sample_size": 0},
    ("POST", "/api/v1/tasks"): {
        "account_id": Ref("account"),
        "type": "review",
        "strategy": {"kind": "agent", "agent_id": Ref("collector")},
    },
    ("POST", "/api/v1/tasks/{task_id:int}/assign"): {"assignee_id": Ref("collector")},
    ("POST", "/api/v1/tasks/{task_id:int}/cancel"): {"reason": "walked"},
    ("POST", "/api/v1/tasks/{task_id:int}/complete"): {"outcome": "walked"},
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared: /api/v1/payment-links/{link_id:int}
    path_format: str  # to fill in: /api/v1/payment-links/{link_id}
    params: tuple[str, ...]
    rule: Allow | None  # what the route declares with opt=allow(...)
    guards: tuple[Any, ...]  # Litestar guards: none of ours; the walk cannot read them
    needs_body: bool
    excluded_from_auth: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def public(self) -> bool:
        return self.key in PUBLIC

    @property
    def allow(self) -> Allow:
        """The route's rule (the first test fails for any route without one)."""
        assert self.rule is not None, f"{self}: see the first test"
        assert not self.guards, f"{self}: see the first test"
        return self.rule

    @property
    def known(self) -> bool:
        return self.rule is not None and not self.guards

    @property
    def kinds(self) -> dict[str, str]:
        return {p: PATH_KINDS.get(p, f"unknown {p}") for p in self.params}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def route_table(app: Litestar) -> list[Route]:
    routes = []
    for route in app.routes:
        if not route.path.startswith(API):
            continue
        for handler in getattr(route, "route_handlers", []):
            guards = tuple(g for layer in handler.ownership_layers for g in (layer.guards or []))
            data = handler.parsed_fn_signature.parameters.get("data")
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                routes.append(
                    Route(
                        method=method,
                        path=route.path,
                        path_format=route.path_format,
                        params=tuple(route.path_parameters),
                        rule=rule_of(handler.opt),
                        guards=guards,
                        needs_body=data is not None and not data.has_default,
                        excluded_from_auth=bool(handler.opt.get("exclude_from_auth")),
                    )
                )
    return routes


# The API's routes as ``create_app`` mounts them (the first test checks that they are all),
# read without building the whole app at import.
ROUTES = route_table(
    Litestar([Router(API, route_handlers=API_CONTROLLERS)], dependencies={"actor": provide_actor})
)
GUARDED = [r for r in ROUTES if not r.public]
WITH_IDS = [r for r in GUARDED if r.params]
COLLECTORS_WITH_ACCOUNT_IDS = [
    r
    for r in WITH_IDS
    if r.known and "collector" in r.allow.roles and set(r.kinds.values()) & ON_AN_ACCOUNT
]


def _refs(value: Any) -> Iterator[Ref]:
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


WITH_IDS_IN_BODY = [r for r in GUARDED if any(_refs(EXAMPLES.get(r.key)))]


def unwalkable(routes: list[Route]) -> list[str]:
    """What keeps routes from being walked: no guard (and not public), a guard or an id
    the walk does not know, a body it has no example of; and stale entries here."""
    problems = []
    declared = {r.key for r in routes}
    problems += [f"{m} {p}: public, but no such route" for m, p in PUBLIC if (m, p) not in declared]
    problems += [
        f"{m} {p}: example, but no such route" for m, p in EXAMPLES if (m, p) not in declared
    ]
    for route in routes:
        if route.public:
            if not route.excluded_from_auth:
                problems.append(f"{route} is listed public but requires a sign-in")
            continue
        if route.excluded_from_auth:
            problems.append(f"{route} skips authentication but is not in PUBLIC")
        if route.guards:
            problems.append(f"{route} has guards the walk does not know: {route.guards}")
        elif route.rule is None:
            problems.append(f"{route} declares no rule (opt=server.auth.guards.allow)")
        problems += [
            f"{route}: the walk does not know what {{{p}}} names (PATH_KINDS)"
            for p in route.params
            if p not in PATH_KINDS
        ]
        if route.needs_body and route.key not in EXAMPLES:
            problems.append(f"{route} needs a body: add one to EXAMPLES")
    return problems


def test_every_api_route_declares_who_may_call_it_and_the_walk_knows_it(
    settings: Settings,
) -> None:
    served = route_table(create_app(settings))
    assert sorted(r.key for r in served) == sorted(r.key for r in ROUTES), "walk them all"
    problems = unwalkable(served)
    assert not problems, "\n".join(problems)


def test_a_route_added_without_a_guard_or_with_an_unknown_one_is_caught() -> None:
    def own_guard(connection: Any, handler: Any) -> None:
        """A guard that is not ``Allow``: the walk cannot tell whom it lets in."""

    @get("/open")
    async def open_route() -> None: ...

    @get("/custom", guards=[own_guard])
    async def custom() -> None: ...

    @post("/widgets/{widget_id:int}", opt=allow("admin", scope="accounts:write"))
    async def widget(widget_id: FromPath[int], data: JSONBody[dict[str, str]]) -> None: ...

    app = Litestar([Router(API, route_handlers=[open_route, custom, widget])])
    problems = "\n".join(unwalkable(route_table(app)))
    assert "GET /api/v1/open declares no rule" in problems
    assert "GET /api/v1/custom has guards the walk does not know" in problems
    assert "does not know what {widget_id} names" in problems
    assert "POST /api/v1/widgets/{widget_id:int} needs a body" in problems


# The world the walk runs in ---------------------------------------------------------------


@dataclass
class Side:
    """One tenant: its people, API keys by scope, and objects to aim at."""

    tenant: SeededTenant
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    # Ids that bodies name (``Ref``), and one object of each kind (another tenant's target).
    shared: dict[str, int] = field(default_factory=dict)
    # Objects on an account the tenant's collector cannot see.
    hidden: dict[str, int] = field(default_factory=dict)

    @property
    def collector_id(self) -> int:
        return self.tenant.collector.id

    def headers(self, role: str) -> dict[str, str]:
        return self.tenant.users[role].headers

    def key_with(self, scope: str) -> dict[str, str]:
        return self.keys[f"only {scope}"]

    def key_without(self, scope: str | None) -> dict[str, str]:
        return self.keys[f"all but {scope}"] if scope else self.keys["all"]


async def _key(conn: Any, admin: Actor, scopes: list[str]) -> dict[str, str]:
    created = await ApiKeyService(conn, admin).create(ApiKeyCreate(name="walk", scopes=scopes))
    return {"Authorization": f"Bearer {created.key}"}


async def make(side: Side, kind: str, *, account_id: int, collector_id: int) -> int:
    """A new object of ``kind`` in ``side``'s tenant, for the collector ``collector_id``: an
    account (and its debtor) they own; on ``account_id``, a payment, a link, a task they hold."""
    tenant = side.tenant
    if kind == "account":
        return (await tenant.account(owner_id=collector_id)).id
    if kind == "debtor":
        return (await tenant.account(owner_id=collector_id)).debtor_id
    system = system_actor(tenant.id)
    name = f"walk-{uuid.uuid4().hex[:10]}"
    async with tenant.db.tenant(tenant.id) as conn:
        if kind == "payment":
            paid = PaymentCreate(amount=Decimal("5.00"), currency="USD")
            return (await PaymentService(conn, system).record(account_id, paid, source="staff")).id
        if kind == "link":
            links = PaymentLinkService(conn, system, secret="walk", base_url="http://walk")
            return (await links.create(account_id, 24)).id
        if kind == "task":
            return await conn.fetchval(
                """INSERT INTO tasks (tenant_id, account_id, type, title, status, assignee_id,
                  assigned_at, strategy)
                VALUES ($1, $2, 'review', 'walk', 'assigned', $3, now(), '{"kind": "queue"}')
                RETURNING id""",
                tenant.id,
                account_id,
                collector_id,
            )
        if kind == "user":
            return await conn.fetchval(
                """INSERT INTO users (tenant_id, email, name, password_hash, role)
                VALUES ($1, $2, 'Walker', 'x', 'collector') RETURNING id""",
                tenant.id,
                f"{name}@walk.test",
            )
        if kind == "group":
            return await conn.fetchval(
                "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, $2) RETURNING id",
                tenant.id,
                name,
            )
        if kind == "queue":
            return await conn.fetchval(
                "INSERT INTO task_queues (tenant_id, name) VALUES ($1, $2) RETURNING id",
                tenant.id,
                name,
            )
        if kind == "rule":
            made = msgspec.convert({"name": name, "conditions": [LATE]}, RuleCreate)
            rule = await RuleService(conn, system).create(made)
            return rule.id
        if kind == "api_key":
            created = await ApiKeyService(conn, tenant.admin.actor).create(
                ApiKeyCreate(name=name, scopes=["accounts:read"])
            )
            return created.id
    raise AssertionError(f"the walk cannot make a {kind}")


async def furnish(tenants: TenantFactory) -> Side:
    side = Side(await tenants.new())
    tenant = side.tenant
    async with tenant.db.tenant(tenant.id) as conn:
        admin = tenant.admin.actor
        side.keys["all"] = await _key(conn, admin, sorted(SCOPES))
        for scope in sorted(SCOPES):
            side.keys[f"only {scope}"] = await _key(conn, admin, [scope])
            # Every scope that does not grant this one (a :write grants its :read).
            others = sorted(s for s in SCOPES if scope not in expand_scopes([s]))
            side.keys[f"all but {scope}"] = await _key(conn, admin, others)
    mine, theirs = tenant.accounts[0], tenant.accounts[1]  # the collector's; another's
    side.shared = {"account": mine.id, "debtor": mine.debtor_id, "collector": side.collector_id}
    for kind in set(PATH_KINDS.values()) - set(side.shared):
        side.shared[kind] = await make(
            side, kind, account_id=mine.id, collector_id=side.collector_id
        )
    side.hidden = {"account": theirs.id, "debtor": theirs.debtor_id}
    for kind in ("payment", "link", "task"):
        side.hidden[kind] = await make(
            side, kind, account_id=theirs.id, collector_id=tenant.other_collector.id
        )
    return side


@dataclass(frozen=True)
class Person:
    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    tenants: TenantFactory
    here: Side
    there: Side

    async def people(self) -> dict[str, Person]:
        """A new user of each role in ``here``, by role: their headers. What a route does
        to its caller (a new password, signing out everywhere) stays with that route."""
        tenant = self.here.tenant
        async with tenant.db.tenant(tenant.id) as conn:
            rows = await conn.fetch(
                """INSERT INTO users (tenant_id, email, name, password_hash, role)
                SELECT $1, r || '-' || $2 || '@walk.test', 'Walker', 'x', r
                FROM unnest($3::text[]) AS r RETURNING id, role""",
                tenant.id,
                uuid.uuid4().hex[:12],
                list(ROLES_IN_ORDER),
            )
        return {
            r["role"]: Person(r["id"], self.tenants.token_for(r["id"], tenant.id, r["role"]))
            for r in rows
        }

    async def fresh(self, route: Route, collector_id: int | None = None) -> dict[str, int]:
        """New objects for the route's path in ``here``, which ``collector_id`` (by default
        the tenant's collector) may work."""
        here = self.here
        collector = collector_id or here.collector_id
        account = here.tenant.accounts[0].id
        if collector_id is not None and set(route.kinds.values()) & ON_AN_ACCOUNT:
            account = (await here.tenant.account(owner_id=collector)).id
        return {
            param: await make(here, kind, account_id=account, collector_id=collector)
            for param, kind in route.kinds.items()
        }


@pytest.fixture(scope="module")
async def world(tenants: TenantFactory) -> World:
    return World(tenants, here=await furnish(tenants), there=await furnish(tenants))


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, Ref):
        return ids[value.kind]
    if isinstance(value, Unique):
        return f"{value.prefix}{uuid.uuid4().hex[:12]}{value.suffix}"
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def send(
    client: httpx.AsyncClient,
    route: Route,
    path_ids: dict[str, int],
    headers: dict[str, str],
    body_ids: dict[str, int],
) -> httpx.Response:
    url = route.path_format.format(**path_ids)
    example = EXAMPLES.get(route.key)
    body = None if example is None else _fill(example, body_ids)
    return await client.request(route.method, url, json=body, headers=headers)


def _callers(
    side: Side, guard: Allow, people: dict[str, Person] | None = None
) -> list[tuple[str, dict[str, str], bool]]:
    """(who, headers, allowed by the guard), least privileged first; ``people`` by role
    instead of the tenant's own."""
    callers = [
        (role, people[role].headers if people else side.headers(role), role in guard.roles)
        for role in ROLES_IN_ORDER
    ]
    if guard.scope is not None:
        callers.append((f"a key with {guard.scope}", side.key_with(guard.scope), True))
        callers.append((f"a key with all but {guard.scope}", side.key_without(guard.scope), False))
    else:
        callers.append(("a key with every scope", side.key_without(None), False))
    return callers


def _said(who: str, response: httpx.Response) -> str:
    return f"{who}: {response.status_code} {response.text[:300]}"


# The walks --------------------------------------------------------------------------------


@pytest.mark.parametrize("route", GUARDED, ids=str)
async def test_each_role_and_scope_gets_what_the_guard_says(
    client: httpx.AsyncClient, world: World, route: Route
) -> None:
    here, guard = world.here, route.allow
    people = await world.people()
    ids = await world.fresh(route, collector_id=people["collector"].id)
    wrong = []
    for who, headers, allowed in _callers(here, guard, people):
        response = await send(client, route, ids, headers, here.shared)
        status = response.status_code
        if status >= 500 or (status in (401, 403) if allowed else status != 403):
            wrong.append(_said(f"{who} ({'allowed' if allowed else 'forbidden'})", response))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("route", WITH_IDS, ids=str)
async def test_another_tenants_object_in_the_path_is_not_found(
    client: httpx.AsyncClient, world: World, route: Route
) -> None:
    here, there = world.here, world.there
    theirs = {param: there.shared[kind] for param, kind in route.kinds.items()}
    wrong = []
    for who, headers, allowed in _callers(here, route.allow):
        if allowed:
            response = await send(client, route, theirs, headers, here.shared)
            if response.status_code != 404:
                wrong.append(_said(who, response))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("route", WITH_IDS_IN_BODY, ids=str)
async def test_another_tenants_id_in_the_body_is_refused(
    client: httpx.AsyncClient, world: World, route: Route
) -> None:
    here, there = world.here, world.there
    allowed = [(who, headers) for who, headers, allowed in _callers(here, route.allow) if allowed]
    who, headers = allowed[-1]  # a key when it may; else the most privileged role
    wrong = []
    for ref in {r.kind for r in _refs(EXAMPLES[route.key])}:
        ids = await world.fresh(route)
        body_ids = {**here.shared, ref: there.shared[ref]}
        response = await send(client, route, ids, headers, body_ids)
        if response.status_code not in (404, 422):
            wrong.append(_said(f"{who}, another tenant's {ref}", response))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("route", COLLECTORS_WITH_ACCOUNT_IDS, ids=str)
async def test_a_collector_gets_404_for_what_is_on_an_account_they_cannot_see(
    client: httpx.AsyncClient, world: World, route: Route
) -> None:
    here = world.here
    ids = {
        param: here.hidden[kind] if kind in ON_AN_ACCOUNT else here.shared[kind]
        for param, kind in route.kinds.items()
    }
    response = await send(client, route, ids, here.headers("collector"), here.shared)
    assert response.status_code == 404, _said("the collector", response)


async def test_an_api_route_without_a_rule_is_refused_even_to_an_admin(
    settings: Settings,
    resources,
    tenant,  # type: ignore[no-untyped-def]
) -> None:
    """Nothing under the API is open by omission: the access step refuses a route that
    names no rule, whoever calls."""
    from server.auth.middleware import AccessMiddleware
    from tests.conftest import asgi_client

    @get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {"secret": "yes"}

    @get("/declared", opt=allow("admin"))
    async def declared() -> dict[str, str]:
        return {"secret": "yes"}

    from server.problems import EXCEPTION_HANDLERS

    app = Litestar(
        [Router(API, route_handlers=[forgotten, declared], middleware=[AccessMiddleware])],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.resources = resources
    async with asgi_client(app) as http:
        refused = await http.get(f"{API}/forgotten", headers=tenant.admin.headers)
        allowed = await http.get(f"{API}/declared", headers=tenant.admin.headers)
        anonymous = await http.get(f"{API}/declared")
    assert refused.status_code == 403
    assert "secret" not in refused.text
    assert allowed.status_code == 200
    assert anonymous.status_code == 401
