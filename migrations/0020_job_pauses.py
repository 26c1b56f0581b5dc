"""A job ended by a pause of Zoho's daily quota says so in a column of its own, `paused_until`
(when the work carries on), instead of being recognised by its message's words.

Jobs paused before this migration are marked from their messages: the English kept before
messages were stored ("Paused: …"), or the two stored pause messages of the releases before (their ids are
copied here: a migration does not follow the code's later wording). Their carry-on time is
not known; their end time stands in for it, which is in the past: nothing waits on them.
"""

OLD_PAUSES = ("Paused: %",
              '[[i18n]]["Zoho\'s daily quota is down to its %',
              '[[i18n]]["Zoho\'s daily API calls are all spent %')


def up(migrator, db):
    # The type peewee's DateTimeField has on this engine (TIMESTAMP on PostgreSQL).
    datetime_type = db.field_types.get("DATETIME") or "DATETIME"
    db.execute_sql(f'ALTER TABLE "job" ADD COLUMN "paused_until" {datetime_type}')
    matches = " OR ".join(['"message" LIKE ' + db.param] * len(OLD_PAUSES))
    db.execute_sql('UPDATE "job" SET "paused_until" = "finished_at" '  # noqa: S608 (constants)
                   f"WHERE \"status\" = 'succeeded' AND ({matches})", OLD_PAUSES)


def down(migrator, db):
    db.execute_sql('ALTER TABLE "job" DROP COLUMN "paused_until"')
