"""Parameters several controllers share."""

from typing import Annotated, Any

from litestar.params import PathParameter, QueryParameter

from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.validation import INT64_MAX, INT64_MIN

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="items per page")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
Search = Annotated[str | None, QueryParameter(max_length=200, description="prefix search")]
# Ids are bigints: one beyond them is refused (422 naming it), not looked up.
PathId = Annotated[int, PathParameter(ge=INT64_MIN, le=INT64_MAX)]
QueryId = Annotated[int | None, QueryParameter(ge=INT64_MIN, le=INT64_MAX)]

# The account list's and export's filters on custom fields, in the query string as
# ``custom.<key>=value`` and ``debtor.custom.<key>=value`` (names OpenAPI cannot list).
CUSTOM_FILTERS = (
    "Custom fields filter too: `custom.<key>=value` (the account's) and "
    "`debtor.custom.<key>=value` (its debtor's), each value read as its field's type (a "
    "multi-select must hold every value given, comma-separated); a key the tenant does not "
    "define is a 422 naming it."
)


def custom_filters(query: Any) -> dict[str, str] | None:
    """The query string's ``custom.<key>`` and ``debtor.custom.<key>`` parameters."""
    found = {
        name: value
        for name, value in query.multi_items()
        if name.startswith(("custom.", "debtor.custom."))
    }
    return found or None


__all__ = [
    "CUSTOM_FILTERS",
    "DEFAULT_LIMIT",
    "Cursor",
    "Limit",
    "PathId",
    "QueryId",
    "Search",
    "custom_filters",
]
