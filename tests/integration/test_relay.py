"""The relay: committed events reach Redis in order and are marked published; old ones go."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from decimal import Decimal

import asyncpg
import msgspec
import pytest

from channels import names
from channels.backend import format_pos
from channels.protocol import NO_POSITION, event_tail
from domain.accounts.schemas import AccountUpdate
from domain.accounts.service import AccountService
from domain.db import Database, connect
from domain.outbox import queries
from tasks.relay import Handoff, Relay, _Row
from tests.conftest import start_relay
from tests.factories import SeededTenant


@pytest.mark.usefixtures("relay")
async def test_relay_publishes_in_order_marks_published_and_prunes(
    db: Database, resources, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    for n in range(5):
        async with db.tenant(tenant.id) as conn:
            await AccountService(conn, tenant.admin.actor).update(
                account.id, AccountUpdate(fees=Decimal(f"{n}.00"))
            )

    async def pending() -> int:
        async with db.system() as conn:
            return await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND published_at IS NULL",
                tenant.id,
            )

    for _ in range(200):
        if not await pending():
            break
        await asyncio.sleep(0.05)
    assert await pending() == 0
    history = await resources.channels.history(
        names.scoped(tenant.id, names.account(account.id)), NO_POSITION
    )
    events = [msgspec.json.decode(m.payload) for m in history.messages]
    assert [e["data"]["fees"] for e in events if e["type"] == "account.updated"] == [
        "0.00",
        "1.00",
        "2.00",
        "3.00",
        "4.00",
    ]

    async with db.system() as conn:
        await conn.execute(
            "UPDATE outbox SET published_at = now() - interval '8 days' WHERE tenant_id = $1",
            tenant.id,
        )
    await Relay(db, resources.channels, retention=dt.timedelta(days=7)).prune()
    async with db.system() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox WHERE tenant_id = $1", tenant.id) == 0
        )


class _Undo(Exception):
    pass


async def test_the_claim_builds_each_frame_tail_as_the_protocol_writes_it(
    db: Database, tenant: SeededTenant
) -> None:
    """PostgreSQL writes the frame's tail the relay publishes: byte for byte what
    ``event_tail`` writes, whatever the type and data hold."""
    data = {
        "note": 'a "quoted" \\ back\\slash, a tab\t and a new line\n',
        "name": "Zoë 𝄞 ✓",
        "values": [1, 2.5, None, True, {"nested": "</script>"}],
        "empty": {},
    }
    event_id = uuid.uuid4()
    with pytest.raises(_Undo):  # nothing of it stays for the session's relay
        async with db.system() as conn:
            await conn.execute(
                """INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
                VALUES ($1, $2, $3, $4, $5, now())""",
                tenant.id,
                event_id,
                'odd "type"\té',
                ["wallboard", "account:1"],
                data,
            )
            stored = await conn.fetchval(
                "SELECT data::text FROM outbox WHERE event_id = $1", event_id
            )
            rows = await queries.claim_unpublished(conn, 10_000)
            [row] = [r for r in rows if r["tenant_id"] == tenant.id and r["type"].startswith("odd")]
            tail = row["tail"].encode()
            assert tail == event_tail(str(event_id), 'odd "type"\té', stored.encode())
            assert msgspec.json.decode(b'{"pos":"1-0' + tail) == {
                "pos": "1-0",
                "id": str(event_id),
                "type": 'odd "type"\té',
                "data": data,
            }
            raise _Undo


async def test_a_small_statements_notice_carries_its_events_as_the_claim_reads_them(
    db: Database, tenant: SeededTenant
) -> None:
    """The outbox's notice carries each event of a statement of up to 16 events, its tail
    byte for byte what the claim reads; a 17th event, or a notice that would pass 7,900
    bytes, leaves only the newest id for the relay to read."""
    notices: asyncio.Queue[str] = asyncio.Queue()
    data = {"note": 'a "quoted" \\ back\\slash\t\n', "name": "Zoë 𝄞 ✓", "x": [1, None]}

    async def insert(conn, count: int, payload: dict) -> list[int]:  # type: ignore[no-untyped-def]
        return [
            r["id"]
            for r in await conn.fetch(
                """INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
                SELECT $1, gen_random_uuid(), 'test.notice', $2, $3, now()
                FROM generate_series(1, $4) RETURNING id""",
                tenant.id,
                ["wallboard", "account:7"],
                payload,
                count,
            )
        ]

    def heard_one(*args: object) -> None:
        notices.put_nowait(str(args[-1]))

    listening = await connect(db.system_dsn)
    try:
        await listening.add_listener("recoup_outbox", heard_one)
        conn = await connect(db.system_dsn)
        try:
            ids = {}
            for name, count, payload in (
                ("one", 1, data),
                ("sixteen", 16, {"n": 1}),
                ("seventeen", 17, {"n": 1}),
                ("large", 1, {"text": "x" * 7_800}),
            ):
                async with conn.transaction():
                    ids[name] = await insert(conn, count, payload)
            tails = {
                r["id"]: event_tail(str(r["event_id"]), r["type"], r["data"].encode()).decode()
                for r in await conn.fetch(
                    "SELECT id, event_id, type, data::text AS data FROM outbox WHERE id = ANY($1)",
                    [id_ for made in ids.values() for id_ in made],
                )
            }
        finally:
            await conn.close()
        heard = []
        while len(heard) < 4:  # other tests' commits are heard too
            notice = await asyncio.wait_for(notices.get(), 5)
            first = notice.lstrip("[").split(",", 1)[0]
            if first.isdigit() and int(first) in tails:
                heard.append(notice)
    finally:
        await listening.close()

    one = msgspec.json.decode(heard[0], type=list[_Row])
    [row] = one
    assert (row.id, row.tenant_id, row.type, row.channels) == (
        ids["one"][0],
        tenant.id,
        "test.notice",
        ["wallboard", "account:7"],
    )
    assert row.tail == tails[row.id]
    assert msgspec.json.decode(row.data) == data
    assert [r.id for r in msgspec.json.decode(heard[1], type=list[_Row])] == ids["sixteen"]
    assert all(r.tail == tails[r.id] for r in msgspec.json.decode(heard[1], type=list[_Row]))
    assert heard[2] == str(max(ids["seventeen"]))
    assert heard[3] == str(ids["large"][0])


async def test_the_mark_runs_each_stage_once_and_says_which_tenants_each_kept(
    db: Database, tenant: SeededTenant
) -> None:
    """The mark and every hand-off's staging are one statement: each stage's tenants come
    back in the hand-offs' order, and the rows are marked with their positions."""

    def stage(event_type: str) -> str:
        return f"""SELECT o.tenant_id FROM outbox o
        WHERE o.id = ANY($1::bigint[]) AND o.type = '{event_type}'"""

    with pytest.raises(_Undo):  # uncommitted: the session's relay never sees these rows
        async with db.system() as conn:
            ids = [
                await conn.fetchval(
                    """INSERT INTO outbox (tenant_id, event_id, type, channels, data,
                      occurred_at)
                    VALUES ($1, $2, $3, $4, '{}', now()) RETURNING id""",
                    tenant.id,
                    uuid.uuid4(),
                    event_type,
                    channels,
                )
                for event_type, channels in (
                    ("bench.b", ["wallboard"]),
                    ("bench.b", ["wallboard", "account:1"]),
                    ("bench.c", []),
                )
            ]
            positions = ["1-1", "1-2 1-3", ""]
            staged = await queries.mark_published(
                conn, ids, positions, (stage("bench.a"), stage("bench.b"), stage("bench.c"))
            )
            assert staged == [[], [tenant.id], [tenant.id]]
            marked = await conn.fetch(
                """SELECT positions, published_at IS NOT NULL AS published FROM outbox
                WHERE id = ANY($1) ORDER BY id""",
                ids,
            )
            assert [(r["positions"], r["published"]) for r in marked] == [
                (["1-1"], True),
                (["1-2", "1-3"], True),
                ([], True),
            ]
            assert await queries.mark_published(conn, ids, positions) == []
            raise _Undo


async def test_an_event_a_hand_off_refuses_holds_up_no_other(db: Database, tenant) -> None:
    """A value a hand-off's table refuses fails the batch's one statement on every try:
    the rows are then marked one by one, the others staged as ever, the refused one
    published without its hand-offs, so that the events after it still go out."""
    refusing = Handoff(
        wants=lambda _type, _data: False,
        kick=_no_kick,
        stage="""SELECT o.tenant_id FROM outbox o WHERE o.id = ANY($1::bigint[])
          AND 1 / (CASE WHEN o.type = 'test.refused' THEN 0 ELSE 1 END) = 1""",
    )
    relay = Relay(db, None, handoffs=[refusing])  # type: ignore[arg-type]
    with pytest.raises(_Undo):  # uncommitted: the session's relay never sees these rows
        async with db.system() as conn:
            rows = [
                await conn.fetchrow(
                    """INSERT INTO outbox (tenant_id, event_id, type, channels, data,
                      occurred_at)
                    VALUES ($1, $2, $3, '{}', '{}', now()) RETURNING id, type""",
                    tenant.id,
                    uuid.uuid4(),
                    event_type,
                )
                for event_type in ("test.fine", "test.refused", "test.fine")
            ]
            ids = [r["id"] for r in rows]
            batch = [_Row(r["id"], tenant.id, r["type"], [], "") for r in rows]
            staged = await relay._mark(conn, batch, ids, ["", "", ""])
            assert staged == [[tenant.id]]
            published = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE id = ANY($1) AND published_at IS NOT NULL",
                ids,
            )
            assert published == 3
            raise _Undo


async def _no_kick(_tenants: list[int]) -> None:
    pass


async def test_outbox_lag_and_socket_figures_are_metrics(client, tenant: SeededTenant) -> None:
    body = (await client.get("/metrics")).text
    for metric in (
        "recoup_outbox_lag_seconds",
        "recoup_outbox_pending",
        "recoup_ws_sockets",
        "recoup_ws_deliveries_total",
    ):
        assert metric in body


async def test_a_trickle_is_marked_published_together_and_before_the_relay_stops(
    db: Database, resources, settings, relay, tenant: SeededTenant
) -> None:
    """A single-event commit goes out to Redis at once; its row is marked published (with
    its positions) later, with the trickle's next events, or when the relay stops: a relay
    that stops leaves nothing for the next one to publish again."""
    for process in relay:  # the suite's relays make way for this one
        process.kill()
        process.wait(timeout=10)
    relay.clear()  # the next test that kills the active relay kills the standby below
    account = tenant.accounts[0]
    own = Relay(db, resources.channels, gather_seconds=0, mark_seconds=60, poll_seconds=60)
    running = asyncio.create_task(own.run())
    channel = names.scoped(tenant.id, names.account(account.id))

    async def row() -> asyncpg.Record:
        async with db.system() as conn:
            return await conn.fetchrow(
                "SELECT published_at, positions FROM outbox WHERE tenant_id = $1"
                " AND type = 'account.updated' ORDER BY id DESC LIMIT 1",
                tenant.id,
            )

    try:
        for _ in range(200):  # taken over, and what was waiting published (and marked)
            if own._conn is not None and not own._unmarked:
                break
            await asyncio.sleep(0.05)
        assert own._conn is not None
        relay.append(start_relay(settings))  # a standby, until this test's relay stops
        async with db.tenant(tenant.id) as conn:
            await AccountService(conn, tenant.admin.actor).update(
                account.id, AccountUpdate(fees=Decimal("7.00"))
            )
        for _ in range(200):
            if own._unmarked:
                break
            await asyncio.sleep(0.01)
        history = await resources.channels.history(channel, NO_POSITION)
        assert [msgspec.json.decode(m.payload)["data"]["fees"] for m in history.messages][-1:] == [
            "7.00"
        ]
        assert (await row())["published_at"] is None  # in Redis, not yet marked
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    marked = await row()
    assert marked["published_at"] is not None
    assert format_pos(history.messages[-1].pos) in marked["positions"]
