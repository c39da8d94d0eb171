"""Factories: a valid tenant, its people and its accounts in one line."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.accounts.schemas import Account, AccountCreate
from domain.accounts.service import AccountService
from domain.actor import Actor, Role, system_actor
from domain.auth.passwords import hash_password
from domain.auth.tokens import issue_access_token
from domain.clock import utcnow
from domain.db import Database
from domain.debtors.schemas import DebtorCreate
from domain.tenancy.service import create_tenant

PASSWORD = "correct horse battery"


def midday_zone() -> str:
    """A time zone where it is early afternoon now, so that calls in tests are within the
    contact hours whatever the clock says (compliance tests choose their own zones)."""
    offset = max(-12, min(14, 13 - dt.datetime.now(dt.UTC).hour))
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


_counter = itertools.count(1)


@dataclass
class SeededUser:
    id: int
    email: str
    role: Role
    token: str
    tenant_id: int
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def actor(self) -> Actor:
        return Actor(tenant_id=self.tenant_id, type="user", id=self.id, role=self.role)


@dataclass
class SeededTenant:
    id: int
    slug: str
    users: dict[str, SeededUser]
    db: Database
    accounts: list[Account] = field(default_factory=list)

    @property
    def admin(self) -> SeededUser:
        return self.users["admin"]

    @property
    def supervisor(self) -> SeededUser:
        return self.users["supervisor"]

    @property
    def collector(self) -> SeededUser:
        return self.users["collector"]

    @property
    def other_collector(self) -> SeededUser:
        return self.users["collector2"]

    @property
    def readonly(self) -> SeededUser:
        return self.users["readonly"]

    async def account(self, **overrides: Any) -> Account:
        """Create an account (with a new debtor unless ``debtor_id`` is given)."""
        n = next(_counter)
        values: dict[str, Any] = {
            "external_ref": f"T{self.id}-ACC-{n}",
            "currency": "USD",
            "principal": Decimal("1000.00"),
            "interest": Decimal("50.00"),
            "fees": Decimal("25.00"),
            "due_date": dt.date.today() - dt.timedelta(days=45),
            "creditor": "Test Bank",
        }
        values.update(overrides)
        if "debtor_id" not in values and "debtor" not in values:
            values["debtor"] = DebtorCreate(
                first_name="Pat",
                last_name=f"Debtor{n}",
                email=f"pat{n}@example.com",
                phone="+15555550100",
                time_zone=midday_zone(),
            )
        async with self.db.tenant(self.id) as conn:
            account = await AccountService(conn, system_actor(self.id)).create(
                AccountCreate(**values)
            )
        self.accounts.append(account)
        return account


class TenantFactory:
    def __init__(self, db: Database, secret: str, password_hash: str) -> None:
        self.db = db
        self.secret = secret
        self.password_hash = password_hash

    @classmethod
    async def create(cls, db: Database, secret: str) -> TenantFactory:
        return cls(db, secret, await hash_password(PASSWORD))

    def token_for(
        self, user_id: int, tenant_id: int, role: Role, ttl: int = 900, version: int = 1
    ) -> str:
        """An access token as a sign-in of its own would give (a sign-in nobody revoked)."""
        token, _ = issue_access_token(
            self.secret,
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,
            ttl=ttl,
            now=utcnow(),
            sign_in=uuid.uuid4(),
            version=version,
        )
        return token

    async def new(self, *, with_accounts: bool = True, defaults: bool = False) -> SeededTenant:
        """A tenant with one user of each role and, unless told otherwise, three accounts.
        Without the shipped workflows unless ``defaults``: they would send messages and make
        tasks in tests about something else."""
        slug = f"t-{uuid.uuid4().hex[:12]}"
        users: dict[str, SeededUser] = {}
        async with self.db.system() as conn:
            tenant = await create_tenant(conn, slug=slug, name=f"Tenant {slug}", defaults=defaults)
            for key, role in (
                ("admin", "admin"),
                ("supervisor", "supervisor"),
                ("collector", "collector"),
                ("collector2", "collector"),
                ("readonly", "readonly"),
            ):
                email = f"{key}@{slug}.test"
                user_id = await conn.fetchval(
                    """INSERT INTO users (tenant_id, email, name, password_hash, role)
                    VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                    tenant.id,
                    email,
                    f"{key.title()} of {slug}",
                    self.password_hash,
                    role,
                )
                users[key] = SeededUser(
                    id=user_id,
                    email=email,
                    role=role,  # type: ignore[arg-type]
                    token=self.token_for(user_id, tenant.id, role),  # type: ignore[arg-type]
                    tenant_id=tenant.id,
                )
        made = SeededTenant(id=tenant.id, slug=slug, users=users, db=self.db)
        if with_accounts:
            await made.account(owner_id=users["collector"].id)
            await made.account(owner_id=users["collector2"].id)
            await made.account()
        return made
