"""The HTTP side of idempotent requests: the Idempotency-Key header in, the outcome out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response
from litestar.params import HeaderParameter

from domain.payments.idempotency import Outcome

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="retries by the same caller with the same key and body "
        "get the first response; keys are kept 48 hours",
    ),
]


def respond(outcome: Outcome) -> Response[Any]:
    """The response of an idempotent request; a replay says so in ``Idempotent-Replayed``."""
    if outcome.replayed:
        return Response(
            outcome.body, status_code=outcome.status, headers={"Idempotent-Replayed": "true"}
        )
    return Response(outcome.body, status_code=outcome.status)
