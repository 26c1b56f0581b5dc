"""Supplier recognition and the cached lists' counts by index, whatever the number of contacts.

- zoho_contact.name_key / company_key: the names folded as supplier recognition compares
  them (services.supplier_recognition.fold_name), indexed, back-filled here, then written
  by the list refresh with the names;
- zoho_contact_identifier: one row per identifier a contact is known by (its VAT number
  from Zoho, the SIREN in a French one, what Bookbridge learned from documents), folded,
  indexed by (kind, value); back-filled here, rewritten by the refresh and by learning;
- zoho_connection.list_counts: how many usable records each cached list holds, written by
  the list refresh (back-filled here), so the Connections page does not count them.

The back-fill calls the recognition's own folding, not a copy: the keys are only useful
equal to what recognition computes today. A later change to the folding needs a migration
that computes the keys again. Depends on 0007 only.
"""
import json

from peewee import CharField, ForeignKeyField, Model
from playhouse.migrate import make_index_name

from models.base import JSONField
from services.supplier_recognition import fold_name, known_ids

# Label of each cached list (services.lists.CACHED_LISTS) -> its table.
CACHED_TABLES = {'Chart of accounts': 'zoho_account', 'Taxes': 'zoho_tax',
                 'Contacts': 'zoho_contact', 'Items': 'zoho_item', 'Currencies': 'zoho_currency',
                 'Bank accounts': 'zoho_bank_account'}
CONTACT_KEYS = [('organization_id', 'name_key'), ('organization_id', 'company_key')]


def _identifier_table(db):
    class ZohoContact(Model):
        class Meta:
            database = db
            table_name = 'zoho_contact'

    class ZohoContactIdentifier(Model):
        contact = ForeignKeyField(ZohoContact, on_delete='CASCADE')
        kind = CharField()
        value = CharField()

        class Meta:
            database = db
            table_name = 'zoho_contact_identifier'
            indexes = ((('kind', 'value'), False),)

    return ZohoContactIdentifier


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('zoho_contact', 'name_key', CharField(default='')),
        migrator.add_column('zoho_contact', 'company_key', CharField(default='')),
        *(migrator.add_index('zoho_contact', columns, False) for columns in CONTACT_KEYS),
        migrator.add_column('zoho_connection', 'list_counts', JSONField(default=dict)),
    )
    db.create_tables([_identifier_table(db)])
    contacts = db.execute_sql(
        'SELECT id, name, company_name, vat_number, identifiers FROM zoho_contact').fetchall()
    db.cursor().executemany(
        'UPDATE zoho_contact SET name_key = ?, company_key = ? WHERE id = ?',
        [(fold_name(name), fold_name(company), id_) for id_, name, company, *_ in contacts])
    db.cursor().executemany(
        'INSERT INTO zoho_contact_identifier (contact_id, kind, value) VALUES (?, ?, ?)',
        [(id_, kind, value)
         for id_, _, _, vat, identifiers in contacts
         for kind, values in known_ids(vat, json.loads(identifiers or '{}')).items()
         for value in sorted(values) if value])
    for connection_id, organization_id in db.execute_sql(
            'SELECT id, organization_id FROM zoho_connection').fetchall():
        counts = {label: db.execute_sql(
            f'SELECT COUNT(*) FROM {table} WHERE organization_id = ? '  # noqa: S608 (ours)
            'AND removed_at IS NULL AND is_active', (organization_id,)).fetchone()[0]
            for label, table in CACHED_TABLES.items()}
        db.execute_sql('UPDATE zoho_connection SET list_counts = ? WHERE id = ?', (json.dumps(
            {'organization_id': organization_id, 'counts': counts}), connection_id))


def down(migrator, db):
    db.drop_tables([_identifier_table(db)])
    migrator.migrate(
        migrator.drop_column('zoho_connection', 'list_counts'),
        *(migrator.drop_index('zoho_contact', make_index_name('zoho_contact', columns))
          for columns in CONTACT_KEYS),
        migrator.drop_column('zoho_contact', 'name_key'),
        migrator.drop_column('zoho_contact', 'company_key'),
    )
