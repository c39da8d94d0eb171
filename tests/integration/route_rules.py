"""Who may call each API route, written out once by hand from what the product allows
(docs/security.md, "Who may call what"), not read from the routes' own declarations: the
route walk holds every route's real answers to this table, so a route opened by mistake
fails it.

A rule names the roles a signed-in user needs and the scope an API key needs (None: no API
key may call the route). Public routes are not here: the walk lists them in ``PUBLIC``.
"""

from __future__ import annotations

from dataclasses import dataclass

ADMIN, SUPERVISOR, COLLECTOR, READONLY = "admin", "supervisor", "collector", "readonly"
EVERYONE = frozenset({ADMIN, SUPERVISOR, COLLECTOR, READONLY})
WORKERS = frozenset({ADMIN, SUPERVISOR, COLLECTOR})  # who works accounts: not readonly
MANAGERS = frozenset({ADMIN, SUPERVISOR})
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scope: str | None = None

    def __str__(self) -> str:
        return f"{', '.join(sorted(self.roles))}; API keys: {self.scope or 'none'}"


V1 = "/api/v1"

ROUTE_RULES: dict[tuple[str, str], Rule] = {
    # Users: admins manage people; supervisors read them; everyone has themselves.
    ("GET", f"{V1}/users"): Rule(MANAGERS),
    ("POST", f"{V1}/users"): Rule(ADMINS),
    ("GET", f"{V1}/users/{{user_id:int}}"): Rule(MANAGERS),
    ("PATCH", f"{V1}/users/{{user_id:int}}"): Rule(ADMINS),
    ("POST", f"{V1}/users/{{user_id:int}}/sign-out-everywhere"): Rule(ADMINS),
    ("GET", f"{V1}/users/me"): Rule(EVERYONE),
    ("PATCH", f"{V1}/users/me"): Rule(EVERYONE),
    ("POST", f"{V1}/users/me/sign-out-everywhere"): Rule(EVERYONE),
    # Agents on the floor: supervisors and admins see them and set their status and capacity.
    ("GET", f"{V1}/agents"): Rule(MANAGERS),
    ("GET", f"{V1}/agents/{{user_id:int}}"): Rule(MANAGERS),
    ("PATCH", f"{V1}/agents/{{user_id:int}}"): Rule(MANAGERS),
    # Agent groups: everyone reads them; admins change them.
    ("GET", f"{V1}/agent-groups"): Rule(EVERYONE),
    ("GET", f"{V1}/agent-groups/{{group_id:int}}"): Rule(EVERYONE),
    ("POST", f"{V1}/agent-groups"): Rule(ADMINS),
    ("PATCH", f"{V1}/agent-groups/{{group_id:int}}"): Rule(ADMINS),
    ("DELETE", f"{V1}/agent-groups/{{group_id:int}}"): Rule(ADMINS),
    # API keys: admins only, and never a key itself.
    ("GET", f"{V1}/api-keys"): Rule(ADMINS),
    ("POST", f"{V1}/api-keys"): Rule(ADMINS),
    ("GET", f"{V1}/api-keys/scopes"): Rule(ADMINS),
    ("GET", f"{V1}/api-keys/{{key_id:int}}"): Rule(ADMINS),
    ("DELETE", f"{V1}/api-keys/{{key_id:int}}"): Rule(ADMINS),
    # The tenant: everyone reads its settings; admins change them and preview buckets.
    ("GET", f"{V1}/tenant"): Rule(EVERYONE, "accounts:read"),
    ("PATCH", f"{V1}/tenant"): Rule(ADMINS),
    ("POST", f"{V1}/tenant/buckets/preview"): Rule(ADMINS),
    # Debtors: managers create; collectors read and update those of their accounts.
    ("GET", f"{V1}/debtors"): Rule(EVERYONE, "debtors:read"),
    ("POST", f"{V1}/debtors"): Rule(MANAGERS, "debtors:write"),
    ("GET", f"{V1}/debtors/{{debtor_id:int}}"): Rule(EVERYONE, "debtors:read"),
    ("PATCH", f"{V1}/debtors/{{debtor_id:int}}"): Rule(WORKERS, "debtors:write"),
    ("GET", f"{V1}/debtors/{{debtor_id:int}}/contacts"): Rule(EVERYONE, "debtors:read"),
    ("POST", f"{V1}/debtors/{{debtor_id:int}}/contacts"): Rule(WORKERS, "debtors:write"),
    ("PATCH", f"{V1}/debtors/{{debtor_id:int}}/contacts/{{contact_id:int}}"): Rule(
        WORKERS, "debtors:write"
    ),
    ("DELETE", f"{V1}/debtors/{{debtor_id:int}}/contacts/{{contact_id:int}}"): Rule(
        WORKERS, "debtors:write"
    ),
    # Accounts: managers create and change; collectors read theirs and log interactions.
    ("GET", f"{V1}/accounts"): Rule(EVERYONE, "accounts:read"),
    ("POST", f"{V1}/accounts"): Rule(MANAGERS, "accounts:write"),
    ("GET", f"{V1}/accounts/{{account_id:int}}"): Rule(EVERYONE, "accounts:read"),
    ("PATCH", f"{V1}/accounts/{{account_id:int}}"): Rule(MANAGERS, "accounts:write"),
    ("GET", f"{V1}/accounts/{{account_id:int}}/contact-status"): Rule(EVERYONE, "accounts:read"),
    ("GET", f"{V1}/accounts/{{account_id:int}}/interactions"): Rule(EVERYONE, "interactions:read"),
    ("POST", f"{V1}/accounts/{{account_id:int}}/interactions"): Rule(WORKERS, "interactions:write"),
    # The timeline: whoever may read the account. Callbacks: a person books their own.
    ("GET", f"{V1}/accounts/{{account_id:int}}/timeline"): Rule(EVERYONE, "accounts:read"),
    ("POST", f"{V1}/accounts/{{account_id:int}}/callbacks"): Rule(WORKERS),
    # Collectors record a dispute or a cease; the other changes are managers' (in the service).
    ("POST", f"{V1}/accounts/{{account_id:int}}/status-changes"): Rule(WORKERS, "accounts:write"),
    # Audit: admins only.
    ("GET", f"{V1}/audit"): Rule(ADMINS),
    # Real time: everyone signed in, and keys that read accounts.
    ("POST", f"{V1}/realtime/ticket"): Rule(EVERYONE, "accounts:read"),
    # Payments, promises, links: collectors take them on their accounts; refunds and
    # reversals are managers'; readonly reads.
    ("GET", f"{V1}/accounts/{{account_id:int}}/payments"): Rule(EVERYONE, "payments:read"),
    ("POST", f"{V1}/accounts/{{account_id:int}}/payments"): Rule(WORKERS, "payments:write"),
    ("GET", f"{V1}/payments/{{payment_id:int}}"): Rule(EVERYONE, "payments:read"),
    ("POST", f"{V1}/payments/{{payment_id:int}}/refund"): Rule(MANAGERS, "payments:write"),
    ("POST", f"{V1}/payments/{{payment_id:int}}/reverse"): Rule(MANAGERS, "payments:write"),
    ("GET", f"{V1}/accounts/{{account_id:int}}/promises"): Rule(EVERYONE, "promises:read"),
    ("POST", f"{V1}/accounts/{{account_id:int}}/promises"): Rule(WORKERS, "promises:write"),
    ("POST", f"{V1}/accounts/{{account_id:int}}/payment-links"): Rule(WORKERS, "payments:write"),
    ("POST", f"{V1}/accounts/{{account_id:int}}/payment-links/send"): Rule(
        WORKERS, "payments:write"
    ),
    ("DELETE", f"{V1}/payment-links/{{link_id:int}}"): Rule(WORKERS, "payments:write"),
    # The worklist: managers run queues, rules and assignments; collectors see and work
    # their own tasks and pull from their queues (a person's acts: no key pulls or hands
    # back work).
    ("GET", f"{V1}/queues"): Rule(EVERYONE, "tasks:read"),
    ("GET", f"{V1}/queues/{{queue_id:int}}"): Rule(EVERYONE, "tasks:read"),
    ("POST", f"{V1}/queues"): Rule(MANAGERS, "tasks:write"),
    ("PATCH", f"{V1}/queues/{{queue_id:int}}"): Rule(MANAGERS, "tasks:write"),
    ("DELETE", f"{V1}/queues/{{queue_id:int}}"): Rule(MANAGERS, "tasks:write"),
    ("GET", f"{V1}/rules"): Rule(MANAGERS, "tasks:read"),
    ("GET", f"{V1}/rules/fields"): Rule(MANAGERS, "tasks:read"),
    ("GET", f"{V1}/rules/{{rule_id:int}}"): Rule(MANAGERS, "tasks:read"),
    ("GET", f"{V1}/rules/{{rule_id:int}}/runs"): Rule(MANAGERS, "tasks:read"),
    ("POST", f"{V1}/rules"): Rule(MANAGERS, "tasks:write"),
    ("PATCH", f"{V1}/rules/{{rule_id:int}}"): Rule(MANAGERS, "tasks:write"),
    ("DELETE", f"{V1}/rules/{{rule_id:int}}"): Rule(MANAGERS, "tasks:write"),
    ("POST", f"{V1}/rules/preview"): Rule(MANAGERS, "tasks:read"),
    ("POST", f"{V1}/rules/{{rule_id:int}}/run"): Rule(MANAGERS, "tasks:write"),
    ("GET", f"{V1}/tasks"): Rule(EVERYONE, "tasks:read"),
    ("GET", f"{V1}/tasks/{{task_id:int}}"): Rule(EVERYONE, "tasks:read"),
    ("POST", f"{V1}/tasks"): Rule(MANAGERS, "tasks:write"),
    ("POST", f"{V1}/tasks/{{task_id:int}}/assign"): Rule(MANAGERS, "tasks:write"),
    ("POST", f"{V1}/tasks/{{task_id:int}}/cancel"): Rule(MANAGERS, "tasks:write"),
    ("POST", f"{V1}/tasks/{{task_id:int}}/start"): Rule(WORKERS, "tasks:write"),
    ("POST", f"{V1}/tasks/{{task_id:int}}/complete"): Rule(WORKERS, "tasks:write"),
    ("GET", f"{V1}/tasks/mine"): Rule(WORKERS),
    ("POST", f"{V1}/tasks/next"): Rule(WORKERS),
    ("POST", f"{V1}/tasks/{{task_id:int}}/release"): Rule(WORKERS),
    ("POST", f"{V1}/tasks/bulk/assign"): Rule(MANAGERS, "tasks:write"),
    ("POST", f"{V1}/tasks/bulk/cancel"): Rule(MANAGERS, "tasks:write"),
    ("POST", f"{V1}/tasks/bulk/move"): Rule(MANAGERS, "tasks:write"),
    # Workflows and templates: supervisors and admins keep them (API keys have no say);
    # whoever may see an account sees its runs and messages.
    ("GET", f"{V1}/workflows"): Rule(MANAGERS),
    ("POST", f"{V1}/workflows"): Rule(MANAGERS),
    ("POST", f"{V1}/workflows/check-condition"): Rule(MANAGERS),
    ("GET", f"{V1}/workflows/{{workflow_id:int}}"): Rule(MANAGERS),
    ("PATCH", f"{V1}/workflows/{{workflow_id:int}}"): Rule(MANAGERS),
    ("DELETE", f"{V1}/workflows/{{workflow_id:int}}"): Rule(MANAGERS),
    ("GET", f"{V1}/workflows/{{workflow_id:int}}/runs"): Rule(MANAGERS),
    ("GET", f"{V1}/workflows/{{workflow_id:int}}/report"): Rule(MANAGERS),
    ("GET", f"{V1}/workflows/runs/{{run_id:int}}"): Rule(MANAGERS),
    ("GET", f"{V1}/templates"): Rule(MANAGERS),
    ("POST", f"{V1}/templates"): Rule(MANAGERS),
    ("GET", f"{V1}/templates/{{template_id:int}}"): Rule(MANAGERS),
    ("PATCH", f"{V1}/templates/{{template_id:int}}"): Rule(MANAGERS),
    ("DELETE", f"{V1}/templates/{{template_id:int}}"): Rule(MANAGERS),
    ("POST", f"{V1}/templates/{{template_id:int}}/preview"): Rule(MANAGERS),
    ("GET", f"{V1}/messages"): Rule(MANAGERS),
    ("GET", f"{V1}/accounts/{{account_id:int}}/messages"): Rule(EVERYONE, "interactions:read"),
    ("GET", f"{V1}/accounts/{{account_id:int}}/workflow-runs"): Rule(EVERYONE, "accounts:read"),
    # The floor's figures: supervisors and admins.
    ("GET", f"{V1}/stats/realtime"): Rule(MANAGERS),
    ("GET", f"{V1}/stats/cumulative"): Rule(MANAGERS),
    # The supervisor's reports, as JSON and as CSV: supervisors and admins.
    ("GET", f"{V1}/reports/aging"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/aging.csv"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/liquidation"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/liquidation.csv"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/promises"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/promises.csv"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/collectors"): Rule(MANAGERS),
    ("GET", f"{V1}/reports/collectors.csv"): Rule(MANAGERS),
    # Exports: whoever reads the list reads its CSV (a collector: what they may see).
    ("GET", f"{V1}/exports/accounts.csv"): Rule(EVERYONE, "accounts:read"),
    ("GET", f"{V1}/exports/payments.csv"): Rule(EVERYONE, "payments:read"),
    ("GET", f"{V1}/exports/interactions.csv"): Rule(EVERYONE, "interactions:read"),
    # Imports and their mappings: admins only, no API key.
    ("GET", f"{V1}/imports"): Rule(ADMINS),
    ("POST", f"{V1}/imports"): Rule(ADMINS),
    ("POST", f"{V1}/imports/preview"): Rule(ADMINS),
    ("GET", f"{V1}/imports/{{import_id:int}}"): Rule(ADMINS),
    ("GET", f"{V1}/imports/{{import_id:int}}/rejected.csv"): Rule(ADMINS),
    ("GET", f"{V1}/import-mappings"): Rule(ADMINS),
    ("POST", f"{V1}/import-mappings"): Rule(ADMINS),
    ("GET", f"{V1}/import-mappings/{{mapping_id:int}}"): Rule(ADMINS),
    ("PATCH", f"{V1}/import-mappings/{{mapping_id:int}}"): Rule(ADMINS),
    ("DELETE", f"{V1}/import-mappings/{{mapping_id:int}}"): Rule(ADMINS),
    # Custom field definitions: everyone reads them (API keys with accounts:read); admins change them.
    ("GET", f"{V1}/custom-fields"): Rule(EVERYONE, "accounts:read"),
    ("POST", f"{V1}/custom-fields"): Rule(ADMINS),
    ("GET", f"{V1}/custom-fields/{{field_id:int}}"): Rule(EVERYONE, "accounts:read"),
    ("PATCH", f"{V1}/custom-fields/{{field_id:int}}"): Rule(ADMINS),
    ("DELETE", f"{V1}/custom-fields/{{field_id:int}}"): Rule(ADMINS),
    ("GET", f"{V1}/sftp-sources"): Rule(ADMINS),
    ("POST", f"{V1}/sftp-sources"): Rule(ADMINS),
    ("GET", f"{V1}/sftp-sources/{{source_id:int}}"): Rule(ADMINS),
    ("PATCH", f"{V1}/sftp-sources/{{source_id:int}}"): Rule(ADMINS),
    ("DELETE", f"{V1}/sftp-sources/{{source_id:int}}"): Rule(ADMINS),
    # Webhook endpoints, their deliveries and attempts: admins, and keys that manage them.
    ("GET", f"{V1}/webhook-endpoints"): Rule(ADMINS, "webhooks:manage"),
    ("POST", f"{V1}/webhook-endpoints"): Rule(ADMINS, "webhooks:manage"),
    ("GET", f"{V1}/webhook-endpoints/event-types"): Rule(ADMINS, "webhooks:manage"),
    ("GET", f"{V1}/webhook-endpoints/{{endpoint_id:int}}"): Rule(ADMINS, "webhooks:manage"),
    ("PATCH", f"{V1}/webhook-endpoints/{{endpoint_id:int}}"): Rule(ADMINS, "webhooks:manage"),
    ("DELETE", f"{V1}/webhook-endpoints/{{endpoint_id:int}}"): Rule(ADMINS, "webhooks:manage"),
    ("POST", f"{V1}/webhook-endpoints/{{endpoint_id:int}}/test"): Rule(ADMINS, "webhooks:manage"),
    ("POST", f"{V1}/webhook-endpoints/{{endpoint_id:int}}/rotate-secret"): Rule(
        ADMINS, "webhooks:manage"
    ),
    ("GET", f"{V1}/webhook-endpoints/{{endpoint_id:int}}/deliveries"): Rule(
        ADMINS, "webhooks:manage"
    ),
    (
        "GET",
        f"{V1}/webhook-endpoints/deliveries/{{delivery_id:int}}/attempts",
    ): Rule(ADMINS, "webhooks:manage"),
    (
        "POST",
        f"{V1}/webhook-endpoints/deliveries/{{delivery_id:int}}/replay",
    ): Rule(ADMINS, "webhooks:manage"),
    ("POST", f"{V1}/webhook-endpoints/{{endpoint_id:int}}/replay-failed"): Rule(
        ADMINS, "webhooks:manage"
    ),
}
