"""The outbox's notice carries the events of a small statement: each one's id, tenant, type,
channels and frame tail (as the relay's read builds it), so that the relay publishes a
trickle of single-event commits without reading the outbox back. A statement of more than
16 events, or one whose notice would pass 7,900 bytes (PostgreSQL's limit is 8,000), still
names only its newest id, and the relay reads those events from the outbox."""

from domain.schema import sql_migration

ID = "2026-12-02T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The outbox's notice carries a small statement's events"

SQL = """
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  notice text;
BEGIN
  IF (SELECT count(*) FROM (SELECT FROM inserted LIMIT 17) AS few) <= 16 THEN
    SELECT json_agg(json_build_array(id, tenant_id, type, channels,
        '","id":"' || event_id::text || '","type":' || to_json(type)::text
        || ',"data":' || data::text || '}') ORDER BY id)::text
      INTO notice FROM inserted;
  END IF;
  IF notice IS NULL OR octet_length(notice) > 7900 THEN
    notice := coalesce((SELECT max(id)::text FROM inserted), '');
  END IF;
  PERFORM pg_notify('recoup_outbox', notice);
  RETURN NULL;
END $$;
"""

forwards = sql_migration(ID, DESCRIPTION, SQL)
