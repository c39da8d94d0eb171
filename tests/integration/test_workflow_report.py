"""Champion and challenger through the API: each arm's accounts, payers, money collected and
promises kept after entry, and the challenger's difference judged against chance."""

from __future__ import annotations

from decimal import Decimal

import httpx

from domain.clock import utcnow
from domain.db import Database
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import API, Clock, broken, deliver, run_jobs, workflow


async def test_the_report_compares_each_arm_with_the_champion(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [
            {
                "kind": "branch",
                "arms": [
                    {"name": "letter", "weight": 1, "steps": [{"kind": "emit", "event": "a"}]},
                    {"name": "call", "weight": 1, "steps": [{"kind": "emit", "event": "b"}]},
                ],
            }
        ],
    )
    accounts = [await tenant.account() for _ in range(90)]
    for account in accounts:
        await deliver(db, tenant.id, "promise.broken", broken(account.id))
    await run_jobs(db, tenant.id, Clock(utcnow()))
    async with db.tenant(tenant.id) as conn:
        arms = dict(
            await conn.fetch(
                "SELECT account_id, arm FROM workflow_runs WHERE workflow_id = $1", flow["id"]
            )
        )
        # Every account of the challenger pays 10.00 after entering; the champion's do not.
        payments = PaymentService(conn, tenant.admin.actor)
        for account in accounts:
            if arms[account.id] == "call":
                await payments.record(
                    account.id,
                    PaymentCreate(amount=Decimal("10.00"), currency="USD"),
                    source="staff",
                )
    callers = sum(1 for arm in arms.values() if arm == "call")
    report = await client.get(
        f"{API}/workflows/{flow['id']}/report?days=30", headers=tenant.supervisor.headers
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["version"], body["days"]) == (1, 30)
    champion, challenger = body["arms"]
    assert (champion["arm"], champion["accounts"], champion["paying"]) == (
        "letter",
        90 - callers,
        0,
    )
    assert champion["collected"] == {}
    assert champion["versus_champion"] is None
    assert (challenger["arm"], challenger["accounts"], challenger["paying"]) == (
        "call",
        callers,
        callers,
    )
    assert challenger["collected"] == {"USD": f"{10 * callers}.00"}
    assert challenger["paying_rate"] == 1.0
    verdict = challenger["versus_champion"]
    assert (verdict["significant"], verdict["verdict"]) == (True, "better than the champion")
    assert verdict["p_value"] < 0.001

    refused = await client.get(
        f"{API}/workflows/{flow['id']}/report?version=2", headers=tenant.supervisor.headers
    )
    assert (refused.status_code, refused.json()["detail"]) == (
        404,
        f"workflow {flow['id']} has no version 2",
    )
    too_long = await client.get(
        f"{API}/workflows/{flow['id']}/report?days=366", headers=tenant.supervisor.headers
    )
    assert too_long.status_code == 422
