"""The request bodies the route walk sends: one per route that needs a body, each with the
objects it names given as references (``Ref``) that the walk fills in with ids of the
caller's own world (or another tenant's, to see them refused), and values that must not
repeat (``Unique``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.integration.route_world import LATE, WALK_KEY
from tests.integration.route_world import WALK_MAPPING_JSON as WALK_MAPPING


@dataclass(frozen=True)
class Ref:
    """An id in a body: an object of ``kind`` in the caller's tenant (or another's)."""

    kind: str


@dataclass(frozen=True)
class Target(Ref):
    """An id in a body that names what the route acts on (the tasks of a bulk action):
    another tenant's is not found (404), like one in a path."""


@dataclass(frozen=True)
class Unique:
    """A value that must differ on every request (a name, a reference)."""

    prefix: str
    suffix: str = ""


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
    ("POST", "/api/v1/tenant/buckets/preview"): {"buckets": [{"name": "all", "min_days": 0}]},
    ("POST", "/api/v1/debtors"): {"first_name": "Walk"},
    ("PATCH", "/api/v1/debtors/{debtor_id:int}"): {"first_name": "Walked"},
    ("POST", "/api/v1/debtors/{debtor_id:int}/contacts"): {
        "kind": "email",
        "type": "home",
        "value": Unique("walker-", "@walk.test"),
    },
    ("PATCH", "/api/v1/debtors/{debtor_id:int}/contacts/{contact_id:int}"): {"type": "home"},
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
    # Noon in the debtor's zone, two days on: inside the window wherever the debtor lives.
    ("POST", "/api/v1/accounts/{account_id:int}/callbacks"): {
        "at": f"{(dt.date.today() + dt.timedelta(days=2)).isoformat()}T12:00"
    },
    ("POST", "/api/v1/accounts/{account_id:int}/payments"): {"amount": "1.00", "currency": "USD"},
    ("POST", "/api/v1/accounts/{account_id:int}/status-changes"): {
        "status": "cease",
        "reason": "asked on the phone",
    },
    # E-mail: outside no window, so that the walk's hour of the day decides nothing.
    ("POST", "/api/v1/accounts/{account_id:int}/payment-links/send"): {"channel": "email"},
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
    ("POST", "/api/v1/tasks/bulk/assign"): {
        "task_ids": [Target("task")],
        "assignee_id": Ref("collector"),
    },
    ("POST", "/api/v1/tasks/bulk/cancel"): {"task_ids": [Target("task")], "reason": "walked"},
    ("POST", "/api/v1/tasks/bulk/move"): {"task_ids": [Target("task")], "queue_id": Ref("queue")},
    ("PATCH", "/api/v1/agents/{user_id:int}"): {"capacity": 30},
    ("POST", "/api/v1/tasks/{task_id:int}/complete"): {"outcome": "walked"},
    ("POST", "/api/v1/workflows"): {
        "name": Unique("workflow-"),
        "trigger": {"type": "payment.received"},
        "steps": [{"kind": "send_sms", "template_id": Ref("template")}],
    },
    ("PATCH", "/api/v1/workflows/{workflow_id:int}"): {
        "steps": [{"kind": "send_sms", "template_id": Ref("template")}],
    },
    ("POST", "/api/v1/workflows/check-condition"): {"condition": "account.days_past_due > 30"},
    ("POST", "/api/v1/templates"): {
        "name": Unique("template-"),
        "channel": "sms",
        "body": "Hi {{ debtor.first_name }}",
    },
    ("PATCH", "/api/v1/templates/{template_id:int}"): {"body": "Hello {{ debtor.first_name }}"},
    ("POST", "/api/v1/templates/{template_id:int}/preview"): {"account_id": Ref("account")},
    # Multipart, which the walk does not send (a 400); uploads are in tests/integration/imports.
    ("POST", "/api/v1/imports"): {},
    ("POST", "/api/v1/imports/preview"): {},
    ("POST", "/api/v1/import-mappings"): {"name": Unique("mapping-"), "mapping": WALK_MAPPING},
    ("PATCH", "/api/v1/import-mappings/{mapping_id:int}"): {"name": Unique("mapping-")},
    ("POST", "/api/v1/custom-fields"): {
        "entity": "account",
        "key": Unique("walk_"),
        "label": "Walk",
        "type": "string",
    },
    ("PATCH", "/api/v1/custom-fields/{field_id:int}"): {"label": Unique("Walk ")},
    ("POST", "/api/v1/sftp-sources"): {
        "name": Unique("sftp-"),
        "host": "sftp.example.com",
        "username": "walk",
        "private_key": WALK_KEY,
        "folder": "/in",
        "processed_folder": "/done",
        "mapping_id": Ref("import_mapping"),
    },
    ("PATCH", "/api/v1/sftp-sources/{source_id:int}"): {"mapping_id": Ref("import_mapping")},
    ("POST", "/api/v1/webhook-endpoints"): {"url": "https://93.184.215.14/walk"},
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id:int}"): {"description": "walked"},
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id:int}/replay-failed"): {
        "since": "2026-01-01T00:00:00Z",
        "until": "2026-01-31T00:00:00Z",
    },
}
