"""Exports over REST: accounts, payments and interactions as CSV files, streamed.

Each takes its list's filters and answers only what the caller may see (a collector: their
accounts, and the payments and interactions on them). Filters are checked before the answer
starts (422); the file then streams from the database (``domain.exports.service.stream``),
so a database lost after the first bytes cuts the download short instead of answering 503.
"""

# No ``from __future__ import annotations``: Litestar reads these annotations at runtime.
import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from domain.accounts.schemas import AccountFilter, AccountStatus
from domain.exports.service import MAX_LIMIT, ActivityFilter, Export, ExportService, stream
from domain.interactions.schemas import Channel
from domain.payments.schemas import PaymentStatus
from server.auth.guards import EVERYONE, allow
from server.controllers.deps import service
from server.controllers.params import CUSTOM_FILTERS, QueryId, Search, custom_filters

CSV = "text/csv"  # (Litestar adds the charset)
RowLimit = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_LIMIT, description="at most this many rows")
]
Days = Annotated[int | None, QueryParameter(ge=0, le=100_000)]
From = Annotated[
    dt.date | None,
    QueryParameter(name="from", description="first day, the tenant's calendar (included)"),
]
To = Annotated[
    dt.date | None,
    QueryParameter(name="to", description="last day, the tenant's calendar (included)"),
]
DESCRIPTION = (
    "CSV as RFC 4180 quotes it (UTF-8, a header row; lines end in LF, as PostgreSQL's COPY "
    "writes them), rows in id order; money as plain decimals "
    "to the currency's digits, times in ISO 8601 UTC; a text cell starting with `=`, `+`, "
    "`-`, `@`, a tab or a carriage return is prefixed with `'`. Streamed: a bad filter is "
    "answered 422 before the file starts; once it has started, a failure cuts it short."
)


def _download(request: Request[Any, Any, Any], service: ExportService, export: Export) -> Stream:
    db = request.app.state.resources.db
    return Stream(
        stream(db, service.actor.tenant_id, export),
        status_code=200,
        media_type=CSV,
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "Cache-Control": "no-store",
        },
    )


class ExportController(Controller):
    path = "/exports"
    tags = ["exports"]
    dependencies = {"exports": service(ExportService)}

    @get(
        "/accounts.csv",
        opt=allow(*EVERYONE, scope="accounts:read"),
        media_type=CSV,
        summary="Accounts as CSV, with the account list's filters",
        description=DESCRIPTION + " A column per custom field follows. " + CUSTOM_FILTERS,
    )
    async def accounts(
        self,
        request: Request[Any, Any, Any],
        exports: NamedDependency[ExportService],
        status: Annotated[
            list[AccountStatus | Literal[""]] | None,
            QueryParameter(description="one or more; empty: any"),
        ] = None,
        bucket: Annotated[
            str | None, QueryParameter(description="one of the tenant's buckets; empty: any")
        ] = None,
        dpd_min: Days = None,
        dpd_max: Days = None,
        owner_id: QueryId = None,
        unowned: FromQuery[bool] = False,
        currency: Annotated[str | None, QueryParameter(pattern=r"^[A-Z]{3}$")] = None,
        debtor_id: QueryId = None,
        q: Search = None,
        limit: RowLimit = None,
    ) -> Stream:
        filters = AccountFilter(
            status=list(status) if status else None,
            bucket=bucket,
            dpd_min=dpd_min,
            dpd_max=dpd_max,
            owner_id=owner_id,
            unowned=unowned,
            currency=currency,
            debtor_id=debtor_id,
            q=q,
            custom=custom_filters(request.query_params),
        )
        return _download(request, exports, await exports.accounts(filters, limit))

    @get(
        "/payments.csv",
        opt={**allow(*EVERYONE, scope="payments:read"), "problems": (404,)},
        media_type=CSV,
        summary="Payments as CSV: of one account or all, by status and day created",
        description=DESCRIPTION + " An `account_id` the caller cannot see is answered 404.",
    )
    async def payments(
        self,
        request: Request[Any, Any, Any],
        exports: NamedDependency[ExportService],
        account_id: QueryId = None,
        status: Annotated[list[PaymentStatus] | None, QueryParameter()] = None,
        from_: From = None,
        to: To = None,
        limit: RowLimit = None,
    ) -> Stream:
        filters = ActivityFilter(account_id=account_id, kinds=status, from_=from_, to=to)
        return _download(request, exports, await exports.payments(filters, limit))

    @get(
        "/interactions.csv",
        opt={**allow(*EVERYONE, scope="interactions:read"), "problems": (404,)},
        media_type=CSV,
        summary="Interactions as CSV: of one account or all, by channel and day",
        description=DESCRIPTION + " An `account_id` the caller cannot see is answered 404.",
    )
    async def interactions(
        self,
        request: Request[Any, Any, Any],
        exports: NamedDependency[ExportService],
        account_id: QueryId = None,
        channel: Annotated[list[Channel] | None, QueryParameter()] = None,
        from_: From = None,
        to: To = None,
        limit: RowLimit = None,
    ) -> Stream:
        filters = ActivityFilter(account_id=account_id, kinds=channel, from_=from_, to=to)
        return _download(request, exports, await exports.interactions(filters, limit))
