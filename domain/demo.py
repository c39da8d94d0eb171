"""The demo tenant: seven users, two agent groups, 1,000 debtors and their accounts.

Deterministic (seeded), so every fresh start shows the same book. Debtors and
accounts arrive by COPY, as an import would; the seeding itself is audited once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from domain.actor import system_actor
from domain.auth.passwords import hash_password
from domain.db import Database, copy_rows
from domain.outbox.service import ChangeRecorder
from domain.tenancy.schemas import Branding, TenantSettings
from domain.tenancy.service import create_tenant

log = structlog.get_logger("recoup.demo")

DEMO_SLUG = "demo"
DEMO_TIME_ZONE = "America/New_York"
DEMO_PASSWORD = "demo-password"
# Who the demo's debtors see on their payment page (the numbers are reserved for fiction).
DEMO_BRANDING = Branding(
    name="Demo Collections LLC",
    phone="+1 (555) 010-2030",
    hours="Monday to Friday, 8 am to 8 pm Eastern",
    privacy_url="https://demo.recoup.example/privacy",
)
DEMO_USERS: list[tuple[str, str, str, str | None]] = [
    ("admin@demo.test", "Ada Admin", "admin", None),
    ("supervisor@demo.test", "Sam Supervisor", "supervisor", None),
    ("collector1@demo.test", "Casey Collector", "collector", "Early stage"),
    ("collector2@demo.test", "Jordan Collector", "collector", "Early stage"),
    ("collector3@demo.test", "Riley Collector", "collector", "Early stage"),
    ("collector4@demo.test", "Morgan Collector", "collector", "Late stage"),
    ("collector5@demo.test", "Taylor Collector", "collector", "Late stage"),
]
DEMO_GROUPS = {
    "Early stage": "Accounts up to 60 days past due: reminders and first promises",
    "Late stage": "Accounts over 60 days past due: arrangements, disputes, settlements",
}
DEBTOR_COUNT = 1000

# (share, faker locale, country, currency, time zones)
_REGIONS: list[tuple[float, str, str, str, list[str]]] = [
    (
        0.70,
        "en_US",
        "US",
        "USD",
        [
            "America/New_York",
            "America/New_York",
            "America/Chicago",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
        ],
    ),
    (0.08, "en_CA", "CA", "CAD", ["America/Toronto", "America/Vancouver", "America/Halifax"]),
    (0.08, "en_GB", "GB", "GBP", ["Europe/London"]),
    (0.05, "de_DE", "DE", "EUR", ["Europe/Berlin"]),
    (0.04, "fr_FR", "FR", "EUR", ["Europe/Paris"]),
    (0.03, "ja_JP", "JP", "JPY", ["Asia/Tokyo"]),
    (0.02, "en_AU", "AU", "AUD", ["Australia/Sydney", "Australia/Perth"]),
]
_PRODUCTS = ["credit card", "personal loan", "auto loan", "utility", "telecom", "medical"]
_CREDITORS = [
    "Northwind Bank",
    "Contoso Energy",
    "Fabrikam Telecom",
    "Tailspin Motors Finance",
    "Woodgrove Card Services",
    "Litware Health",
]


def _amount(rng: random.Random, currency: str) -> tuple[Decimal, Decimal, Decimal]:
    principal = min(max(rng.lognormvariate(7.0, 1.0), 40.0), 60_000.0)
    interest = principal * rng.choice([0, 0, 0.02, 0.05, 0.08, 0.12, 0.2])
    fees = rng.choice([0, 0, 0, 15, 25, 35, 50])
    if currency == "JPY":
        scale = 150
        return (
            Decimal(round(principal * scale)),
            Decimal(round(interest * scale)),
            Decimal(round(fees * scale)),
        )
    cents = Decimal("0.01")
    return (
        Decimal(str(round(principal, 2))).quantize(cents),
        Decimal(str(round(interest, 2))).quantize(cents),
        Decimal(fees).quantize(cents),
    )


def _days_past_due(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.08:
        return -rng.randint(1, 20)  # not due yet
    if roll < 0.15:
        return 0
    if roll < 0.55:
        return rng.randint(1, 60)
    if roll < 0.8:
        return rng.randint(61, 180)
    return rng.randint(181, 720)


def build_book(
    today: dt.date, collectors: list[int], seed: int = 42
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Debtor rows and account descriptions (accounts reference debtors by position)."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for _, locale, *_ in _REGIONS}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + i)
    debtors: list[tuple[Any, ...]] = []
    accounts: list[dict[str, Any]] = []
    shares = [r[0] for r in _REGIONS]
    for n in range(DEBTOR_COUNT):
        _, locale, country, currency, zones = rng.choices(_REGIONS, weights=shares)[0]
        fake = fakers[locale]
        first, last = fake.first_name(), fake.last_name()
        email = f"{first}.{last}.{n}@example.com".lower().replace(" ", "")
        opted_out = rng.random() < 0.04
        debtors.append(
            (
                f"D-{100000 + n}",
                first,
                last,
                email if rng.random() < 0.85 else None,
                fake.phone_number()[:32] if rng.random() < 0.95 else None,
                fake.street_address()[:200],
                fake.city()[:100],
                country,
                rng.choice(zones),
                rng.random() < 0.01,
                opted_out,
                rng.random() < 0.03,
                rng.random() < 0.03,
            )
        )
        for k in range(1 if rng.random() < 0.6 else 2):
            principal, interest, fees = _amount(rng, currency)
            dpd = _days_past_due(rng)
            roll = rng.random()
            status = (
                "paid"
                if roll < 0.04
                else "promised"
                if roll < 0.14
                else "promise_broken"
                if roll < 0.19
                else "disputed"
                if roll < 0.22
                else "active"
            )
            if status == "paid":
                principal = interest = fees = Decimal(0)
            owner = None
            if collectors and status != "paid" and rng.random() < 0.6:
                late = dpd > 60
                pool = collectors[3:] if late and len(collectors) > 3 else collectors[:3]
                owner = rng.choice(pool)
            accounts.append(
                {
                    "debtor": n,
                    "external_ref": f"ACC-{200000 + n * 2 + k}",
                    "creditor": rng.choice(_CREDITORS),
                    "currency": currency,
                    "principal": principal,
                    "interest": interest,
                    "fees": fees,
                    "due_date": today - dt.timedelta(days=dpd),
                    "status": status,
                    "owner_id": owner,
                    "custom": {
                        "product": rng.choice(_PRODUCTS),
                        "risk_score": rng.randint(300, 850),
                    },
                }
            )
    return debtors, accounts


_DEBTOR_COLUMNS = (
    "tenant_id",
    "external_ref",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line1",
    "city",
    "country",
    "time_zone",
    "do_not_contact",
    "opt_out_call",
    "opt_out_sms",
    "opt_out_email",
)
_ACCOUNT_COLUMNS = (
    "tenant_id",
    "debtor_id",
    "external_ref",
    "creditor",
    "currency",
    "principal",
    "interest",
    "fees",
    "due_date",
    "status",
    "owner_id",
    "custom",
)


async def demo_exists(db: Database) -> bool:
    async with db.system() as conn:
        return bool(await conn.fetchval("SELECT 1 FROM tenants WHERE slug = $1", DEMO_SLUG))


async def seed_demo(db: Database, *, today: dt.date | None = None) -> bool:
    """Create the demo tenant unless it exists; True when it was created now."""
    from domain.custom_fields.schemas import CustomFieldCreate
    from domain.custom_fields.service import CustomFieldService
    from domain.users.schemas import AgentGroupCreate
    from domain.users.service import AgentGroupService

    today = today or dt.datetime.now(ZoneInfo(DEMO_TIME_ZONE)).date()
    hashes = await asyncio.gather(*(hash_password(DEMO_PASSWORD) for _ in DEMO_USERS))
    async with db.system() as conn:
        # One seeder at a time; a second one finds the tenant and stops.
        await conn.execute("LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE")
        if await conn.fetchval("SELECT 1 FROM tenants WHERE slug = $1", DEMO_SLUG):
            return False
        tenant = await create_tenant(
            conn,
            slug=DEMO_SLUG,
            name="Demo Collections",
            time_zone=DEMO_TIME_ZONE,
            settings=TenantSettings(branding=DEMO_BRANDING),
        )
        actor = system_actor(tenant.id)
        groups = AgentGroupService(conn, actor)
        group_ids = {}
        for name, description in DEMO_GROUPS.items():
            group_ids[name] = (
                await groups.create(AgentGroupCreate(name=name, description=description))
            ).id
        user_ids: dict[str, int] = {}
        for (email, name, role, group), password_hash in zip(DEMO_USERS, hashes, strict=True):
            user_ids[email] = await conn.fetchval(
                """INSERT INTO users (tenant_id, email, name, password_hash, role, group_id,
                  time_zone, capacity)
                VALUES ($1, $2, $3, $4, $5, $6, 'America/New_York', 25) RETURNING id""",
                tenant.id,
                email,
                name,
                password_hash,
                role,
                group_ids.get(group or ""),
            )
        collectors = [user_ids[e] for e, _, role, _ in DEMO_USERS if role == "collector"]
        debtors, accounts = build_book(today, collectors)
        await copy_rows(conn, "debtors", _DEBTOR_COLUMNS, [(tenant.id, *d) for d in debtors])
        debtor_ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM debtors WHERE tenant_id = $1 ORDER BY external_ref", tenant.id
            )
        ]
        await copy_rows(
            conn,
            "accounts",
            _ACCOUNT_COLUMNS,
            [
                (
                    tenant.id,
                    debtor_ids[a["debtor"]],
                    a["external_ref"],
                    a["creditor"],
                    a["currency"],
                    a["principal"],
                    a["interest"],
                    a["fees"],
                    a["due_date"],
                    a["status"],
                    a["owner_id"],
                    a["custom"],
                )
                for a in accounts
            ],
        )
        # The accounts' custom values, defined (so that writes are checked against them).
        fields = CustomFieldService(conn, actor)
        for made in (
            CustomFieldCreate(
                entity="account", key="product", label="Product", type="select", options=_PRODUCTS
            ),
            CustomFieldCreate(
                entity="account", key="risk_score", label="Risk score", type="number", position=1
            ),
        ):
            await fields.create(made)
        await ChangeRecorder(conn, actor).record(
            action="demo.seed",
            entity_type="tenant",
            entity_id=tenant.id,
            before=None,
            after={
                "users": len(user_ids),
                "groups": len(group_ids),
                "debtors": len(debtors),
                "accounts": len(accounts),
            },
            event_type=None,
        )
        for email, user_id in user_ids.items():
            await ChangeRecorder(conn, actor).record(
                action="user.create",
                entity_type="user",
                entity_id=user_id,
                before=None,
                after={"email": email},
                event_type=None,
            )
    created = await _seed_worklist(db, tenant.id, group_ids)
    log.info("demo tenant seeded", debtors=len(debtors), accounts=len(accounts), tasks=created)
    return True


async def _seed_worklist(db: Database, tenant_id: int, group_ids: dict[str, int]) -> int:
    """Two queues and three rules, run once, so that the queue has work from the start."""
    from domain.worklist.queues import QueueService
    from domain.worklist.rules import RuleService
    from domain.worklist.schemas import Condition, QueueCreate, RuleCreate, Strategy

    actor = system_actor(tenant_id)
    early, late = group_ids["Early stage"], group_ids["Late stage"]
    async with db.tenant(tenant_id) as conn:
        queues = QueueService(conn, actor)
        early_calls = await queues.create(
            QueueCreate(name="Early stage calls", group_id=early, age_boost_minutes=60)
        )
        late_reviews = await queues.create(QueueCreate(name="Late stage reviews", group_id=late))
        rules = RuleService(conn, actor)
        made = [
            await rules.create(
                RuleCreate(
                    name="Call early-stage balances over 100",
                    conditions=[
                        Condition(field="days_past_due", op="between", value=[1, 30]),
                        Condition(field="balance", op="gt", value="100"),
                        Condition(field="status", op="in", value=["active"]),
                    ],
                    task_type="call",
                    priority=50,
                    due_offset_minutes=240,
                    queue_id=early_calls.id,
                    cadence_minutes=60,
                )
            ),
            await rules.create(
                RuleCreate(
                    name="Follow up broken promises",
                    conditions=[Condition(field="status", op="in", value=["promise_broken"])],
                    task_type="follow_up",
                    priority=80,
                    due_offset_minutes=60,
                    strategy=Strategy(kind="fewest_open", group_id=late),
                    queue_id=late_reviews.id,
                    cadence_minutes=30,
                )
            ),
            await rules.create(
                RuleCreate(
                    name="Review large 90+ balances",
                    conditions=[
                        Condition(field="bucket", op="in", value=["90+"]),
                        Condition(field="balance", op="gt", value="2000"),
                        Condition(field="status", op="not_in", value=["paid", "closed"]),
                    ],
                    task_type="review",
                    priority=40,
                    due_offset_minutes=1440,
                    queue_id=late_reviews.id,
                    cadence_minutes=240,
                )
            ),
        ]
        created = 0
        for rule in made:
            run = await rules.run(rule.id, trigger="schedule")
            created += run.created
    return created
