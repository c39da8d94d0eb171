"""The Litestar application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from config.settings import Settings, get_settings
from server.api_docs import ApiDocs, api_docs_asset, api_docs_router
from server.auth.middleware import AccessMiddleware
from server.compression import GzipMiddleware
from server.controllers.accounts import AccountController
from server.controllers.api_keys import ApiKeyController
from server.controllers.audit import AuditController
from server.controllers.auth import AuthController
from server.controllers.custom_fields import CustomFieldController
from server.controllers.debtor_contacts import DebtorContactController
from server.controllers.debtors import DebtorController
from server.controllers.deps import provide_actor
from server.controllers.exports import ExportController
from server.controllers.health import live, metrics, ready
from server.controllers.imports import ImportController, ImportMappingController
from server.controllers.payment_links import PaymentLinkController
from server.controllers.payments import PaymentController
from server.controllers.promises import PromiseController
from server.controllers.provider_webhooks import ProviderWebhookController
from server.controllers.reports import ReportController
from server.controllers.sftp_sources import SftpSourceController
from server.controllers.stats import StatsController
from server.controllers.tenant import TenantController
from server.controllers.users import AgentController, AgentGroupController, UserController
from server.controllers.webhooks import WebhookEndpointController
from server.controllers.workflows import MessageController, TemplateController, WorkflowController
from server.controllers.worklist import QueueController, RuleController, TaskController
from server.frontend import frontend_router
from server.input import RecoupRequest, refuse_nul_parameters
from server.observability import ObservabilityMiddleware, configure_logging
from server.openapi import FinishedJsonRenderPlugin, MoneySchemaPlugin, StrictStructSchemaPlugin
from server.options import AnswerOptions
from server.optout import OptOutController
from server.pay import PayController
from server.problems import EXCEPTION_HANDLERS
from server.realtime import RealtimeController, RecoupASGI
from server.resources import Resources
from server.sandbox import SandboxCheckoutController
from server.security import security_headers
from server.transaction import end_transaction

API_CONTROLLERS = [
    AuthController,
    UserController,
    AgentGroupController,
    AgentController,
    ApiKeyController,
    TenantController,
    DebtorController,
    DebtorContactController,
    AccountController,
    AuditController,
    RealtimeController,
    PaymentController,
    PromiseController,
    PaymentLinkController,
    ProviderWebhookController,
    QueueController,
    RuleController,
    TaskController,
    WorkflowController,
    TemplateController,
    MessageController,
    StatsController,
    WebhookEndpointController,
    ReportController,
    ImportController,
    ExportController,
    ImportMappingController,
    CustomFieldController,
    SftpSourceController,
]


def create_app(settings: Settings | None = None, *, resources: Resources | None = None) -> Litestar:
    """Build the app. With ``resources`` the caller owns them; otherwise they open at start-up."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if resources is not None:
            yield
            return
        app.state.resources = await Resources.open(settings)
        # Everything loaded so far lives as long as the process: out of the collector's
        # sight, so that its full collections walk only what requests leave behind.
        gc.freeze()
        try:
            yield
        finally:
            await app.state.resources.close()

    api = Router(
        path="/api/v1",
        route_handlers=API_CONTROLLERS,
        middleware=[AccessMiddleware],
        after_request=end_transaction,
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[
            api,
            live,
            ready,
            metrics,
            frontend_router(),
            api_docs_asset,
            PayController,
            SandboxCheckoutController,
            OptOutController,
        ],
        dependencies={"actor": provide_actor},
        plugins=[StrictStructSchemaPlugin(), MoneySchemaPlugin()],
        lifespan=[lifespan],
        state=State({"resources": resources} if resources is not None else {}),
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=RecoupRequest,
        before_request=refuse_nul_parameters,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Recoup API",
            version="1",
            description=(
                "Accounts, debtors, interactions, users and API keys of one tenant. "
                "Authenticate with `Authorization: Bearer <access token or API key>`; errors "
                "are RFC 9457 problem documents; lists page with `next_cursor`."
            ),
            path="/schema",
            openapi_router=api_docs_router(),
            render_plugins=[ApiDocs(), FinishedJsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A JWT access token from /api/v1/auth/login, or an API key",
                    )
                }
            ),
        ),
        logging_config=None,
        debug=False,
    )
    # Outside the router and its exception handler: every answer, including an unknown path's
    # 404 and an error raised by a middleware, gets a request id, a log line and a count at its
    # real status, and the security headers.
    app.asgi_handler = ObservabilityMiddleware(
        AnswerOptions(GzipMiddleware(app.asgi_handler), app),
        headers=security_headers(https=settings.https),
    )
    return app


def create_asgi(settings: Settings | None = None) -> RecoupASGI:
    """What the web process serves: the app, with ``/ws`` sockets handled in front of it."""
    return RecoupASGI(create_app(settings))
