"""Zoho's daily quota per organisation: the latest X-Rate-Limit-* reading (shared by web
and worker), the lasting totals of calls and of 429s by code (for /metrics), and the
reset the long imports are paused until once they reach the reserve.
"""
from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class ZohoQuota(Model):
        organization_id = CharField(unique=True)
        daily_limit = IntegerField(null=True)
        remaining = IntegerField(null=True)
        resets_at = DateTimeField(null=True)
        read_at = DateTimeField(null=True)
        calls = IntegerField(default=0)
        refused_44 = IntegerField(default=0)
        refused_45 = IntegerField(default=0)
        refused_1070 = IntegerField(default=0)
        paused_until = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'zoho_quota'
    db.create_tables([ZohoQuota])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS zoho_quota')
