"""Lists, search and duplicate checks that stay fast with years of history.

- document.supplier_key / number_key: the supplier name and number without spaces or case,
  so a duplicate check is an index look-up (back-filled here, then kept by Document.save);
- audit_event.area: the action's part before the first dot, for the Activity "Area" filter;
- composite indexes for every list's filter + newest-first order (keyset pages), replacing
  the single-column ones they start with;
- on SQLite, document_search: an FTS5 table over supplier, number, file name and total,
  kept by triggers so every write (save, update query, bulk insert) keeps it true. Its rowid
  is the document id. PostgreSQL searches with ILIKE instead (services.document_search).
"""
import re

from peewee import CharField, SqliteDatabase

DOCUMENT_INDEXES = [
    ('created_at', 'id'),
    ('status', 'created_at', 'id'),
    ('supplier_key', 'number_key'),
    ('supplier_key', 'total_cents', 'issue_date'),
]
AUDIT_INDEXES = [('at', 'id'), ('area', 'at', 'id')]

# The total is indexed as text, "94.80": the tokenizer splits on "." and ",", so "94,80"
# finds it too. Written out in full in each statement: this is the schema, read it as SQL.
SEARCH_SQL = [
    # unicode61 folds case and accents ("Societe" finds "Société"); the prefix indexes make
    # what a person is still typing ("ov", "FR-20") quick to match.
    """CREATE VIRTUAL TABLE document_search USING fts5(
        supplier, number, filename, total,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')""",
    """CREATE TRIGGER document_search_insert AFTER INSERT ON document BEGIN
        INSERT INTO document_search (rowid, supplier, number, filename, total)
        VALUES (new.id, new.supplier_name, new.number, new.filename,
                CASE WHEN new.total_cents IS NULL THEN '' ELSE printf('%d.%02d',
                     new.total_cents / 100, abs(new.total_cents) % 100) END);
    END""",
    """CREATE TRIGGER document_search_update
    AFTER UPDATE OF supplier_name, number, filename, total_cents ON document BEGIN
        DELETE FROM document_search WHERE rowid = old.id;
        INSERT INTO document_search (rowid, supplier, number, filename, total)
        VALUES (new.id, new.supplier_name, new.number, new.filename,
                CASE WHEN new.total_cents IS NULL THEN '' ELSE printf('%d.%02d',
                     new.total_cents / 100, abs(new.total_cents) % 100) END);
    END""",
    """CREATE TRIGGER document_search_delete AFTER DELETE ON document BEGIN
        DELETE FROM document_search WHERE rowid = old.id;
    END""",
    """INSERT INTO document_search (rowid, supplier, number, filename, total)
    SELECT id, supplier_name, number, filename,
           CASE WHEN total_cents IS NULL THEN '' ELSE printf('%d.%02d',
                total_cents / 100, abs(total_cents) % 100) END
    FROM document""",
]


def _key(text):
    """A copy of models.documents.duplicate_key as it was when this migration was written."""
    return re.sub(r"\s+", "", text or "").casefold()


def _index_name(table, columns):
    return '_'.join([table, *columns])


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('document', 'supplier_key', CharField(default='')),
        migrator.add_column('document', 'number_key', CharField(default='')),
        migrator.add_column('audit_event', 'area', CharField(default='')),
        migrator.drop_index('document', 'document_status'),
        migrator.drop_index('document', 'document_created_at'),
        migrator.drop_index('audit_event', 'auditevent_at'),  # 0001's legacy name
        *(migrator.add_index('document', columns, False) for columns in DOCUMENT_INDEXES),
        *(migrator.add_index('audit_event', columns, False) for columns in AUDIT_INDEXES),
    )
    # Python normalises the keys (casefold is Unicode-aware, SQL's lower() is not).
    rows = db.execute_sql('SELECT id, supplier_name, number FROM document').fetchall()
    db.cursor().executemany(
        'UPDATE document SET supplier_key = ?, number_key = ? WHERE id = ?'
        if isinstance(db, SqliteDatabase) else
        'UPDATE document SET supplier_key = %s, number_key = %s WHERE id = %s',
        [(_key(supplier), _key(number), row_id) for row_id, supplier, number in rows])
    db.execute_sql("UPDATE audit_event SET area = substr(action, 1, instr(action, '.') - 1) "
                   "WHERE instr(action, '.') > 0" if isinstance(db, SqliteDatabase) else
                   "UPDATE audit_event SET area = split_part(action, '.', 1) "
                   "WHERE strpos(action, '.') > 0")
    if isinstance(db, SqliteDatabase):
        for statement in SEARCH_SQL:
            db.execute_sql(statement)


def down(migrator, db):
    if isinstance(db, SqliteDatabase):
        for name in ('insert', 'update', 'delete'):
            db.execute_sql(f'DROP TRIGGER IF EXISTS document_search_{name}')
        db.execute_sql('DROP TABLE IF EXISTS document_search')
    migrator.migrate(
        *(migrator.drop_index('document', _index_name('document', columns))
          for columns in DOCUMENT_INDEXES),
        *(migrator.drop_index('audit_event', _index_name('audit_event', columns))
          for columns in AUDIT_INDEXES),
        migrator.add_index('document', ('status',), False),
        migrator.add_index('document', ('created_at',), False),
        migrator.drop_column('document', 'supplier_key'),
        migrator.drop_column('document', 'number_key'),
        migrator.drop_column('audit_event', 'area'),
    )
    db.execute_sql('CREATE INDEX auditevent_at ON audit_event (at)')  # 0001's name again
