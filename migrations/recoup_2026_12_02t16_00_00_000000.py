"""Time zones the database does not know ("localtime", "posixrules": files of the zone
directory that were once taken for zones) made every query of their tenant, user or debtor
that works in local time fail. They become UTC, which is what they stood for on the
servers where they could be chosen."""

from domain.schema import sql_migration

ID = "2026-12-02T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Time zones the database does not know become UTC"

SQL = """
UPDATE tenants SET time_zone = 'UTC' WHERE time_zone IN ('localtime', 'posixrules');
UPDATE users SET time_zone = 'UTC' WHERE time_zone IN ('localtime', 'posixrules');
UPDATE debtors SET time_zone = 'UTC' WHERE time_zone IN ('localtime', 'posixrules');
"""

forwards = sql_migration(ID, DESCRIPTION, SQL)
