"""Bulk writes of debtors and accounts without per-row work where a set will do.

A new debtor's phone, e-mail address and address become its preferred contacts in one
statement per inserting statement (a statement-level trigger over the inserted rows) rather
than a plpgsql call per row and kind: a new debtor has no contacts yet, so each of its
values is simply added, with the consent its opt-outs leave, exactly as the row trigger did.
Changes to an existing debtor's values still go through the row trigger (an update has
contacts to adopt, replace or remove).

The placed balance trigger runs only when an insert does not name the balance (imports name
it; the API and other writers leave it to the trigger as before)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T01:23:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "New debtors' contacts copied per statement; placed balance only when unnamed"

SQL = """
CREATE FUNCTION debtors_contact_copy_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO debtor_contacts (tenant_id, debtor_id, kind, type, value, address_line1,
    address_line2, city, region, postal_code, country, preferred, sms_consent_at,
    sms_consent_how, call_consent_at, call_consent_how, email_consent_at, email_consent_how)
  SELECT d.tenant_id, d.id, c.kind, c.type, c.value,
    CASE WHEN c.kind = 'address' THEN d.address_line1 END,
    CASE WHEN c.kind = 'address' THEN d.address_line2 END,
    CASE WHEN c.kind = 'address' THEN d.city END,
    CASE WHEN c.kind = 'address' THEN d.region END,
    CASE WHEN c.kind = 'address' THEN d.postal_code END,
    CASE WHEN c.kind = 'address' THEN d.country END,
    true,
    CASE WHEN c.kind = 'phone' AND NOT d.opt_out_sms THEN now() END,
    CASE WHEN c.kind = 'phone' AND NOT d.opt_out_sms THEN 'on the debtor record' END,
    CASE WHEN c.kind = 'phone' AND NOT d.opt_out_call THEN now() END,
    CASE WHEN c.kind = 'phone' AND NOT d.opt_out_call THEN 'on the debtor record' END,
    CASE WHEN c.kind = 'email' AND NOT d.opt_out_email THEN now() END,
    CASE WHEN c.kind = 'email' AND NOT d.opt_out_email THEN 'on the debtor record' END
  FROM inserted d
  CROSS JOIN LATERAL (VALUES ('phone', 'mobile', d.phone), ('email', 'other', d.email),
    ('address', 'home', NULL)) AS c (kind, type, value)
  WHERE CASE WHEN c.kind = 'address'
    THEN coalesce(d.address_line1, d.address_line2, d.city, d.postal_code) IS NOT NULL
    ELSE c.value IS NOT NULL END
  ORDER BY d.id, c.kind DESC;
  RETURN NULL;
END $$;

DROP TRIGGER debtors_contact_copy ON debtors;
CREATE TRIGGER debtors_contact_copy AFTER UPDATE OF phone, email, address_line1,
  address_line2, city, region, postal_code, country ON debtors
  FOR EACH ROW EXECUTE FUNCTION debtors_contact_copy();
CREATE TRIGGER debtors_contact_copy_inserted AFTER INSERT ON debtors
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION debtors_contact_copy_inserted();

DROP TRIGGER accounts_placed_balance ON accounts;
CREATE TRIGGER accounts_placed_balance BEFORE INSERT ON accounts
  FOR EACH ROW WHEN (NEW.placed_balance IS NULL) EXECUTE FUNCTION recoup_placed_balance();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recoup", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        transaction = engine.current_transaction.get()
        if transaction is not None:
            await transaction.connection.execute(SQL)
            return
        connection = await engine.get_new_connection()
        try:
            await connection.execute(SQL)
        finally:
            await connection.close()

    manager.add_raw(run)
    return manager
