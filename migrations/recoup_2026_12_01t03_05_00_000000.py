"""Imports left waiting: the partial index the imports sweep reads (pending and running
imports by when they last moved), so that finding them never reads the finished ones."""

from domain.schema import sql_migration

ID = "2026-12-01T03:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index of imports not yet ended, for the sweep that starts them again"

SQL = """
CREATE INDEX imports_unfinished_idx ON imports (updated_at)
  WHERE status IN ('pending', 'running');
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
