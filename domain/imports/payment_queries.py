"""SQL of payment imports: COPY into a staging table, then one statement per batch that
checks each payment against its account, allocates it, records it, takes it off the
account's balances and writes its audit row.

Allocation is the API's (``domain.money.allocate``): fees, then interest, then principal,
then credit where the tenant holds overpayments as credit. Several payments on one account
in a batch are allocated in row order: each one's span of money is ``[before, before +
amount)``, ``before`` the sum of the account's payments above it, and each balance bucket
takes what of the span falls within it (fees ``[0, fees)``, interest ``[fees, fees +
interest)``, principal after that, credit beyond). Where the tenant refuses overpayments,
a payment that goes beyond what its account still owes is rejected, as the API refuses
it, and the account's later payments are allocated as if it had not been: the accounts
whose batch goes beyond their balance are walked one payment at a time (a recursive
step per payment, all such accounts at once), the others allocated in one pass.

A payment whose reference was recorded before is not recorded again (the same file
imported twice changes nothing), unless it now names another account or amount, which is
a rejected row. Rows with no such account, or in another currency than the account's, are
rejected with the reason. Every rejection comes back from the same statement.

The accounts the batch pays are locked first (in id order, as the API locks one), so a
payment taken over the API meanwhile is applied before or after the batch, never across it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.db import Connection
from domain.imports.payment_rows import PAYMENT_STAGE_COLUMNS

_STAGE = """CREATE TEMP TABLE IF NOT EXISTS import_payment_stage (
  row_number bigint, account_ref text, payment_ref text, amount numeric, currency text,
  paid_on date, method text) ON COMMIT DELETE ROWS"""

_LOCK = """SELECT a.id FROM accounts a
WHERE a.tenant_id = $1
  AND a.external_ref IN (SELECT account_ref FROM import_payment_stage)
ORDER BY a.id FOR UPDATE"""

# $1 tenant, $2 actor type, $3 actor id, $4 request id, $5 the batch's time, $6 whether
# overpayments are held as credit, $7 the tenant's time zone (a date paid is its midnight).
MERGE = """WITH RECURSIVE src AS (
  SELECT s.*, a.id AS account_id, a.currency AS account_currency, a.fees, a.interest,
    a.principal, p.id AS known_id, p.account_id AS known_account, p.amount AS known_amount,
    p.currency AS known_currency
  FROM import_payment_stage s
  LEFT JOIN accounts a ON a.tenant_id = $1 AND a.external_ref = s.account_ref
  LEFT JOIN payments p ON p.tenant_id = $1 AND p.external_ref = s.payment_ref
), checked AS (
  SELECT src.*, CASE
      WHEN known_id IS NOT NULL AND (known_account IS DISTINCT FROM account_id
        OR known_amount <> amount OR known_currency <> currency) THEN 'payment_ref'
      WHEN known_id IS NOT NULL THEN 'known'
      WHEN account_id IS NULL THEN 'account_ref'
      WHEN currency <> account_currency THEN 'currency'
      ELSE 'new' END AS verdict
  FROM src
), spans AS (
  SELECT row_number, account_id, payment_ref, amount, currency, paid_on, method,
    coalesce(sum(amount) OVER (PARTITION BY account_id ORDER BY row_number
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
    fees AS upto_fees, fees + interest AS upto_interest,
    fees + interest + principal AS upto_principal
  FROM checked WHERE verdict = 'new'
), over AS (
  -- Accounts whose payments in the batch together go beyond the balance, where that is
  -- refused: walked one payment at a time, the others taken whole.
  SELECT DISTINCT account_id FROM spans WHERE NOT $6 AND before + amount > upto_principal
), ranked AS (
  SELECT s.*, row_number() OVER (PARTITION BY account_id ORDER BY row_number) AS k
  FROM spans s WHERE account_id IN (SELECT account_id FROM over)
), walk (account_id, k, row_number, before, ok, total) AS (
  SELECT account_id, k, row_number, 0::numeric, amount <= upto_principal,
    CASE WHEN amount <= upto_principal THEN amount ELSE 0 END
  FROM ranked WHERE k = 1
  UNION ALL
  SELECT r.account_id, r.k, r.row_number, w.total, x.ok,
    w.total + CASE WHEN x.ok THEN r.amount ELSE 0 END
  FROM walk w JOIN ranked r ON r.account_id = w.account_id AND r.k = w.k + 1
  CROSS JOIN LATERAL (SELECT w.total + r.amount <= r.upto_principal AS ok) x
), decided AS (
  SELECT s.*, true AS ok FROM spans s WHERE account_id NOT IN (SELECT account_id FROM over)
  UNION ALL
  SELECT r.row_number, r.account_id, r.payment_ref, r.amount, r.currency, r.paid_on,
    r.method, w.before, r.upto_fees, r.upto_interest, r.upto_principal, w.ok
  FROM ranked r JOIN walk w ON w.row_number = r.row_number
), split AS (
  SELECT d.*,
    greatest(0, least(before + amount, upto_fees) - before) AS to_fees,
    greatest(0, least(before + amount, upto_interest) - greatest(before, upto_fees))
      AS to_interest,
    greatest(0, least(before + amount, upto_principal) - greatest(before, upto_interest))
      AS to_principal,
    greatest(0, before + amount - greatest(before, upto_principal)) AS to_credit
  FROM decided d
), inserted AS (
  INSERT INTO payments (tenant_id, account_id, amount, currency, status, method, source,
    reference, external_ref, applied_fees, applied_interest, applied_principal,
    applied_credit, received_at, created_by)
  SELECT $1, account_id, amount, currency, 'succeeded', method, 'import', payment_ref,
    payment_ref, to_fees, to_interest, to_principal, to_credit,
    coalesce(paid_on::timestamp AT TIME ZONE $7, $5),
    CASE WHEN $2 = 'user' THEN $3::bigint END
  FROM split WHERE ok
  ORDER BY row_number
  ON CONFLICT (tenant_id, external_ref) WHERE external_ref IS NOT NULL DO NOTHING
  RETURNING *
), totals AS (
  SELECT account_id, sum(applied_fees) AS fees, sum(applied_interest) AS interest,
    sum(applied_principal) AS principal, sum(applied_credit) AS credit
  FROM inserted GROUP BY account_id
), paid AS (
  UPDATE accounts a SET fees = a.fees - t.fees, interest = a.interest - t.interest,
    principal = a.principal - t.principal, credit = a.credit + t.credit,
    status = CASE WHEN a.fees - t.fees + a.interest - t.interest + a.principal - t.principal = 0
      AND a.status <> 'closed' THEN 'paid' ELSE a.status END,
    version = a.version + 1, updated_at = now()
  FROM totals t WHERE a.id = t.account_id
  RETURNING a.id
), audit AS (
  INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, entity_type, entity_id,
    before, after, request_id, occurred_at)
  SELECT $1, $2, $3::bigint, 'payment.import_create', 'payment', i.id, NULL,
    jsonb_build_object('account_id', i.account_id, 'amount', i.amount, 'currency',
      i.currency, 'method', i.method, 'external_ref', i.external_ref, 'applied_fees',
      i.applied_fees, 'applied_interest', i.applied_interest, 'applied_principal',
      i.applied_principal, 'applied_credit', i.applied_credit, 'received_at', i.received_at),
    $4, $5
  FROM inserted i
), refused AS (
  SELECT row_number, verdict AS field, CASE verdict
      WHEN 'payment_ref' THEN format(
        'payment %L was imported before with another account or amount', payment_ref)
      WHEN 'account_ref' THEN format('no account has the reference %L', account_ref)
      ELSE format('the account is in %s, not %s', account_currency, currency) END AS reason
  FROM checked WHERE verdict IN ('payment_ref', 'account_ref', 'currency')
  UNION ALL
  SELECT row_number, 'amount', format('the payment is %s more than the balance of %s',
      round(to_credit, scale(amount)),
      round(greatest(upto_principal - before, 0), scale(amount)))
  FROM split WHERE NOT ok
)
SELECT (SELECT count(*) FROM inserted) AS created,
  (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM inserted) AS payment_ids,
  (SELECT count(*) FROM paid) AS accounts,
  (SELECT coalesce(array_agg(row_number ORDER BY row_number), '{}') FROM refused) AS rows,
  (SELECT coalesce(array_agg(field ORDER BY row_number), '{}') FROM refused) AS fields,
  (SELECT coalesce(array_agg(reason ORDER BY row_number), '{}') FROM refused) AS reasons"""


async def stage(conn: Connection, records: list[tuple[Any, ...]]) -> None:
    await conn.execute(_STAGE)
    await conn.copy_records_to_table(
        "import_payment_stage", records=records, columns=PAYMENT_STAGE_COLUMNS
    )


async def merge(
    conn: Connection,
    audit: tuple[Any, ...],
    at: dt.datetime,
    *,
    allow_credit: bool,
    time_zone: str,
) -> tuple[list[int], int, list[tuple[int, str, str]]]:
    """Record the staged payments; ``(the payments made, how many accounts they paid,
    rejections as (row, field, reason))``. ``audit`` is ``(tenant_id, actor_type, actor_id,
    request_id)``."""
    await conn.execute(_LOCK, audit[0])
    row = await conn.fetchrow(MERGE, *audit, at, allow_credit, time_zone)
    refused = list(zip(row["rows"], row["fields"], row["reasons"], strict=True))
    return list(row["payment_ids"]), row["accounts"], refused
