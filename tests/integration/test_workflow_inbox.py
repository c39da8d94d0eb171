"""The workflow inbox is a queue: empty most of the time, then a burst. Taking from it must
stay one pass over what it holds whatever plan a worker's connection cached while it was
empty."""

from __future__ import annotations

import json

from domain.workflows.queries.runs import TAKE_INBOX, take_inbox
from tests.factories import SeededTenant
from tests.helpers import plan_nodes
from tests.integration.workflow_helpers import deliver


async def test_taking_the_inbox_never_joins_it_to_itself(tenant: SeededTenant) -> None:
    # The plan a pooled connection keeps (generic), with the joins that are linear taken
    # away: what is left must not be a loop over the inbox for each row taken.
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute("SET LOCAL enable_hashjoin = off")
        await conn.execute("SET LOCAL enable_mergejoin = off")
        await conn.execute(f"PREPARE take_inbox_plan(bigint) AS {TAKE_INBOX}")
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) EXECUTE take_inbox_plan(500)")
        await conn.execute("DEALLOCATE take_inbox_plan")
    plan = json.loads(raw) if isinstance(raw, str) else raw
    nodes = plan_nodes(plan)
    reads = [n for n in nodes if n.get("Relation Name") == "workflow_inbox"]
    assert any(n["Node Type"] == "ModifyTable" for n in reads), plan
    for node in nodes:
        if node["Node Type"] == "Nested Loop":
            inside = [n for n in plan_nodes(node.get("Plans", [])) if n in reads]
            assert not inside, f"a loop over the inbox: {json.dumps(plan, indent=1)}"
    # The rows deleted are found by the ids taken, in one scan (by the index of ids, or of
    # the tenant's rows with the ids as a filter, as the statistics make it cheaper).
    (delete,) = [n for n in nodes if n["Node Type"] == "ModifyTable"]
    (scan,) = [n for n in delete["Plans"] if n["Parent Relationship"] == "Outer"]
    assert scan["Node Type"].endswith("Scan"), plan
    conditions = [
        n.get(key, "") for n in plan_nodes(scan) for key in ("Index Cond", "Recheck Cond", "Filter")
    ]
    assert any("id = ANY" in c for c in conditions), plan


async def test_two_workers_take_different_events_and_a_failed_take_puts_them_back(
    tenant: SeededTenant,
) -> None:
    sent = [await deliver(tenant.db, tenant.id, "payment.received", {"n": n}) for n in range(6)]
    first = await tenant.db.begin(tenant.id)
    second = await tenant.db.begin(tenant.id)
    try:
        taken_first = await take_inbox(first.conn, 3)
        taken_second = await take_inbox(second.conn, 3)
        # Oldest first, and none twice: the second passes over what the first holds.
        assert [r["event_id"] for r in taken_first] == sent[:3]
        assert [r["event_id"] for r in taken_second] == sent[3:]
        async with tenant.db.tenant(tenant.id) as conn:
            assert await take_inbox(conn, 10) == []
    finally:
        await first.rollback()  # a worker that failed: its events go back
        await second.commit()
    async with tenant.db.tenant(tenant.id) as conn:
        again = await take_inbox(conn, 10)
    assert [r["event_id"] for r in again] == sent[:3]
    assert [r["self_made"] for r in again] == [False, False, False]
