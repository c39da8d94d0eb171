"""The caller's own tenant: its name, time zone and delinquency buckets."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.tenancy.schemas import Tenant, TenantUpdate
from domain.tenancy.service import TenantService
from server.auth.guards import ADMINS, EVERYONE, allow
from server.controllers.deps import service


class TenantController(Controller):
    path = "/tenant"
    tags = ["tenant"]
    dependencies = {"tenants": service(TenantService)}

    @get("/", opt=allow(*EVERYONE, scope="accounts:read"), summary="Your tenant and its settings")
    async def current(self, tenants: NamedDependency[TenantService]) -> Tenant:
        return await tenants.current()

    @patch("/", opt=allow(*ADMINS), summary="Change the tenant's name, time zone or buckets")
    async def update(
        self, tenants: NamedDependency[TenantService], data: JSONBody[TenantUpdate]
    ) -> Tenant:
        return await tenants.update(data)
