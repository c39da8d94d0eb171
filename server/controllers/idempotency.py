"""The HTTP side of idempotent requests: the Idempotency-Key header in, the outcome out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response
from litestar.params import HeaderParameter

from domain.payments.idempotency import Outcome

# Printable Latin-1 but the space: ASCII ! to ~, and ¡ to ÿ less the soft hyphen.
_PRINTABLE = "[!-~\u00a1-\u00ac\u00ae-\u00ff]"
_KEY_RULES: dict[str, Any] = {
    "name": "Idempotency-Key",
    # What domain.payments.idempotency takes: 1 to 200 printable characters (those a header
    # can carry), with no space at either end (HTTP strips it).
    "min_length": 1,
    "max_length": 200,
    "pattern": f"^{_PRINTABLE}(({_PRINTABLE}| )*{_PRINTABLE})?$",
}
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        description="retries by the same caller with the same key and body "
        "get the first response; keys are kept 48 hours",
        **_KEY_RULES,
    ),
]
# Money-moving requests: documented as required, and refused without it by
# ``domain.payments.idempotency.required_key`` (a 400 naming the header; Litestar's own
# refusal of a missing parameter would be a 422).
RequiredIdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        description="required: a unique value per request that moves money, sent again "
        "with each retry of it; the same caller with the same key and body gets the first "
        "response (`Idempotent-Replayed: true`); keys are kept 48 hours",
        required=True,
        **_KEY_RULES,
    ),
]


def respond(outcome: Outcome) -> Response[Any]:
    """The response of an idempotent request; a replay says so in ``Idempotent-Replayed``."""
    if outcome.replayed:
        return Response(
            outcome.body, status_code=outcome.status, headers={"Idempotent-Replayed": "true"}
        )
    return Response(outcome.body, status_code=outcome.status)
