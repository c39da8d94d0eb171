"""Workflow e-mail through a real SMTP server: the rendered template with a working opt-out
link; after the opt-out the next e-mail is skipped and said so; a refusal stops the run, an
unreachable server is tried again later."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import httpx

from domain.db import Database
from domain.workflows.messaging import DevSms, Smtp, Transports
from tests.conftest import SmtpSink
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import (
    API,
    a_month_ahead,
    deliver,
    received,
    run_jobs,
    runs,
    template,
    workflow,
)


def over(url: str) -> Transports:
    return Transports(email=Smtp(url, "Recoup <recoup@test>", timeout=5), sms=DevSms())


async def receipt_workflow(client: httpx.AsyncClient, tenant: SeededTenant) -> dict:
    email = await template(
        client,
        tenant,
        "email",
        "Thank you {{ debtor.first_name }}: we received {{ payment.amount }}.\n"
        "Receipt {{ payment.receipt }}. Balance now {{ account.balance }}.\n",
        subject="Receipt {{ payment.receipt }} from {{ tenant.name }}",
    )
    return await workflow(
        client, tenant, "payment.received", [{"kind": "send_email", "template_id": email}]
    )


async def test_the_receipt_reaches_the_mail_server_and_its_opt_out_link_works(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, smtp_sink: SmtpSink
) -> None:
    clock = a_month_ahead()
    account = tenant.accounts[0]
    address = f"pat-{tenant.id}@example.com"
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET email = $1 WHERE id = $2", address, account.debtor_id
        )
    flow = await receipt_workflow(client, tenant)
    await deliver(db, tenant.id, "payment.received", received(account.id, 77, "25.00"))
    await run_jobs(db, tenant.id, clock, over(smtp_sink.url))

    (mail,) = smtp_sink.to(address)
    assert mail["Subject"] == f"Receipt R-77 from Tenant {tenant.slug}"
    assert mail["From"] == "Recoup <recoup@test>"
    body = mail.get_content().replace("\r\n", "\n")
    assert body.startswith(
        "Thank you Pat: we received $25.00.\nReceipt R-77. Balance now $1,075.00.\n\n"
        "To stop these e-mails: http://recoup.test/optout/"
    )
    link = body.rsplit("To stop these e-mails: ", 1)[1].strip()
    (run,) = await runs(client, tenant, flow["id"])
    assert [(s["kind"], s["outcome"]) for s in run["steps"]] == [("send_email", "done")]
    async with db.tenant(tenant.id) as conn:
        message = await conn.fetchrow("SELECT * FROM messages WHERE run_id = $1", run["id"])
    assert (message["status"], message["transport"], message["attempts"]) == ("sent", "smtp", 1)
    # The Message-ID is the message's own: sent again (at least once), the copy says so.
    assert mail["Message-ID"] == f"<recoup-{message['id']}@test>"
    await over(smtp_sink.url).email.send(message)
    assert [m["Message-ID"] for m in smtp_sink.to(address)] == [mail["Message-ID"]] * 2

    # The debtor follows the link and confirms: e-mail is off for them.
    path = urlsplit(link).path
    assert (await client.get(path)).status_code == 200
    assert (await client.post(path)).status_code == 200
    async with db.tenant(tenant.id) as conn:
        opted = await conn.fetchval(
            "SELECT opt_out_email FROM debtors WHERE id = $1", account.debtor_id
        )
    assert opted is True

    # The next payment's receipt is skipped, and the run says why.
    await deliver(db, tenant.id, "payment.received", received(account.id, 78, "5.00"))
    await run_jobs(db, tenant.id, clock, over(smtp_sink.url))
    latest = (await runs(client, tenant, flow["id"]))[0]
    assert latest["status"] == "completed"
    (step,) = latest["steps"]
    assert (step["kind"], step["outcome"]) == ("send_email", "skipped")
    assert step["detail"]["rules"] == ["opted_out"]
    assert len(smtp_sink.to(address)) == 2  # the receipt and its copy above
    shown = await client.get(
        f"{API}/accounts/{account.id}/messages", headers=tenant.collector.headers
    )
    assert [m["status"] for m in shown.json()["items"]] == ["sent"]


async def test_a_refused_address_fails_the_run_with_the_servers_reason(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, smtp_sink: SmtpSink
) -> None:
    clock = a_month_ahead()
    account = tenant.accounts[1]
    address = f"gone-{tenant.id}@example.com"
    smtp_sink.refuse[address] = "550 5.1.1 no such mailbox"
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET email = $1 WHERE id = $2", address, account.debtor_id
        )
    flow = await receipt_workflow(client, tenant)
    await deliver(db, tenant.id, "payment.received", received(account.id, 90, "1.00"))
    await run_jobs(db, tenant.id, clock, over(smtp_sink.url))
    (run,) = await runs(client, tenant, flow["id"])
    assert run["status"] == "failed"
    assert run["error"] == "step 1 (email): the address was refused: 550 5.1.1 no such mailbox"
    assert run["steps"][0]["outcome"] == "failed"
    shown = await client.get(f"{API}/workflows/{flow['id']}", headers=tenant.supervisor.headers)
    assert shown.json()["last_error"] == run["error"]


async def test_an_unreachable_mail_server_is_tried_again_later(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    account = tenant.accounts[2]
    flow = await receipt_workflow(client, tenant)
    await deliver(db, tenant.id, "payment.received", received(account.id, 91, "1.00"))
    closed = "smtp://127.0.0.1:9"  # the discard port: nothing listens
    await run_jobs(db, tenant.id, clock, over(closed))
    (run,) = await runs(client, tenant, flow["id"])
    assert (run["status"], run["steps"][0]["outcome"]) == ("waiting", "waiting")
    async with db.tenant(tenant.id) as conn:
        message = await conn.fetchrow("SELECT * FROM messages WHERE run_id = $1", run["id"])
    assert (message["status"], message["attempts"]) == ("queued", 1)
    assert message["next_attempt_at"] == clock.now + dt.timedelta(seconds=30)
    assert message["error"].startswith("the mail server could not be reached")
    # Not before its time; then again, with a longer wait.
    clock.advance(seconds=29)
    await run_jobs(db, tenant.id, clock, over(closed))
    async with db.tenant(tenant.id) as conn:
        assert (
            await conn.fetchval("SELECT attempts FROM messages WHERE run_id = $1", run["id"]) == 1
        )
    clock.advance(seconds=1)
    await run_jobs(db, tenant.id, clock, over(closed))
    async with db.tenant(tenant.id) as conn:
        message = await conn.fetchrow("SELECT * FROM messages WHERE run_id = $1", run["id"])
    assert (message["attempts"], message["next_attempt_at"]) == (
        2,
        clock.now + dt.timedelta(seconds=60),
    )
