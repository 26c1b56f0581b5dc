"""Requested work survives a dead worker.

A history start date is stored on each account before the job is queued, with how far
the import got (so any later run resumes it) and Qonto's count (for the progress shown on
the Banks card); a run that leaves lines held back books its own follow-up; a job records
which worker process runs it, so a restarted worker knows the old one is gone.
"""
from peewee import CharField, DateField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('qonto_account', 'history_wanted_from', DateField(null=True)),
        migrator.add_column('qonto_account', 'history_resume_at', DateTimeField(null=True)),
        migrator.add_column('qonto_account', 'history_total', IntegerField(null=True)),
        migrator.add_column('qonto_connection', 'follow_up_at', DateTimeField(null=True)),
        migrator.add_column('job', 'worker', CharField(default='')),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('qonto_account', 'history_wanted_from'),
        migrator.drop_column('qonto_account', 'history_resume_at'),
        migrator.drop_column('qonto_account', 'history_total'),
        migrator.drop_column('qonto_connection', 'follow_up_at'),
        migrator.drop_column('job', 'worker'),
    )
