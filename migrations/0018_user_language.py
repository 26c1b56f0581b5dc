"""Each user's language (issue 11 item 2): "" follows the browser, "en" or "fr" is a choice
made in the menu.
"""


def up(migrator, db):
    # A plain ALTER TABLE with a DEFAULT, like 0015: no table rebuild on SQLite.
    db.execute_sql('ALTER TABLE "user" ADD COLUMN "language" VARCHAR(255) NOT NULL DEFAULT \'\'')


def down(migrator, db):
    db.execute_sql('ALTER TABLE "user" DROP COLUMN "language"')
