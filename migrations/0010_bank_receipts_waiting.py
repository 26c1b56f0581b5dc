"""The Bank sync page's "waiting for a category" table reads a partial index of just the
lines it shows (pushed, with receipts, not categorised in Zoho), newest first, so its page
and its count stay flat however many lines were imported. Depends on 0002 only.
"""

INDEX = "banktransaction_receipts_waiting"


def up(migrator, db):
    db.execute_sql(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON bank_transaction "
        "(push_state, booking_date DESC, id DESC) "
        "WHERE push_state = 'pushed' AND attachment_ids != '[]' "
        "AND zoho_status != 'categorized'")


def down(migrator, db):
    db.execute_sql(f"DROP INDEX IF EXISTS {INDEX}")
