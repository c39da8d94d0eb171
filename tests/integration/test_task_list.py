"""The list of tasks a supervisor's team view pages through: filters by status, type,
agent and queue, the orders it sorts by (each read from its own index), keyset cursors for
each order, and the true total on every page."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from domain.worklist.queries import tasks as task_queries
from tests.factories import SeededTenant
from tests.helpers import plan_nodes
from tests.integration.worklist_helpers import queue

OPEN = "status=open&status=assigned&status=in_progress"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


async def _task(tenant: SeededTenant, **values) -> int:  # type: ignore[no-untyped-def]
    row = {
        "type": "call",
        "priority": 50,
        "status": "open",
        "assignee_id": None,
        "queue_id": None,
        "due_at": None,
        "created_at": T0,
        **values,
    }
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            """INSERT INTO tasks (tenant_id, account_id, type, priority, status, assignee_id,
              queue_id, due_at, strategy, created_at, assigned_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{"kind": "queue"}', $9::timestamptz,
              CASE WHEN $6::bigint IS NULL THEN NULL ELSE $9::timestamptz END)
            RETURNING id""",
            tenant.id,
            tenant.accounts[0].id,
            row["type"],
            row["priority"],
            row["status"],
            row["assignee_id"],
            row["queue_id"],
            row["due_at"],
            row["created_at"],
        )


async def _pages(client, tenant: SeededTenant, query: str, limit: int) -> tuple[list[int], set]:  # type: ignore[no-untyped-def]
    """Every id, page after page, and the totals the pages gave."""
    ids: list[int] = []
    totals: set[int] = set()
    cursor = None
    while True:
        url = f"/api/v1/tasks?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url, headers=tenant.supervisor.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [t["id"] for t in body["items"]]
        totals.add(body["total"])
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, totals


async def test_open_work_sorts_pages_and_counts_all_of_it(client, tenant: SeededTenant) -> None:
    hour = dt.timedelta(hours=1)
    calls = await queue(tenant, name="Calls")
    who = tenant.collector.id
    a = await _task(tenant, priority=50, created_at=T0 + 2 * hour, due_at=T0 + 30 * hour)
    b = await _task(tenant, priority=90, created_at=T0 + 3 * hour, type="email", queue_id=calls)
    c = await _task(tenant, priority=90, created_at=T0 + 1 * hour, due_at=T0 + 10 * hour)
    d = await _task(tenant, priority=10, created_at=T0, status="assigned", assignee_id=who)
    e = await _task(tenant, priority=50, created_at=T0 + 4 * hour, due_at=T0 + 10 * hour)
    await _task(tenant, priority=99, created_at=T0, status="completed")  # not open work

    expected = {
        "newest": [e, d, c, b, a],
        "age": [d, c, a, b, e],
        "priority": [c, b, a, e, d],
        "due": [c, e, a, b, d],  # equal due dates by id; none due last, by id
    }
    for sort, order in expected.items():
        for limit in (1, 2, 5):
            ids, totals = await _pages(client, tenant, f"{OPEN}&sort={sort}", limit)
            assert ids == order, (sort, limit)
            assert totals == {5}, (sort, limit)

    # Each filter alone and together; the total is of what the filters select.
    for query, ids in (
        ("type=email", [b]),
        ("type=call&type=email", [c, b, a, e, d]),
        (f"assignee_id={who}", [d]),
        ("unassigned=true", [c, b, a, e]),
        (f"queue_id={calls}", [b]),
        ("status=assigned", [d]),
        ("type=call&unassigned=true", [c, a, e]),
    ):
        statuses = "" if "status=" in query else f"{OPEN}&"
        found, totals = await _pages(client, tenant, f"{statuses}sort=priority&{query}", 2)
        assert found == ids, query
        assert totals == {len(ids)}, query
    found, totals = await _pages(client, tenant, "status=completed&sort=priority", 2)
    assert len(found) == 1
    assert totals == {1}


async def test_a_collector_counts_only_their_own_work(client, tenant: SeededTenant) -> None:
    mine = await _task(tenant, status="assigned", assignee_id=tenant.collector.id)
    await _task(tenant, status="assigned", assignee_id=tenant.other_collector.id)
    await _task(tenant)
    response = await client.get(f"/api/v1/tasks?{OPEN}", headers=tenant.collector.headers)
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["items"]] == [mine]
    assert response.json()["total"] == 1


@pytest.mark.parametrize(
    ("query", "field", "detail"),
    [
        ("sort=oldest", "sort", None),
        ("sort=", "sort", None),
        ("type=fax", "type", None),
        ("status=lost", "status", None),
    ],
)
async def test_unknown_words_are_refused_by_name(
    client, tenant: SeededTenant, query: str, field: str, detail: str | None
) -> None:
    response = await client.get(f"/api/v1/tasks?{query}", headers=tenant.supervisor.headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_a_cursor_serves_only_the_order_it_was_given_for(
    client, tenant: SeededTenant
) -> None:
    for n in range(3):
        await _task(tenant, created_at=T0 + dt.timedelta(minutes=n))
    headers = tenant.supervisor.headers
    first = (await client.get("/api/v1/tasks?sort=age&limit=1", headers=headers)).json()
    assert first["next_cursor"] is not None
    for sort in ("priority", "due", "newest"):
        response = await client.get(
            f"/api/v1/tasks?sort={sort}&limit=1&cursor={first['next_cursor']}", headers=headers
        )
        assert response.status_code == 422, sort
        assert response.json()["field"] == "cursor"
    same = await client.get(
        f"/api/v1/tasks?sort=age&limit=1&cursor={first['next_cursor']}", headers=headers
    )
    assert same.status_code == 200


def _scans(plan: object) -> list[dict]:
    """Every node of a JSON plan that reads the tasks table."""
    return [n for n in plan_nodes(plan) if n.get("Relation Name") == "tasks"]


@pytest.mark.parametrize(
    ("sort", "index", "bounds"),
    [
        ("age", "tasks_open_age_idx", [["created_at", "id"]]),
        ("priority", "tasks_open_priority_idx", [["priority =", "created_at"], ["priority <"]]),
        ("due", "tasks_open_due_idx", [["due_at", "id"], ["due_at IS NULL"]]),
    ],
)
async def test_each_page_of_open_work_starts_where_the_last_ended_in_its_index(
    client, monkeypatch, tenant: SeededTenant, sort: str, index: str, bounds: list[list[str]]
) -> None:
    """The statements of a page after a cursor, as the service runs them: each reads its
    order's index from the cursor on (the cursor in the index condition, not a filter over
    every row before it) and needs no sort step."""
    hour = dt.timedelta(hours=1)
    for n, priority in enumerate((70, 70, 70, 40)):
        due = T0 + n * hour if n < 3 else None
        await _task(tenant, priority=priority, created_at=T0 + n * hour, due_at=due)
    headers = tenant.supervisor.headers
    # Pages of two: the second starts at the last of the tasks of priority 70 (or due
    # dates), so that it reads both of its order's ranges.
    query = f"/api/v1/tasks?{OPEN}&sort={sort}&limit=2"
    first = (await client.get(query, headers=headers)).json()

    ran: list[tuple[str, list, str]] = []
    search = task_queries.search_tasks

    async def recorded(conn, where, *, order, limit):  # type: ignore[no-untyped-def]
        ran.append(
            (
                f"SELECT t.id FROM tasks t WHERE {where.sql()} ORDER BY {order} LIMIT {int(limit)}",
                list(where.args),
                order,
            )
        )
        return await search(conn, where, order=order, limit=limit)

    monkeypatch.setattr(task_queries, "search_tasks", recorded)
    page = await client.get(f"{query}&cursor={first['next_cursor']}", headers=headers)
    assert page.status_code == 200
    assert len(page.json()["items"]) == 2
    statements = ran[:]
    monkeypatch.undo()
    assert len(statements) == len(bounds)
    for (sql, args, _), wanted in zip(statements, bounds, strict=True):
        async with tenant.db.tenant(tenant.id) as conn:
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("SET LOCAL enable_sort = off")
            plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
        scans = _scans(json.loads(plan) if isinstance(plan, str) else plan)
        assert [s.get("Index Name") for s in scans] == [index], plan
        condition = scans[0].get("Index Cond", "")
        for word in wanted:
            assert word in condition, (word, condition)
        assert '"Sort"' not in str(plan), plan
