"""Receipts meet bank lines (issue 8): match settings, proposals, settlements and their
parts; a line's "no receipt needed" and a document's "not a bank payment" marks; the Qonto
attachment a document was read from. Python-side defaults (timestamps) come from the models.
"""
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Document(Model):
        class Meta:
            database = db
            table_name = 'document'

    class BankTransaction(Model):
        class Meta:
            database = db
            table_name = 'bank_transaction'

    class MatchSettings(Model):
        days_before = IntegerField(default=3)
        days_after = IntegerField(default=10)
        auto_accept_score = IntegerField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'match_settings'

    class MatchProposal(Model):
        document = ForeignKeyField(Document, on_delete='CASCADE')
        line = ForeignKeyField(BankTransaction, on_delete='CASCADE')
        score = IntegerField()
        reasons = TextField(default='[]')
        best_for_document = BooleanField(default=False)
        best_for_line = BooleanField(default=False)
        computed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'match_proposal'
            indexes = ((('document', 'line'), True), (('line', 'score'), False))

    class Settlement(Model):
        line = ForeignKeyField(BankTransaction, on_delete='CASCADE')
        open_line = IntegerField(null=True, unique=True)
        kind = CharField()
        state = CharField(default='queued', index=True)
        origin = CharField(default='person')
        score = IntegerField(null=True)
        reasons = TextField(default='[]')
        accepted_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        accepted_at = DateTimeField()
        zoho_record_type = CharField(default='')
        zoho_record_id = CharField(null=True)
        settled_at = DateTimeField(null=True)
        error = TextField(default='')
        undone_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        undone_at = DateTimeField(null=True)
        alias_offer = CharField(default='')
        attempts = IntegerField(default=0)
        next_try_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'settlement'

    class SettlementPart(Model):
        settlement = ForeignKeyField(Settlement, on_delete='CASCADE')
        document = ForeignKeyField(Document, on_delete='CASCADE')
        amount_cents = IntegerField()
        class Meta:
            database = db
            table_name = 'settlement_part'
            indexes = ((('settlement', 'document'), True),)

    db.create_tables([MatchSettings, MatchProposal, Settlement, SettlementPart])
    # NOT NULL columns are added with a plain ALTER TABLE and a DEFAULT: peewee's migrator
    # would rebuild the table on SQLite to make them NOT NULL, and a rebuild drops the
    # full-text search triggers of migrations 0009 (document) and 0012 (bank_transaction).
    boolean, text = db.field_types['BOOL'], 'VARCHAR(255)'
    for table, column, sql_type, default in (
            ('bank_transaction', 'no_receipt_needed', boolean, 'FALSE'),
            ('bank_transaction', 'card_last_digits', text, "''"),
            ('document', 'not_bank_payment', boolean, 'FALSE')):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {sql_type} '
                       f'NOT NULL DEFAULT {default}')
    migrator.migrate(
        migrator.add_column('document', 'qonto_attachment_id', CharField(null=True)),
        migrator.add_index('document', ('qonto_attachment_id',), True),
        # Matching reads the completed lines of a document's few weeks.
        migrator.add_index('bank_transaction', ('status', 'booking_date'), False),
    )


def down(migrator, db):
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason as above: no table rebuild.
    db.execute_sql('DROP INDEX IF EXISTS "document_qonto_attachment_id"')
    db.execute_sql('DROP INDEX IF EXISTS "bank_transaction_status_booking_date"')
    for table, column in (('document', 'qonto_attachment_id'),
                          ('document', 'not_bank_payment'),
                          ('bank_transaction', 'card_last_digits'),
                          ('bank_transaction', 'no_receipt_needed')):
        db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    for table in ('settlement_part', 'settlement', 'match_proposal', 'match_settings'):
        db.execute_sql(f'DROP TABLE IF EXISTS {table}')
