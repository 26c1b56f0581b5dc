"""The first schema: users, audit, jobs, the Zoho connection, settings and cached lists.

Python-side defaults (timestamps) are set by the models, not by the schema.
"""
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from models.base import JSONField


def up(migrator, db):
    class ApiBudget(Model):
        organization_id = CharField()
        minute = DateTimeField()
        calls = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'api_budget'
            indexes = ((('organization_id', 'minute'), True),)
    db.create_tables([ApiBudget])

    class User(Model):
        email = CharField(unique=True)
        name = CharField(default='')
        password_hash = CharField()
        role = CharField(default='bookkeeper')
        active = BooleanField(default=True)
        created_at = DateTimeField()
        last_login_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class AuditEvent(Model):
        at = DateTimeField(index=True)
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        actor = CharField()
        action = CharField(index=True)
        subject = CharField(default='')
        before = JSONField(null=True)
        after = JSONField(null=True)
        zoho_id = CharField(null=True)
        detail = TextField(default='')
        class Meta:
            database = db
            table_name = 'audit_event'
    db.create_tables([AuditEvent])

    class ConnectionSettings(Model):
        warn_new_supplier = BooleanField(default=True)
        default_cost_tax_id = CharField(null=True)
        default_sales_tax_id = CharField(null=True)
        auto_publish = BooleanField(default=False)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'connection_settings'
    db.create_tables([ConnectionSettings])

    class Job(Model):
        kind = CharField(index=True)
        status = CharField(default='queued')
        trigger = CharField(default='user')
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        step = CharField(default='')
        counts = JSONField(default=dict)
        percent = IntegerField(default=0)
        message = TextField(default='')
        error = TextField(default='')
        attempts = IntegerField(default=0)
        created_at = DateTimeField(index=True)
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        heartbeat_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'job'
    db.create_tables([Job])

    class LoginThrottle(Model):
        email = CharField(unique=True)
        failures = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        last_failure_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'login_throttle'
    db.create_tables([LoginThrottle])

    class PendingAuthorization(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        data_centre = CharField()
        accounts_server = CharField()
        api_domain = CharField()
        refresh_token = TextField()
        access_token = TextField()
        access_token_expires_at = DateTimeField()
        organizations = JSONField(default=list)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'pending_authorization'
    db.create_tables([PendingAuthorization])

    class ZohoAccount(Model):
        organization_id = CharField()
        zoho_id = CharField()
        name = CharField()
        is_active = BooleanField(default=True)
        removed_at = DateTimeField(null=True)
        refreshed_at = DateTimeField()
        data = JSONField(default=dict)
        code = CharField(default='')
        account_type = CharField(default='')
        class Meta:
            database = db
            table_name = 'zoho_account'
            indexes = ((('organization_id', 'zoho_id'), True),)
    db.create_tables([ZohoAccount])

    class ZohoBankAccount(Model):
        organization_id = CharField()
        zoho_id = CharField()
        name = CharField()
        is_active = BooleanField(default=True)
        removed_at = DateTimeField(null=True)
        refreshed_at = DateTimeField()
        data = JSONField(default=dict)
        account_type = CharField(default='')
        account_number = CharField(default='')
        bank_name = CharField(default='')
        currency_code = CharField(default='')
        class Meta:
            database = db
            table_name = 'zoho_bank_account'
            indexes = ((('organization_id', 'zoho_id'), True),)
    db.create_tables([ZohoBankAccount])

    class ZohoConnection(Model):
        status = CharField(default='disconnected')
        data_centre = CharField(default='')
        accounts_server = CharField(default='')
        api_domain = CharField(default='')
        organization_id = CharField(default='')
        organization_name = CharField(default='')
        currency_code = CharField(default='')
        time_zone = CharField(default='')
        refresh_token = TextField(null=True)
        access_token = TextField(null=True)
        access_token_expires_at = DateTimeField(null=True)
        token_lease_until = DateTimeField(null=True)
        token_refreshes = JSONField(default=list)
        connected_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        connected_at = DateTimeField(null=True)
        last_list_refresh_at = DateTimeField(null=True)
        problem = TextField(default='')
        class Meta:
            database = db
            table_name = 'zoho_connection'
    db.create_tables([ZohoConnection])

    class ZohoContact(Model):
        organization_id = CharField()
        zoho_id = CharField()
        name = CharField()
        is_active = BooleanField(default=True)
        removed_at = DateTimeField(null=True)
        refreshed_at = DateTimeField()
        data = JSONField(default=dict)
        contact_type = CharField(index=True, default='')
        company_name = CharField(default='')
        email = CharField(default='')
        currency_code = CharField(default='')
        class Meta:
            database = db
            table_name = 'zoho_contact'
            indexes = ((('organization_id', 'zoho_id'), True),)
    db.create_tables([ZohoContact])

    class ZohoCurrency(Model):
        organization_id = CharField()
        zoho_id = CharField()
        name = CharField()
        is_active = BooleanField(default=True)
        removed_at = DateTimeField(null=True)
        refreshed_at = DateTimeField()
        data = JSONField(default=dict)
        code = CharField(default='')
        is_base = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'zoho_currency'
            indexes = ((('organization_id', 'zoho_id'), True),)
    db.create_tables([ZohoCurrency])

    class ZohoItem(Model):
        organization_id = CharField()
        zoho_id = CharField()
        name = CharField()
        is_active = BooleanField(default=True)
        removed_at = DateTimeField(null=True)
        refreshed_at = DateTimeField()
        data = JSONField(default=dict)
        rate = DecimalField(null=True, max_digits=15, decimal_places=2)
        tax_id = CharField(null=True)
        class Meta:
            database = db
            table_name = 'zoho_item'
            indexes = ((('organization_id', 'zoho_id'), True),)
    db.create_tables([ZohoItem])

    class ZohoTax(Model):
        organization_id = CharField()
        zoho_id = CharField()
        name = CharField()
        is_active = BooleanField(default=True)
        removed_at = DateTimeField(null=True)
        refreshed_at = DateTimeField()
        data = JSONField(default=dict)
        percentage = DecimalField(null=True, max_digits=7, decimal_places=3)
        tax_type = CharField(default='')
        is_default = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'zoho_tax'
            indexes = ((('organization_id', 'zoho_id'), True),)
    db.create_tables([ZohoTax])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('zoho_tax'))
    migrator.migrate(migrator.drop_table('zoho_item'))
    migrator.migrate(migrator.drop_table('zoho_currency'))
    migrator.migrate(migrator.drop_table('zoho_contact'))
    migrator.migrate(migrator.drop_table('zoho_connection'))
    migrator.migrate(migrator.drop_table('zoho_bank_account'))
    migrator.migrate(migrator.drop_table('zoho_account'))
    migrator.migrate(migrator.drop_table('pending_authorization'))
    migrator.migrate(migrator.drop_table('login_throttle'))
    migrator.migrate(migrator.drop_table('job'))
    migrator.migrate(migrator.drop_table('connection_settings'))
    migrator.migrate(migrator.drop_table('audit_event'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('api_budget'))
