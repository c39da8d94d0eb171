"""Contact details: several phones, e-mail addresses and postal addresses per debtor, each
with its type, the consent given for it (when and how) and one preferred per kind. What the
debtor row held is moved over in one statement; the debtor's ``phone``, ``email`` and address
columns stay as the copy of the preferred one of each kind: the contact details keep them so,
and a value written there (the debtor API, imports, the demo) becomes the preferred contact.
Search looks through every number and address (each with an index of its own)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T22:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Debtor contact details with type, consent and a preferred one"

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

# What each debtor row held becomes its preferred phone, e-mail address and address.
MOVE = """
-- Numbers were texted and called before, so they are mobiles with the consent the opt-outs leave.
INSERT INTO debtor_contacts (tenant_id, debtor_id, kind, type, value, address_line1,
  address_line2, city, region, postal_code, country, preferred, sms_consent_at, sms_consent_how,
  call_consent_at, call_consent_how, email_consent_at, email_consent_how, created_at)
SELECT d.tenant_id, d.id, c.kind, c.type, c.value,
  CASE WHEN c.kind = 'address' THEN d.address_line1 END,
  CASE WHEN c.kind = 'address' THEN d.address_line2 END,
  CASE WHEN c.kind = 'address' THEN d.city END,
  CASE WHEN c.kind = 'address' THEN d.region END,
  CASE WHEN c.kind = 'address' THEN d.postal_code END,
  CASE WHEN c.kind = 'address' THEN d.country END,
  true,
  CASE WHEN c.kind = 'phone' AND NOT d.opt_out_sms THEN d.created_at END,
  CASE WHEN c.kind = 'phone' AND NOT d.opt_out_sms THEN 'on the debtor record' END,
  CASE WHEN c.kind = 'phone' AND NOT d.opt_out_call THEN d.created_at END,
  CASE WHEN c.kind = 'phone' AND NOT d.opt_out_call THEN 'on the debtor record' END,
  CASE WHEN c.kind = 'email' AND NOT d.opt_out_email THEN d.created_at END,
  CASE WHEN c.kind = 'email' AND NOT d.opt_out_email THEN 'on the debtor record' END,
  d.created_at
FROM debtors d
CROSS JOIN LATERAL (VALUES ('phone', 'mobile', d.phone), ('email', 'other', d.email),
  ('address', 'home', NULL)) AS c (kind, type, value)
WHERE CASE WHEN c.kind = 'address'
  THEN coalesce(d.address_line1, d.address_line2, d.city, d.postal_code) IS NOT NULL
  ELSE c.value IS NOT NULL END;
"""

SQL = f"""
CREATE TABLE debtor_contacts (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  debtor_id bigint NOT NULL,
  kind varchar(10) NOT NULL CHECK (kind IN ('phone', 'email', 'address')),
  type varchar(10) NOT NULL,
  value varchar(254),
  address_line1 varchar(200),
  address_line2 varchar(200),
  city varchar(100),
  region varchar(100),
  postal_code varchar(20),
  country varchar(2),
  preferred boolean NOT NULL DEFAULT false,
  sms_consent_at timestamptz,
  sms_consent_how varchar(200),
  call_consent_at timestamptz,
  call_consent_how varchar(200),
  email_consent_at timestamptz,
  email_consent_how varchar(200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, debtor_id) REFERENCES debtors (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT debtor_contacts_type_known CHECK (
    (kind = 'address' AND type IN ('home', 'work', 'mailing'))
    OR (kind <> 'address' AND type IN ('mobile', 'home', 'work', 'other'))),
  CONSTRAINT debtor_contacts_value_present CHECK ((kind = 'address') = (value IS NULL)),
  CONSTRAINT debtor_contacts_consent_fits CHECK (
    (kind = 'phone' OR (sms_consent_at IS NULL AND call_consent_at IS NULL))
    AND (kind = 'email' OR email_consent_at IS NULL))
);
-- One preferred of each kind, and a number or address once per debtor.
CREATE UNIQUE INDEX debtor_contacts_preferred_key ON debtor_contacts (debtor_id, kind)
  WHERE preferred;
CREATE UNIQUE INDEX debtor_contacts_value_key ON debtor_contacts (debtor_id, kind, lower(value))
  WHERE value IS NOT NULL;
CREATE INDEX debtor_contacts_debtor_idx ON debtor_contacts (tenant_id, debtor_id, kind);
CREATE INDEX debtor_contacts_email_search_idx
  ON debtor_contacts (tenant_id, lower(value) text_pattern_ops) WHERE kind = 'email';
CREATE INDEX debtor_contacts_phone_search_idx
  ON debtor_contacts (tenant_id, reverse(regexp_replace(value, '\\D', '', 'g')) text_pattern_ops)
  WHERE kind = 'phone';

ALTER TABLE debtor_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE debtor_contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON debtor_contacts TO recoup_app
  USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
CREATE POLICY system_access ON debtor_contacts TO recoup_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON debtor_contacts TO recoup_app;
GRANT ALL ON debtor_contacts TO recoup_system;
GRANT USAGE, SELECT ON SEQUENCE debtor_contacts_id_seq TO recoup_app;
GRANT ALL ON SEQUENCE debtor_contacts_id_seq TO recoup_system;

-- What is written on the debtor row itself (the debtor API, imports, the demo) becomes the
-- preferred contact of its kind: the preferred one takes the new value, or one is added with
-- the consent the debtor's opt-outs leave; a value cleared removes it.
CREATE FUNCTION debtor_contacts_adopt(d debtors, k text, v text, has_address boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF (k = 'address' AND NOT has_address) OR (k <> 'address' AND v IS NULL) THEN
    DELETE FROM debtor_contacts WHERE debtor_id = d.id AND kind = k AND preferred;
    RETURN;
  END IF;
  IF k <> 'address' THEN
    DELETE FROM debtor_contacts
    WHERE debtor_id = d.id AND kind = k AND NOT preferred AND lower(value) = lower(v);
  END IF;
  UPDATE debtor_contacts SET value = v, address_line1 = d.address_line1,
    address_line2 = d.address_line2, city = d.city, region = d.region,
    postal_code = d.postal_code, country = d.country, updated_at = now()
  WHERE debtor_id = d.id AND kind = k AND preferred AND k = 'address';
  UPDATE debtor_contacts SET value = v, updated_at = now()
  WHERE debtor_id = d.id AND kind = k AND preferred AND k <> 'address'
    AND value IS DISTINCT FROM v;
  IF NOT EXISTS (SELECT 1 FROM debtor_contacts WHERE debtor_id = d.id AND kind = k AND preferred)
  THEN
    INSERT INTO debtor_contacts (tenant_id, debtor_id, kind, type, value, address_line1,
      address_line2, city, region, postal_code, country, preferred, sms_consent_at,
      sms_consent_how, call_consent_at, call_consent_how, email_consent_at, email_consent_how)
    VALUES (d.tenant_id, d.id, k,
      CASE k WHEN 'phone' THEN 'mobile' WHEN 'email' THEN 'other' ELSE 'home' END, v,
      CASE WHEN k = 'address' THEN d.address_line1 END,
      CASE WHEN k = 'address' THEN d.address_line2 END,
      CASE WHEN k = 'address' THEN d.city END,
      CASE WHEN k = 'address' THEN d.region END,
      CASE WHEN k = 'address' THEN d.postal_code END,
      CASE WHEN k = 'address' THEN d.country END,
      true,
      CASE WHEN k = 'phone' AND NOT d.opt_out_sms THEN now() END,
      CASE WHEN k = 'phone' AND NOT d.opt_out_sms THEN 'on the debtor record' END,
      CASE WHEN k = 'phone' AND NOT d.opt_out_call THEN now() END,
      CASE WHEN k = 'phone' AND NOT d.opt_out_call THEN 'on the debtor record' END,
      CASE WHEN k = 'email' AND NOT d.opt_out_email THEN now() END,
      CASE WHEN k = 'email' AND NOT d.opt_out_email THEN 'on the debtor record' END);
  END IF;
END $$;

CREATE FUNCTION debtors_contact_copy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  had_address boolean := TG_OP = 'UPDATE' AND
    coalesce(OLD.address_line1, OLD.address_line2, OLD.city, OLD.postal_code) IS NOT NULL;
  has_address boolean :=
    coalesce(NEW.address_line1, NEW.address_line2, NEW.city, NEW.postal_code) IS NOT NULL;
BEGIN
  IF TG_OP = 'INSERT' OR NEW.phone IS DISTINCT FROM OLD.phone THEN
    PERFORM debtor_contacts_adopt(NEW, 'phone', NEW.phone, false);
  END IF;
  IF TG_OP = 'INSERT' OR NEW.email IS DISTINCT FROM OLD.email THEN
    PERFORM debtor_contacts_adopt(NEW, 'email', NEW.email, false);
  END IF;
  IF (TG_OP = 'INSERT' AND has_address) OR (TG_OP = 'UPDATE' AND (has_address OR had_address)
      AND (NEW.address_line1, NEW.address_line2, NEW.city, NEW.region, NEW.postal_code,
        NEW.country) IS DISTINCT FROM (OLD.address_line1, OLD.address_line2, OLD.city,
        OLD.region, OLD.postal_code, OLD.country)) THEN
    PERFORM debtor_contacts_adopt(NEW, 'address', NULL, has_address);
  END IF;
  RETURN NULL;
END $$;

{MOVE}
CREATE TRIGGER debtors_contact_copy AFTER INSERT OR UPDATE OF phone, email, address_line1,
  address_line2, city, region, postal_code, country ON debtors
  FOR EACH ROW EXECUTE FUNCTION debtors_contact_copy();
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
