"""The bank transactions list (/bank/lines/): searchable by label and amount, paged by key.

- composite indexes for the list's filters + newest-first order: (account_id, booking_date,
  id) and (push_state, booking_date, id). They replace the single-column account_id and
  push_state indexes they start with, so an import maintains no more indexes than before;
- on SQLite, bank_line_search: an FTS5 table over label, counterparty, reference, note and
  the amount, kept by triggers so every write (the sync's multi-row upsert included: its
  ON CONFLICT DO UPDATE fires the UPDATE trigger) keeps it true. Its rowid is the line id.
  PostgreSQL searches with ILIKE instead (services.bank_line_search).
Depends on 0002 only.
"""

from peewee import SqliteDatabase

INDEXES = {
    'banktransaction_account_id_booking_date_id': ('account_id', 'booking_date', 'id'),
    'banktransaction_push_state_booking_date_id': ('push_state', 'booking_date', 'id'),
}
REPLACED = {'banktransaction_account_id': 'account_id', 'banktransaction_push_state': 'push_state'}

# The amount is indexed unsigned as text, "94.80": the tokenizer splits on "." and ",", so
# "94,80" finds it too, and "-94.80" (a debit as the list shows it) reads as "94.80".
# Written out in full in each statement: this is the schema, read it as SQL.
SEARCH_SQL = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS bank_line_search USING fts5(
        label, counterparty, reference, note, amount,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')""",
    """CREATE TRIGGER IF NOT EXISTS bank_line_search_insert
    AFTER INSERT ON bank_transaction BEGIN
        INSERT INTO bank_line_search (rowid, label, counterparty, reference, note, amount)
        VALUES (new.id, new.label, new.counterparty, new.reference, new.note,
                printf('%d.%02d', abs(new.amount_cents) / 100, abs(new.amount_cents) % 100));
    END""",
    # The sync re-stores every changed line with all its columns: the WHEN skips the index
    # work for the lines whose searched text did not change (most of a re-stored page).
    """CREATE TRIGGER IF NOT EXISTS bank_line_search_update
    AFTER UPDATE OF label, counterparty, reference, note, amount_cents ON bank_transaction
    WHEN old.label IS NOT new.label OR old.counterparty IS NOT new.counterparty
      OR old.reference IS NOT new.reference OR old.note IS NOT new.note
      OR old.amount_cents IS NOT new.amount_cents BEGIN
        DELETE FROM bank_line_search WHERE rowid = old.id;
        INSERT INTO bank_line_search (rowid, label, counterparty, reference, note, amount)
        VALUES (new.id, new.label, new.counterparty, new.reference, new.note,
                printf('%d.%02d', abs(new.amount_cents) / 100, abs(new.amount_cents) % 100));
    END""",
    """CREATE TRIGGER IF NOT EXISTS bank_line_search_delete
    AFTER DELETE ON bank_transaction BEGIN
        DELETE FROM bank_line_search WHERE rowid = old.id;
    END""",
    """INSERT INTO bank_line_search (rowid, label, counterparty, reference, note, amount)
    SELECT id, label, counterparty, reference, note,
           printf('%d.%02d', abs(amount_cents) / 100, abs(amount_cents) % 100)
    FROM bank_transaction WHERE id NOT IN (SELECT rowid FROM bank_line_search)""",
]


def up(migrator, db):
    for name, columns in INDEXES.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS {name} ON bank_transaction '
                       f'({", ".join(columns)})')
    for name in REPLACED:
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
    if isinstance(db, SqliteDatabase):
        for statement in SEARCH_SQL:
            db.execute_sql(statement)


def down(migrator, db):
    if isinstance(db, SqliteDatabase):
        for name in ('insert', 'update', 'delete'):
            db.execute_sql(f'DROP TRIGGER IF EXISTS bank_line_search_{name}')
        db.execute_sql('DROP TABLE IF EXISTS bank_line_search')
    for name, column in REPLACED.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS {name} ON bank_transaction ({column})')
    for name in INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
