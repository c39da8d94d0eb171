"""Parameters several controllers share."""

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from domain.validation import INT64_MAX, INT64_MIN

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="items per page")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
Search = Annotated[str | None, QueryParameter(max_length=200, description="prefix search")]
# Ids are bigints: one beyond them is refused (422 naming it), not looked up.
PathId = Annotated[int, PathParameter(ge=INT64_MIN, le=INT64_MAX)]
QueryId = Annotated[int | None, QueryParameter(ge=INT64_MIN, le=INT64_MAX)]

__all__ = ["DEFAULT_LIMIT", "Cursor", "Limit", "PathId", "QueryId", "Search"]
