"""Every API route, walked from the app's route table, so that no route ships unchecked.

For each route the walk asks every role and an API key with and without the route's scope,
and expects exactly what ``route_rules.ROUTE_RULES`` says, which is written by hand and not
read from the route's own ``opt=allow(...)``: 403 when it forbids, neither 401 nor 403 when
it allows, never a 5xx. A route with an id in its path is then asked, by every caller
it allows, about another tenant's object (404), and, when collectors may call it, about an
object on an account the collector cannot see (404). An id in a body from another tenant
is refused too. A new route needs nothing here unless it is public (``PUBLIC``), names a
new kind of object in its path (``PATH_KINDS``) or needs a body (``route_examples.EXAMPLES``), besides
its line in ``ROUTE_RULES``: the first tests say which.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar, Router, get, post
from litestar.params import FromPath, JSONBody

from config.settings import Settings
from server.app import API_CONTROLLERS, create_app
from server.auth.guards import Allow, allow, rule_of
from server.controllers.deps import provide_actor
from tests.factories import TenantFactory
from tests.integration.route_examples import EXAMPLES, Ref, Target, Unique
from tests.integration.route_rules import ROUTE_RULES, Rule
from tests.integration.route_world import (
    ON_AN_ACCOUNT,
    PATH_KINDS,
    ROLES_IN_ORDER,
    Person,
    Side,
    World,
    furnish,
)

API = "/api/v1"

# Routes anyone may call, and what stands in for a sign-in on each.
PUBLIC = {
    ("POST", "/api/v1/auth/login"): "the e-mail and password",
    ("POST", "/api/v1/auth/refresh"): "the refresh token",
    ("POST", "/api/v1/auth/logout"): "the refresh token (and the access token it revokes)",
    ("POST", "/api/v1/webhooks/payments/{provider:str}"): "the provider's signature",
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
    def expected(self) -> Rule:
        """Who may call the route, from ``ROUTE_RULES`` (the first tests fail without it)."""
        assert self.key in ROUTE_RULES, f"{self}: see the first tests"
        return ROUTE_RULES[self.key]

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
    if "collector" in ROUTE_RULES.get(r.key, Rule(frozenset())).roles
    and set(r.kinds.values()) & ON_AN_ACCOUNT
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


def unlisted(routes: list[Route]) -> list[str]:
    """Where ``ROUTE_RULES`` and the routes that need a sign-in part: a route without a line
    there, a line for no such route, a route that declares another rule than its line."""
    guarded = {r.key: r for r in routes if not r.public}
    problems = [
        f"{m} {p}: in ROUTE_RULES, but no such route (or it is public)"
        for m, p in ROUTE_RULES
        if (m, p) not in guarded
    ]
    for key, route in guarded.items():
        expected = ROUTE_RULES.get(key)
        if expected is None:
            problems.append(f"{route} has no line in ROUTE_RULES: say who may call it")
        elif route.rule is not None and (route.rule.roles, route.rule.scope) != (
            expected.roles,
            expected.scope,
        ):
            problems.append(f"{route} declares {route.rule}; ROUTE_RULES says {expected}")
    return problems


def test_every_api_route_declares_who_may_call_it_and_the_walk_knows_it(
    settings: Settings,
) -> None:
    served = route_table(create_app(settings))
    assert sorted(r.key for r in served) == sorted(r.key for r in ROUTES), "walk them all"
    problems = unwalkable(served)
    assert not problems, "\n".join(problems)


def test_the_rules_table_and_the_routes_agree_exactly(settings: Settings) -> None:
    problems = unlisted(route_table(create_app(settings)))
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
    unknown = "\n".join(unlisted(route_table(app)))
    assert "POST /api/v1/widgets/{widget_id:int} has no line in ROUTE_RULES" in unknown
    assert "GET /api/v1/tasks/mine: in ROUTE_RULES, but no such route" in unknown


def test_a_route_that_declares_more_than_the_rules_table_allows_is_caught() -> None:
    @post("/payments/{payment_id:int}/refund", opt=allow("admin", "supervisor", "collector"))
    async def refund(payment_id: FromPath[int]) -> None: ...

    app = Litestar([Router(API, route_handlers=[refund])])
    assert (
        "POST /api/v1/payments/{payment_id:int}/refund declares "
        "Allow(admin, collector, supervisor, scope=None); ROUTE_RULES says admin, supervisor; "
        "API keys: payments:write"
    ) in unlisted(route_table(app))


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
    # Sent as a client does, so that what money-moving routes need of it is no refusal here.
    headers = {**headers, "Idempotency-Key": f"walk-{uuid.uuid4()}"}
    return await client.request(route.method, url, json=body, headers=headers)


def _callers(
    side: Side, guard: Rule, people: dict[str, Person] | None = None
) -> list[tuple[str, dict[str, str], bool]]:
    """(who, headers, allowed by ``guard``), least privileged first; ``people`` by role
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
async def test_each_role_and_scope_gets_what_the_rules_table_says(
    client: httpx.AsyncClient, world: World, route: Route
) -> None:
    here, guard = world.here, route.expected
    people = await world.people()
    ids = await world.fresh(route.kinds, collector_id=people["collector"].id)
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
    for who, headers, allowed in _callers(here, route.expected):
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
    allowed = [
        (who, headers) for who, headers, allowed in _callers(here, route.expected) if allowed
    ]
    who, headers = allowed[-1]  # a key when it may; else the most privileged role
    wrong = []
    for ref in set(_refs(EXAMPLES[route.key])):
        ids = await world.fresh(route.kinds)
        body_ids = {**here.shared, ref.kind: there.shared[ref.kind]}
        response = await send(client, route, ids, headers, body_ids)
        # An id in a body is input, not the target, unless it names the target.
        if response.status_code != (404 if isinstance(ref, Target) else 422):
            wrong.append(_said(f"{who}, another tenant's {ref.kind}", response))
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


async def test_what_the_collector_is_refused_exists_and_is_another_collectors(
    world: World,
) -> None:
    """The 404s above are for real objects: an account another collector owns, with that
    collector's task, a payment and a live link on it."""
    here = world.here
    tenant, hidden = here.tenant, here.hidden
    async with tenant.db.tenant(tenant.id) as conn:
        found = await conn.fetchrow(
            """SELECT a.owner_id, d.id AS debtor, t.assignee_id, t.status, p.account_id AS paid,
              l.account_id AS linked, l.revoked_at
            FROM accounts a JOIN debtors d ON d.id = a.debtor_id, tasks t, payments p,
              payment_links l
            WHERE a.id = $1 AND t.id = $2 AND p.id = $3 AND l.id = $4""",
            hidden["account"],
            hidden["task"],
            hidden["payment"],
            hidden["link"],
        )
    other = tenant.other_collector.id
    assert dict(found) == {
        "owner_id": other,
        "debtor": hidden["debtor"],
        "assignee_id": other,
        "status": "assigned",
        "paid": hidden["account"],
        "linked": hidden["account"],
        "revoked_at": None,
    }


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
