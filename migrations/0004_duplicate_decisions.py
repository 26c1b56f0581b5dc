"""Duplicates: a person's decision on a pair of documents, remembered for good.

Python-side defaults (timestamps) are set by the models.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, Model


def up(migrator, db):
    class Document(Model):
        class Meta:
            database = db
            table_name = 'document'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class DuplicateDecision(Model):
        document = ForeignKeyField(Document, on_delete='CASCADE')
        other = ForeignKeyField(Document, on_delete='CASCADE')
        decision = CharField()
        user = ForeignKeyField(User, null=True, on_delete='SET NULL')
        at = DateTimeField()
        class Meta:
            database = db
            table_name = 'duplicate_decision'
            indexes = ((('document', 'other'), True),)
    db.create_tables([DuplicateDecision])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('duplicate_decision'))
