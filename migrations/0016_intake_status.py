"""The Intake page (issue 11 item 10): what the watched folder and the mailbox last did."""
from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class IntakeSource(Model):
        name = CharField(unique=True)
        last_checked_at = DateTimeField(null=True)
        last_added_at = DateTimeField(null=True)
        added_total = IntegerField(default=0)
        rejected_total = IntegerField(default=0)
        last_rejected = TextField(default='')
        last_error = TextField(default='')
        last_error_at = DateTimeField(null=True)
        check_requested_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'intake_source'
    db.create_tables([IntakeSource])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS intake_source')
