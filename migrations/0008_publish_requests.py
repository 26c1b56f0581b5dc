"""Bulk publishing is a stored request: which documents, when and by whom, kept on each
document until it is settled, so a dead worker loses none of it. Also what extraction says
of each value (document.confidence) and where a supplier prints what a person corrected
(supplier_rule.layout_hints), so its next document is read right.
"""
from peewee import DateTimeField, ForeignKeyField, Model

from models.base import JSONField


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    migrator.migrate(
        migrator.add_column('document', 'publish_requested_at', DateTimeField(null=True)),
        migrator.add_column('document', 'publish_requested_by_id', ForeignKeyField(
            User, null=True, on_delete='SET NULL', field=User.id)),
        migrator.add_index('document', ('publish_requested_at',), False),
        migrator.add_column('document', 'confidence', JSONField(default=dict)),
        migrator.add_column('supplier_rule', 'layout_hints', JSONField(default=dict)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('document', 'document_publish_requested_at'),
        migrator.drop_column('document', 'publish_requested_at'),
        migrator.drop_column('document', 'confidence'),
        migrator.drop_column('supplier_rule', 'layout_hints'),
        migrator.drop_column('document', 'publish_requested_by_id'),
    )
