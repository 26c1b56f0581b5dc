"""E-mail alerts (issue 12 item 7): one row per problem mailed to admins, and which kinds of
alert are on. `alert.open_key` is unique and NULL once a problem closed, so only one process
opens a problem. Python-side defaults (timestamps) are set by the models.
"""
from peewee import BooleanField, CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class Alert(Model):
        kind = CharField()
        key = CharField()
        open_key = CharField(null=True, unique=True)
        subject = CharField()
        body = TextField()
        path = CharField(default='')
        opened_at = DateTimeField(index=True)
        closed_at = DateTimeField(null=True)
        mail_state = CharField(default='pending')
        claimed_until = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        sent_to = TextField(default='')
        sent_at = DateTimeField(null=True)
        error = TextField(default='')
        class Meta:
            database = db
            table_name = 'alert'

    class AlertSettings(Model):
        reconnect = BooleanField(default=True)
        sync_failing = BooleanField(default=True)
        quota_reserve = BooleanField(default=True)
        intake_rejected = BooleanField(default=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'alert_settings'

    db.create_tables([Alert, AlertSettings])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('alert_settings'))
    migrator.migrate(migrator.drop_table('alert'))
