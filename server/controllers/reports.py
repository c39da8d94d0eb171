"""The supervisor's reports over REST: each as JSON, and as the CSV its screen downloads
(the same path ending in ``.csv``; RFC 4180, UTF-8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from domain.reports.schemas import Aging, CollectorPerformance, Liquidation, PromiseKept
from domain.reports.service import ReportService
from domain.reports.tables import (
    Table,
    aging_table,
    collector_table,
    liquidation_table,
    promise_table,
    to_csv,
)
from server.auth.guards import MANAGERS, allow
from server.controllers.deps import service

From = Annotated[
    dt.date | None,
    QueryParameter(name="from", description="first day, the tenant's calendar (included)"),
]
To = Annotated[
    dt.date | None,
    QueryParameter(name="to", description="last day, the tenant's calendar (included)"),
]
By = Annotated[Literal["month", "week"], QueryParameter(description="month, or week from Monday")]

CSV = "text/csv"
OPT = allow(*MANAGERS)


def csv_response(table: Table, name: str) -> Response[str]:
    return Response(
        to_csv(table),
        status_code=200,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    dependencies = {"reports": service(ReportService)}

    async def _period(
        self, reports: ReportService, start: dt.date | None, end: dt.date | None, back: int
    ) -> tuple[dt.date, dt.date]:
        first, today = await reports.default_period(months_back=back)
        return start or first, end or today

    @get("/aging", opt=OPT, summary="Open accounts and balance per delinquency bucket")
    async def aging(self, reports: NamedDependency[ReportService]) -> Aging:
        return await reports.aging()

    @get("/aging.csv", opt=OPT, media_type=CSV, summary="Aging as CSV")
    async def aging_csv(self, reports: NamedDependency[ReportService]) -> Response[str]:
        report = await reports.aging()
        return csv_response(aging_table(report), f"aging-{report.as_of}")

    @get(
        "/liquidation",
        opt=OPT,
        summary="Collected over placed, per month of placement (default: the last 12 months)",
    )
    async def liquidation(
        self, reports: NamedDependency[ReportService], from_: From = None, to: To = None
    ) -> Liquidation:
        return await reports.liquidation(*await self._period(reports, from_, to, 11))

    @get("/liquidation.csv", opt=OPT, media_type=CSV, summary="Liquidation as CSV")
    async def liquidation_csv(
        self, reports: NamedDependency[ReportService], from_: From = None, to: To = None
    ) -> Response[str]:
        report = await reports.liquidation(*await self._period(reports, from_, to, 11))
        return csv_response(liquidation_table(report), f"liquidation-{report.from_}-{report.to}")

    @get(
        "/promises",
        opt=OPT,
        summary="Promises made per month or week and what became of them (default: 6 months)",
    )
    async def promises(
        self,
        reports: NamedDependency[ReportService],
        from_: From = None,
        to: To = None,
        by: By = "month",
    ) -> PromiseKept:
        return await reports.promise_kept(*await self._period(reports, from_, to, 5), by)

    @get("/promises.csv", opt=OPT, media_type=CSV, summary="Promise kept rate as CSV")
    async def promises_csv(
        self,
        reports: NamedDependency[ReportService],
        from_: From = None,
        to: To = None,
        by: By = "month",
    ) -> Response[str]:
        report = await reports.promise_kept(*await self._period(reports, from_, to, 5), by)
        return csv_response(promise_table(report), f"promises-{report.from_}-{report.to}")

    @get(
        "/collectors",
        opt=OPT,
        summary="Each collector's calls, contacts, promises, money and handle time (default: "
        "this month)",
    )
    async def collectors(
        self, reports: NamedDependency[ReportService], from_: From = None, to: To = None
    ) -> CollectorPerformance:
        return await reports.collectors(*await self._period(reports, from_, to, 0))

    @get("/collectors.csv", opt=OPT, media_type=CSV, summary="Collector performance as CSV")
    async def collectors_csv(
        self, reports: NamedDependency[ReportService], from_: From = None, to: To = None
    ) -> Response[str]:
        report = await reports.collectors(*await self._period(reports, from_, to, 0))
        return csv_response(collector_table(report), f"collectors-{report.from_}-{report.to}")
