"""What an audit event is about (issue 11 item 5): a kind and an id the Activity page turns
into a link to that document, bank line, rule, supplier rule or user. Older rows keep ""
and NULL and read as before, without a link.
"""
from peewee import CharField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('audit_event', 'link_kind', CharField(default='')),
        migrator.add_column('audit_event', 'link_id', IntegerField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('audit_event', 'link_kind'),
        migrator.drop_column('audit_event', 'link_id'),
    )
