"""The caller's own tenant: its name, time zone and settings, and how proposed delinquency
buckets would divide the open accounts today."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.reports.schemas import BucketCounts
from domain.reports.service import ReportService
from domain.tenancy.schemas import Bucket, Tenant, TenantUpdate
from domain.tenancy.service import TenantService
from server.auth.guards import ADMINS, EVERYONE, allow
from server.controllers.deps import service


class BucketPreview(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Buckets as ``PATCH /tenant`` would take them."""

    buckets: list[Bucket]


class TenantController(Controller):
    path = "/tenant"
    tags = ["tenant"]
    dependencies = {"tenants": service(TenantService), "reports": service(ReportService)}

    @get("/", opt=allow(*EVERYONE, scope="accounts:read"), summary="Your tenant and its settings")
    async def current(self, tenants: NamedDependency[TenantService]) -> Tenant:
        return await tenants.current()

    @patch("/", opt=allow(*ADMINS), summary="Change the tenant's name, time zone or settings")
    async def update(
        self, tenants: NamedDependency[TenantService], data: JSONBody[TenantUpdate]
    ) -> Tenant:
        return await tenants.update(data)

    @post(
        "/buckets/preview",
        opt=allow(*ADMINS),
        status_code=200,
        summary="How many open accounts proposed delinquency buckets would hold today",
        description="Nothing is saved. The buckets are checked as `PATCH /tenant` checks them "
        "(a 422 names `buckets` or the field at fault).",
    )
    async def preview_buckets(
        self, reports: NamedDependency[ReportService], data: JSONBody[BucketPreview]
    ) -> BucketCounts:
        return await reports.bucket_counts(data.buckets)
