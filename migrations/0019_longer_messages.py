"""Columns that now hold stored messages (services/i18n.py: the English id and its values as
JSON, translated when read) become TEXT: a tax check or a job step with its values can pass
the 255 characters of a VARCHAR. PostgreSQL enforces that length; SQLite does not (and
altering a column there would rebuild the table and drop the full-text triggers of 0009),
so SQLite is left as it is.
"""

COLUMNS = (('document', 'tax_confirmed'), ('document', 'duplicate_reason'),
           ('job', 'step'), ('alert', 'subject'), ('audit_event', 'subject'))


def _on_postgresql(db) -> bool:
    return 'postgres' in type(db.obj if hasattr(db, 'obj') else db).__name__.lower()


def up(migrator, db):
    if not _on_postgresql(db):
        return
    for table, column in COLUMNS:
        db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE TEXT')


def down(migrator, db):
    if not _on_postgresql(db):
        return
    for table, column in COLUMNS:
        db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE VARCHAR(255)')
