"""Sessions that end, one-time password-reset links, and a throttle keyed by client address
and by account (rebuilt: its rows are short-lived counters, nothing worth keeping).

Python-side defaults (timestamps) are set by the models.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    migrator.migrate(
        migrator.add_column('user', 'session_version', IntegerField(default=0)))

    class PasswordReset(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        token_hash = CharField(unique=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL',
                                     backref='resets_issued')
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'password_reset'
    db.create_tables([PasswordReset])

    migrator.migrate(migrator.drop_table('login_throttle'))

    class LoginThrottle(Model):
        key = CharField(unique=True)
        failures = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        last_failure_at = DateTimeField(null=True, index=True)
        class Meta:
            database = db
            table_name = 'login_throttle'
    db.create_tables([LoginThrottle])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('password_reset'))
    migrator.migrate(migrator.drop_column('user', 'session_version'))
    migrator.migrate(migrator.drop_table('login_throttle'))

    class LoginThrottle(Model):
        email = CharField(unique=True)
        failures = IntegerField(default=0)
        locked_until = DateTimeField(null=True)
        last_failure_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'login_throttle'
    db.create_tables([LoginThrottle])
