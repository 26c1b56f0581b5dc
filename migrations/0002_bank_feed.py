"""The Qonto bank feed: connection, accounts, transactions, ledger, rules, runs; job params.

Python-side defaults (timestamps) are set by the models.
"""
from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from models.base import JSONField


def up(migrator, db):
    class Job(Model):
        class Meta:
            database = db
            table_name = 'job'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class QontoAccount(Model):
        qonto_id = CharField(unique=True)
        name = CharField(default='')
        iban = CharField(default='')
        currency = CharField(default='EUR')
        status = CharField(default='active')
        is_external = BooleanField(default=False)
        included = BooleanField(default=True)
        zoho_account_id = CharField(null=True)
        zoho_account_name = CharField(default='')
        link_origin = CharField(default='')
        link_problem = TextField(default='')
        history_start = DateField(null=True)
        cursors = JSONField(default=dict)
        last_synced_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'qonto_account'
    db.create_tables([QontoAccount])

    class PushBatch(Model):
        account = ForeignKeyField(QontoAccount, on_delete='CASCADE')
        zoho_account_id = CharField()
        state = CharField(default='prepared')
        line_count = IntegerField(default=0)
        start_date = DateField()
        end_date = DateField()
        created_at = DateTimeField()
        settled_at = DateTimeField(null=True)
        error = TextField(default='')
        class Meta:
            database = db
            table_name = 'push_batch'
    db.create_tables([PushBatch])

    class CategorisationRule(Model):
        position = IntegerField(index=True, default=0)
        name = CharField()
        enabled = BooleanField(default=True)
        stop_processing = BooleanField(default=True)
        version = IntegerField(default=1)
        conditions = JSONField(default=list)
        side = CharField(default='')
        amount_min_cents = IntegerField(null=True)
        amount_max_cents = IntegerField(null=True)
        operation_type = CharField(default='')
        qonto_category = CharField(default='')
        zoho_account_id = CharField()
        tax_id = CharField(null=True)
        contact_id = CharField(null=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'categorisation_rule'
    db.create_tables([CategorisationRule])

    class BankTransaction(Model):
        account = ForeignKeyField(QontoAccount, on_delete='CASCADE')
        qonto_id = CharField(unique=True)
        transaction_id = CharField(default='')
        status = CharField(index=True)
        side = CharField()
        amount_cents = IntegerField()
        currency = CharField(default='EUR')
        local_amount_cents = IntegerField(null=True)
        local_currency = CharField(default='')
        label = CharField(default='')
        counterparty = CharField(default='')
        reference = TextField(default='')
        note = TextField(default='')
        operation_type = CharField(default='')
        category = CharField(default='')
        emitted_at = DateTimeField(null=True)
        settled_at = DateTimeField(null=True)
        qonto_updated_at = DateTimeField()
        booking_date = DateField(index=True)
        attachment_ids = JSONField(default=list)
        push_state = CharField(index=True, default='ready')
        push_batch = ForeignKeyField(PushBatch, null=True, on_delete='SET NULL')
        pushed_at = DateTimeField(null=True)
        zoho_transaction_id = CharField(index=True, null=True)
        zoho_status = CharField(default='')
        categorized_by = ForeignKeyField(CategorisationRule, null=True, on_delete='SET NULL')
        categorized_at = DateTimeField(null=True)
        zoho_expense_id = CharField(null=True)
        last_error = TextField(default='')
        class Meta:
            database = db
            table_name = 'bank_transaction'
            indexes = ((('account', 'push_state', 'booking_date'), False),)
    db.create_tables([BankTransaction])

    class QontoConnection(Model):
        status = CharField(default='disconnected')
        login = CharField(default='')
        secret_key = TextField(null=True)
        organization_uuid = CharField(default='')
        organization_name = CharField(default='')
        consented_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        consented_at = DateTimeField(null=True)
        problem = TextField(default='')
        sync_time = CharField(default='20:30')
        last_sync_at = DateTimeField(null=True)
        next_sync_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'qonto_connection'
    db.create_tables([QontoConnection])

    class ReceiptUpload(Model):
        transaction = ForeignKeyField(BankTransaction, on_delete='CASCADE')
        attachment_id = CharField()
        state = CharField(default='sending')
        file_name = CharField(default='')
        uploaded_at = DateTimeField(null=True)
        error = TextField(default='')
        class Meta:
            database = db
            table_name = 'receipt_upload'
            indexes = ((('transaction', 'attachment_id'), True),)
    db.create_tables([ReceiptUpload])

    class SyncRun(Model):
        job = ForeignKeyField(Job, null=True, on_delete='SET NULL')
        trigger = CharField()
        started_at = DateTimeField(index=True)
        finished_at = DateTimeField(null=True)
        status = CharField(default='running')
        error = TextField(default='')
        stats = JSONField(default=dict)
        class Meta:
            database = db
            table_name = 'sync_run'
    db.create_tables([SyncRun])

    class SyncFailure(Model):
        run = ForeignKeyField(SyncRun, on_delete='CASCADE')
        account = ForeignKeyField(QontoAccount, null=True, on_delete='CASCADE')
        transaction = ForeignKeyField(BankTransaction, null=True, on_delete='CASCADE')
        stage = CharField()
        reason = TextField()
        resolved_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'sync_failure'
    db.create_tables([SyncFailure])

    migrator.migrate(migrator.add_column('job', 'params', JSONField(default=dict)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('job', 'params'))
    migrator.migrate(migrator.drop_table('sync_failure'))
    migrator.migrate(migrator.drop_table('sync_run'))
    migrator.migrate(migrator.drop_table('receipt_upload'))
    migrator.migrate(migrator.drop_table('qonto_connection'))
    migrator.migrate(migrator.drop_table('bank_transaction'))
    migrator.migrate(migrator.drop_table('categorisation_rule'))
    migrator.migrate(migrator.drop_table('push_batch'))
    migrator.migrate(migrator.drop_table('qonto_account'))
