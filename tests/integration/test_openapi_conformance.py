"""The API answers as its OpenAPI document says: schemathesis, with every check it has,
against the real server (uvicorn, PostgreSQL, Redis), as an admin and as a collector of
one tenant, with a bounded and reproducible number of examples per operation.

A request the document calls valid is accepted, or refused (422) only on a field whose rule
no JSON Schema can state: those are listed, with their reasons, in ``BEYOND_THE_SCHEMA``,
and a refusal naming any other field fails the run. A request the document calls invalid is
refused. Every status, content type, header and body is the one documented.
"""

from __future__ import annotations

import copy
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import hypothesis
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import CHECKS, CheckContext, load_all_checks

from config.settings import Settings
from server.app import create_app
from server.openapi import document
from tests.factories import SeededTenant, TenantFactory

MAX_EXAMPLES = 15
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run, here and in CI
    database=None,
    suppress_health_check=list(HealthCheck),
)

CURSOR = "a cursor is opaque: only one the API gave out is taken"
KNOWN_ID = "must name an existing object of this tenant"
TIME_ZONE = "an IANA time zone name (the list is the server's tzdata)"
AMOUNT = "no more decimals than the currency has; payments and promises above zero"
CURRENCY = "an ISO 4217 currency in use today (CLDR)"
CUSTOM = (
    "custom fields: keys are identifiers, at most 100, 16 KiB, nested 8 deep; once the tenant "
    "defines fields, each value of its field's type and no other key added or changed"
)
FIELD_DEFINITION = {
    "options": "a select's or multi-select's own: at least one, each once",
    "expression": "a computed field's own: a CEL expression over its record",
    "type": "one its stored values all satisfy (or the change is a 409)",
}
EMAIL = "an e-mail address"
PHONE = "a phone number"
PASSWORD = "strong enough (zxcvbn 3 of 4), not the e-mail or name"
CONDITIONS = "rule conditions: a known field, an operator for its type, a value of it"
TRIGGER = "days for a trigger that counts them, a bucket of the tenant's for bucket_entered"
CEL = "CEL that compiles, names known fields and gives true or false"
STEPS = "templates of this tenant for the channel, one branch, valid waits and strategies"
ONCE_EACH = "each task listed once"
TEMPLATE = "a sandboxed Jinja2 template naming known variables; e-mail needs a subject"
CALLBACK = "a real local time of the debtor's, ahead, within 90 days, inside the contact window"

# Rules of the API no JSON Schema states: a schema-valid request may be refused (422) on
# these fields, and on no other.
PERIOD = "a period: from not after to (to defaults to today), both in 2000-2099, <= 731 days"
REPORT_PERIOD = {"from": PERIOD, "to": PERIOD}

WEBHOOK_URL = "https (http where the tenant allows it), to a host whose every address is public"
EVENT_TYPE = "event types: lowercase dotted names (the pattern, as Python's re reads it)"
CONTACT_VALUE = (
    "a real phone number (with its + unless the debtor has a country), or an e-mail address"
)
CONSENT_HOW = "said (not blank) with each consent given"
BEYOND_THE_SCHEMA: dict[str, dict[str, str]] = {
    "POST /api/v1/webhook-endpoints": {"url": WEBHOOK_URL, "event_types": EVENT_TYPE},
    "PATCH /api/v1/webhook-endpoints/{endpoint_id}": {
        "url": WEBHOOK_URL,
        "event_types": EVENT_TYPE,
    },
    "GET /api/v1/webhook-endpoints/{endpoint_id}/deliveries": {"cursor": CURSOR},
    "GET /api/v1/webhook-endpoints/deliveries/{delivery_id}/attempts": {"cursor": CURSOR},
    "POST /api/v1/webhook-endpoints/{endpoint_id}/replay-failed": {
        "since": "a time zone offset",
        "until": "after since, at most 31 days later",
    },
    **{
        f"GET /api/v1/reports/{name}": REPORT_PERIOD
        for name in (
            "liquidation",
            "liquidation.csv",
            "promises",
            "promises.csv",
            "collectors",
            "collectors.csv",
        )
    },
    "GET /api/v1/accounts": {"cursor": CURSOR, "bucket": "one of the tenant's own buckets"},
    "GET /api/v1/accounts/{account_id}/interactions": {"cursor": CURSOR},
    "GET /api/v1/exports/accounts.csv": {"bucket": "one of the tenant's own buckets"},
    **{
        f"GET /api/v1/exports/{name}": {
            "from": "not after to",
            "account_id": KNOWN_ID + " (an account the caller sees)",
        }
        for name in ("payments.csv", "interactions.csv")
    },
    "GET /api/v1/accounts/{account_id}/timeline": {"cursor": CURSOR},
    "POST /api/v1/accounts/{account_id}/callbacks": {"at": CALLBACK},
    "GET /api/v1/accounts/{account_id}/payments": {"cursor": CURSOR},
    "GET /api/v1/audit": {
        "cursor": CURSOR,
        "actor_type": "one of user, api_key, system, debtor (sent empty: any)",
        "actor_id": "with its actor_type",
        "entity_id": "with its entity_type",
        "occurred_from": "a time zone offset",
        "occurred_before": "a time zone offset, after occurred_from",
    },
    "GET /api/v1/debtors": {"cursor": CURSOR},
    "GET /api/v1/debtors/{debtor_id}/contacts": {"cursor": CURSOR},
    # The debtor's contact details change under other operations (a number removed, its
    # consent to texts withdrawn): a channel with no address to send to is refused.
    "POST /api/v1/accounts/{account_id}/payment-links/send": {
        "channel": "one the debtor has a number or e-mail address with consent for",
    },
    "POST /api/v1/debtors/{debtor_id}/contacts": {
        "value": CONTACT_VALUE,
        "consent_how": CONSENT_HOW,
    },
    "PATCH /api/v1/debtors/{debtor_id}/contacts/{contact_id}": {
        "value": CONTACT_VALUE + "; none for an address",
        "consent_how": CONSENT_HOW,
        "type": "one of the types of the contact's kind",
        "address_line1": "an address's own: not blank; no address lines on a number or e-mail",
        **{
            f: "an address's own: no address lines on a number or an e-mail address"
            for f in ("address_line2", "city", "region", "postal_code", "country")
        },
        **{
            f"{c}_consent": "a consent the contact's kind holds (texts and calls for a number)"
            for c in ("sms", "call", "email")
        },
    },
    "GET /api/v1/stats/cumulative": {
        "from": "within the 30 days of history kept (relative to now), before to",
        "to": "after from, and at most 30 days after it",
    },
    "GET /api/v1/tasks": {"cursor": CURSOR},
    "GET /api/v1/users": {"cursor": CURSOR},
    **{
        f"GET /api/v1/{path}": {"cursor": CURSOR}
        for path in (
            "agent-groups",
            "agents",
            "api-keys",
            "accounts/{account_id}/promises",
            "queues",
            "rules",
            "rules/{rule_id}/runs",
            "tasks/mine",
            "workflows",
            "templates",
            "webhook-endpoints",
            "imports",
            "import-mappings",
            "custom-fields",
            "sftp-sources",
        )
    },
    **{
        route: {
            "name": "no space at either end",
            "username": "no spaces, control characters, ':', '@' or '/'",
            "private_key": "an OpenSSH or PEM private key without a passphrase",
            "host_key": "an SSH public key",
            "mapping_id": KNOWN_ID,
            "folder": "a folder path, not the processed folder",
            "processed_folder": "a folder path, not the folder files arrive in",
        }
        for route in ("POST /api/v1/sftp-sources", "PATCH /api/v1/sftp-sources/{source_id}")
    },
    **{
        f"{route}": {
            "mapping": "a mapping names known fields (custom ones the tenant defines), feeds "
            "every required one, reads each column once and defaults to a currency in use",
            "mapping_id": "one of the tenant's mappings, and not with a mapping",
            "file": "a file that is not empty",
            "kind": "a saved mapping's own kind",
        }
        for route in (
            "POST /api/v1/imports",
            "POST /api/v1/imports/preview",
            "POST /api/v1/import-mappings",
            "PATCH /api/v1/import-mappings/{mapping_id}",
        )
    },
    "POST /api/v1/custom-fields": FIELD_DEFINITION,
    "PATCH /api/v1/custom-fields/{field_id}": FIELD_DEFINITION,
    "POST /api/v1/accounts": {
        "currency": CURRENCY,
        "principal": AMOUNT,
        "interest": AMOUNT,
        "fees": AMOUNT,
        "debtor_id": KNOWN_ID,
        "owner_id": KNOWN_ID + " (an active agent)",
        "debtor": "a new debtor, or debtor_id: one of the two",
        "custom": CUSTOM,
    },
    "PATCH /api/v1/accounts/{account_id}": {
        "principal": AMOUNT,
        "interest": AMOUNT,
        "fees": AMOUNT,
        "owner_id": KNOWN_ID + " (an active agent)",
        "custom": CUSTOM,
    },
    "POST /api/v1/accounts/{account_id}/interactions": {
        "disposition": "a disposition the channel can have",
    },
    "POST /api/v1/accounts/{account_id}/payments": {
        "amount": AMOUNT + "; not above the balance unless credit is held",
        "currency": "the account's own currency",
        "Idempotency-Key": "a key used before names the same request",
    },
    "POST /api/v1/accounts/{account_id}/promises": {
        "amount": AMOUNT + "; within the tenant's promise limits",
        "due_date": "within the tenant's promise limits",
        "instalments": "an amount and a due date, or instalments: one of the two",
    },
    "POST /api/v1/debtors": {
        "time_zone": TIME_ZONE,
        "email": EMAIL,
        "phone": PHONE,
        "custom": CUSTOM,
    },
    "PATCH /api/v1/debtors/{debtor_id}": {
        "time_zone": TIME_ZONE,
        "email": EMAIL,
        "phone": PHONE,
        "custom": CUSTOM,
    },
    "POST /api/v1/users": {
        "email": EMAIL,
        "password": PASSWORD,
        "time_zone": TIME_ZONE,
        "group_id": KNOWN_ID,
    },
    "PATCH /api/v1/users/{user_id}": {
        "password": PASSWORD,
        "time_zone": TIME_ZONE,
        "group_id": KNOWN_ID,
    },
    "PATCH /api/v1/users/me": {
        "password": PASSWORD,
        "current_password": "the user's own password",
        "time_zone": TIME_ZONE,
    },
    "PATCH /api/v1/tenant": {
        "time_zone": TIME_ZONE,
        "buckets": "buckets that cover every day past due, in order",
        "stats": "the red queue-age threshold longer than the amber one; daily targets in "
        "currencies in use, at most 50",
    },
    "POST /api/v1/tenant/buckets/preview": {
        "buckets": "buckets that cover every day past due, in order",
    },
    "POST /api/v1/queues": {"group_id": KNOWN_ID, "agent_ids": KNOWN_ID},
    "PATCH /api/v1/queues/{queue_id}": {"group_id": KNOWN_ID, "agent_ids": KNOWN_ID},
    "POST /api/v1/rules": {
        "queue_id": KNOWN_ID,
        "strategy": KNOWN_ID + " (the agent or group it names)",
        "conditions": CONDITIONS,
    },
    "PATCH /api/v1/rules/{rule_id}": {
        "queue_id": KNOWN_ID,
        "strategy": KNOWN_ID + " (the agent or group it names)",
        "conditions": CONDITIONS,
    },
    "POST /api/v1/rules/preview": {"conditions": CONDITIONS},
    "POST /api/v1/tasks": {"account_id": KNOWN_ID, "queue_id": KNOWN_ID},
    "POST /api/v1/tasks/{task_id}/assign": {"assignee_id": KNOWN_ID + " (an agent)"},
    "POST /api/v1/tasks/bulk/assign": {
        "task_ids": ONCE_EACH,
        "assignee_id": KNOWN_ID + " (an agent)",
    },
    "POST /api/v1/tasks/bulk/cancel": {"task_ids": ONCE_EACH, "reason": "more than spaces"},
    "POST /api/v1/tasks/bulk/move": {"task_ids": ONCE_EACH, "queue_id": KNOWN_ID},
    "POST /api/v1/workflows": {
        "trigger": TRIGGER,
        "conditions": CEL,
        "steps": STEPS,
    },
    "PATCH /api/v1/workflows/{workflow_id}": {
        "trigger": TRIGGER,
        "conditions": CEL,
        "steps": STEPS,
    },
    "POST /api/v1/templates": {"subject": TEMPLATE, "body": TEMPLATE},
    "PATCH /api/v1/templates/{template_id}": {"subject": TEMPLATE, "body": TEMPLATE},
    "POST /api/v1/templates/{template_id}/preview": {
        "account_id": KNOWN_ID,
        "body": "the template renders for this account",
    },
    "GET /api/v1/messages": {"cursor": CURSOR},
    "GET /api/v1/accounts/{account_id}/messages": {"cursor": CURSOR},
    "GET /api/v1/accounts/{account_id}/workflow-runs": {"cursor": CURSOR},
    "GET /api/v1/workflows/{workflow_id}/runs": {"cursor": CURSOR},
    "POST /pay/{token}/checkout": {"amount": AMOUNT},
    "POST /pay/{token}/promise": {"amount": AMOUNT, "due_date": "within the promise limits"},
}

# Checks this run leaves out, and why; every other check schemathesis has runs.
LEFT_OUT = {
    # Needs peer identities of equal rights (a WFC auth file); who may read what is walked
    # for every route, role, scope and tenant by test_route_walk.py.
    "object_level_authorization",
    # Stateful checks: they judge a sequence of calls (create, then read; delete, then
    # read), which only schemathesis's stateful phase makes; each case here is one call, so
    # they would judge nothing. Run by hand (`st run --phases stateful`), they find that a
    # revoked API key stays readable after DELETE /api-keys/{id}: revoking keeps the key,
    # with its revoked_at, for the audit trail.
    "use_after_free",
    "ensure_resource_availability",
}
# Operations that would end the caller's own session mid-run (each has its own tests in
# test_auth.py and test_revocation.py).
SIGNS_OUT = [
    ("POST", "/api/v1/auth/logout"),  # ends the sign-in of the bearer token it is sent with
    ("POST", "/api/v1/users/me/sign-out-everywhere"),  # ends every session of the caller
]


def _field_root(field: str) -> str:
    return field.split(".")[0].split("[")[0]


@schemathesis.check
def refuses_only_beyond_the_schema(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """A schema-valid request refused (422) names only fields ``BEYOND_THE_SCHEMA`` lists."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    problem = response.json()
    fields = {e.get("field") or "" for e in problem.get("errors") or []} or {problem.get("field")}
    allowed = BEYOND_THE_SCHEMA.get(case.operation.label, {})
    unexplained = sorted(f or "?" for f in fields if _field_root(f or "") not in allowed)
    assert not unexplained, (
        f"a schema-valid request was refused on {', '.join(unexplained)}, which the schema "
        f"could describe: {problem.get('detail')}"
    )
    return None


def _config() -> schemathesis.Config:
    accept_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
    return schemathesis.Config.from_dict(
        {
            "seed": 20261130,
            # The caller's token is sent with every request (test_api_answers_as_documented);
            # no case leaves it out or makes one up, and ignored_auth still asks without it.
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "with-security-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            "operations": [
                {
                    "include-name": name,
                    "checks": {"positive_data_acceptance": {"expected-statuses": accept_422}},
                }
                for name in BEYOND_THE_SCHEMA
            ],
        }
    )


def _document() -> dict[str, Any]:
    """The document ``/schema/openapi.json`` serves (test_the_served_document_is_this_one)."""
    app = create_app(Settings(env="test", secret_key="x" * 40, log_level="WARNING"))
    return msgspec.json.decode(msgspec.json.encode(document(app)))


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=_config())
for method, path in SIGNS_OUT:
    schema = schema.exclude(method=method, path=path)


def _checks() -> list[Any]:
    load_all_checks()
    names = set(CHECKS.get_all_names())
    assert names >= LEFT_OUT, f"schemathesis no longer has {LEFT_OUT - names}"
    return [check for check in CHECKS.get_all() if check.__name__ not in LEFT_OUT]


@pytest.fixture(scope="module")
async def conformance_tenant(tenants: TenantFactory) -> SeededTenant:
    return await tenants.new()


@pytest.fixture(scope="module", params=["admin", "collector"])
def caller(request: pytest.FixtureRequest, conformance_tenant: SeededTenant) -> Iterator[str]:
    started = time.monotonic()
    yield request.param
    print(f"\nschemathesis as {request.param}: {time.monotonic() - started:.1f}s")


def _ends_a_test_session(case: Any, tenant: SeededTenant) -> bool:
    """A change to the run's own users: deactivating one, a new role or password, or
    signing one out everywhere would end the tokens this run uses."""
    ours = {tenant.admin.id, tenant.collector.id}
    user_id = (case.path_parameters or {}).get("user_id")
    return user_id in ours and case.method.upper() != "GET"


def test_the_served_document_is_this_one(live_server: str) -> None:
    with urllib.request.urlopen(f"{live_server}/schema/openapi.json", timeout=10) as response:
        assert msgspec.json.decode(response.read()) == DOCUMENT


@schema.parametrize()
@SETTINGS
def test_api_answers_as_documented(
    case: Any, live_server: str, conformance_tenant: SeededTenant, caller: str
) -> None:
    if _ends_a_test_session(case, conformance_tenant):
        return
    token = conformance_tenant.users[caller].token
    case.call_and_validate(
        base_url=live_server,
        headers={"Authorization": f"Bearer {token}"},
        checks=_checks(),
        additional_checks=[refuses_only_beyond_the_schema],
        timeout=30,
    )
