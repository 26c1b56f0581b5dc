"""Documents: stored files, documents under review, supplier rules.

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
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class StoredFile(Model):
        sha256 = CharField(unique=True)
        media_type = CharField()
        size = IntegerField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'stored_file'
    db.create_tables([StoredFile])

    class Document(Model):
        file = ForeignKeyField(StoredFile, on_delete='RESTRICT')
        status = CharField(index=True, default='processing')
        source = CharField(default='upload')
        source_detail = CharField(default='')
        filename = CharField(default='')
        uploaded_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        method = CharField(default='')
        document_type = CharField(default='invoice')
        text = TextField(default='')
        warnings = JSONField(default=list)
        kind = CharField(default='cost')
        supplier_name = CharField(default='')
        supplier_vat = CharField(default='')
        supplier_iban = CharField(default='')
        contact_id = CharField(null=True)
        number = CharField(default='')
        issue_date = DateField(null=True)
        due_date = DateField(null=True)
        currency = CharField(default='')
        net_cents = IntegerField(null=True)
        tax_cents = IntegerField(null=True)
        total_cents = IntegerField(null=True)
        vat_breakdown = JSONField(default=list)
        tax_id = CharField(null=True)
        account_id = CharField(null=True)
        payment = CharField(default='bill')
        paid_through_account_id = CharField(null=True)
        description = TextField(default='')
        lines = JSONField(default=list)
        sources = JSONField(default=dict)
        edited = JSONField(default=list)
        extraction_error = TextField(default='')
        duplicate_of = ForeignKeyField('self', null=True, on_delete='SET NULL')
        duplicate_reason = CharField(default='')
        duplicate_decision = CharField(default='')
        publish_state = CharField(default='')
        publish_error = TextField(default='')
        zoho_type = CharField(default='')
        zoho_id = CharField(null=True)
        zoho_number = CharField(default='')
        published_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'document'
            indexes = ((('supplier_name', 'number'), False),)
    db.create_tables([Document])

    class SupplierRule(Model):
        name = CharField(unique=True)
        aliases = JSONField(default=list)
        contact_id = CharField(null=True)
        account_id = CharField(null=True)
        tax_id = CharField(null=True)
        payment = CharField(default='bill')
        paid_through_account_id = CharField(null=True)
        payment_terms_days = IntegerField(null=True)
        auto_publish = BooleanField(default=False)
        version = IntegerField(default=1)
        updated_at = DateTimeField()
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'supplier_rule'
    db.create_tables([SupplierRule])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('supplier_rule'))
    migrator.migrate(migrator.drop_table('document'))
    migrator.migrate(migrator.drop_table('stored_file'))
