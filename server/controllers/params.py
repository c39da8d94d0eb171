"""Query parameters several controllers share."""

from typing import Annotated

from litestar.params import QueryParameter

from domain.pagination import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="items per page")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]
Search = Annotated[str | None, QueryParameter(max_length=200, description="prefix search")]

__all__ = ["DEFAULT_LIMIT", "Cursor", "Limit", "Search"]
