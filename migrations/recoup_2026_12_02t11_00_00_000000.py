"""Imports count how often the sweep handed them out again without their going on: one that
stops at the same row every time (a fault in the code that reads it, say) ends as failed
after a few tries instead of being handed out every ten minutes for ever."""

from domain.schema import sql_migration

ID = "2026-12-02T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Imports: how often handed out again at the same row"

SQL = """
ALTER TABLE imports ADD COLUMN stalls integer NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN stalled_at_rows bigint;
"""

forwards = sql_migration(ID, DESCRIPTION, SQL)
