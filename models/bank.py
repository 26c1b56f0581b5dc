"""The Qonto bank feed: connection, accounts, transactions, the push ledger, rules, runs."""

import enum

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
    Value,
)
from playhouse.fields import EnumField

from models.base import BaseModel, JSONField, utcnow
from models.jobs import Job
from models.users import User


class QontoStatus(enum.Enum):
    CONNECTED = "connected"
    # Qonto refused the key: the schedule stops until an admin connects again.
    BROKEN = "broken"
    DISCONNECTED = "disconnected"


class QontoConnection(BaseModel):
    """The single Qonto connection; kept for life so history and links survive a disconnect."""

    status = EnumField(QontoStatus, default=QontoStatus.DISCONNECTED)
    login = CharField(default="")  # the organisation's slug
    secret_key = TextField(null=True)  # encrypted
    organization_uuid = CharField(default="")
    organization_name = CharField(default="")
    consented_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    consented_at = DateTimeField(null=True)
    problem = TextField(default="")
    # Daily sync time, "HH:MM" in the Zoho organisation's time zone.
    sync_time = CharField(default="20:30")
    last_sync_at = DateTimeField(null=True)
    next_sync_at = DateTimeField(null=True)
    # A run that could not finish everything (lines held back, history asked for during
    # the run) books a follow-up here; the minute tick starts it.
    follow_up_at = DateTimeField(null=True)

    @classmethod
    def current(cls) -> "QontoConnection":
        connection = cls.select().order_by(cls.id).first()
        return connection or cls.create()

    @property
    def is_connected(self) -> bool:
        return self.status is QontoStatus.CONNECTED


class QontoAccount(BaseModel):
    qonto_id = CharField(unique=True)
    name = CharField(default="")
    iban = CharField(default="")
    currency = CharField(default="EUR")
    status = CharField(default="active")
    is_external = BooleanField(default=False)
    included = BooleanField(default=True)
    # The link is kept by Zoho id, so renaming the account in Zoho creates no duplicate.
    zoho_account_id = CharField(null=True)
    zoho_account_name = CharField(default="")
    link_origin = CharField(default="")  # matched, created, chosen
    link_problem = TextField(default="")
    # The earliest booking date this installation feeds to Zoho.
    history_start = DateField(null=True)
    # A history import asked for and not finished yet: stored before the job is queued,
    # so whichever run comes next (after a crash too) carries it on. `history_resume_at`
    # is the settled_at of the last committed page; `history_total` is Qonto's count of
    # completed transactions in the range, for the progress shown on the Banks card.
    history_wanted_from = DateField(null=True)
    history_resume_at = DateTimeField(null=True)
    history_total = IntegerField(null=True)
    # Per Qonto status, the updated_at of the last committed page (inclusive next time).
    cursors = JSONField(default=dict)
    last_synced_at = DateTimeField(null=True)

    @property
    def iban_last4(self) -> str:
        digits = self.iban.replace(" ", "")
        return digits[-4:] if len(digits) >= 4 else ""


class PushState(enum.Enum):
    WAITING = "waiting"  # pending in Qonto: kept, pushed once completed
    READY = "ready"  # completed, not yet in Zoho
    SENDING = "sending"  # in a ledger batch whose outcome is not known yet
    PUSHED = "pushed"
    NEVER = "never"  # declined, or its account is left out
    FAILED = "failed"


class PushBatch(BaseModel):
    """Ledger row, written before POST /bankstatements and settled after it."""

    account = ForeignKeyField(QontoAccount, backref="batches", on_delete="CASCADE")
    # Where the lines went, kept in case the account's link changes before settling.
    zoho_account_id = CharField()
    # prepared (outcome unknown), confirmed, looked_up, split, failed
    state = CharField(default="prepared")
    line_count = IntegerField(default=0)
    start_date = DateField()
    end_date = DateField()
    created_at = DateTimeField(default=utcnow)
    settled_at = DateTimeField(null=True)
    error = TextField(default="")


class CategorisationRule(BaseModel):
    position = IntegerField(default=0, index=True)
    name = CharField()
    enabled = BooleanField(default=True)
    stop_processing = BooleanField(default=True)
    version = IntegerField(default=1)
    # Text conditions: [{"field": "label"|"counterparty", "op": "contains"|"equals"|"matches",
    # "value": "..."}], all must hold.
    conditions = JSONField(default=list)
    side = CharField(default="")  # "", debit, credit
    amount_min_cents = IntegerField(null=True)
    amount_max_cents = IntegerField(null=True)
    operation_type = CharField(default="")
    qonto_category = CharField(default="")
    zoho_account_id = CharField()
    tax_id = CharField(null=True)
    contact_id = CharField(null=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    updated_at = DateTimeField(default=utcnow)


class BankTransaction(BaseModel):
    # Indexed by the (account, booking_date, id) index below, which it starts.
    account = ForeignKeyField(QontoAccount, backref="transactions", on_delete="CASCADE",
                              index=False)
    qonto_id = CharField(unique=True)  # Qonto's UUID
    transaction_id = CharField(default="")  # Qonto's stable human id, sent to Zoho
    status = CharField(index=True)  # pending, completed, declined, reversed...
    side = CharField()  # debit, credit
    amount_cents = IntegerField()
    currency = CharField(default="EUR")
    local_amount_cents = IntegerField(null=True)
    local_currency = CharField(default="")
    label = CharField(default="")
    counterparty = CharField(default="")
    reference = TextField(default="")
    note = TextField(default="")
    operation_type = CharField(default="")
    category = CharField(default="")
    emitted_at = DateTimeField(null=True)
    settled_at = DateTimeField(null=True)
    qonto_updated_at = DateTimeField()
    booking_date = DateField(index=True)  # calendar date in the account's time zone
    attachment_ids = JSONField(default=list)
    push_state = EnumField(PushState, default=PushState.READY)  # indexed below, leading
    push_batch = ForeignKeyField(PushBatch, null=True, backref="lines", on_delete="SET NULL")
    pushed_at = DateTimeField(null=True)
    zoho_transaction_id = CharField(null=True, index=True)
    zoho_status = CharField(default="")  # uncategorized, categorized, ...
    categorized_by = ForeignKeyField(CategorisationRule, null=True, on_delete="SET NULL")
    categorized_at = DateTimeField(null=True)
    zoho_expense_id = CharField(null=True)
    last_error = TextField(default="")
    # A person said this line needs no receipt (bank fees, transfers between accounts...):
    # it leaves the "receipt missing" list for good.
    no_receipt_needed = BooleanField(default=False)
    card_last_digits = CharField(default="")  # Qonto's, for card payments; matches receipts

    class Meta:
        # The sync's per-account queue, then the transactions list's filters with its
        # newest-first order (migration 0012).
        indexes = ((("account", "push_state", "booking_date"), False),
                   (("account", "booking_date", "id"), False),
                   (("push_state", "booking_date", "id"), False),
                   # Matching reads the completed lines of a few weeks (migration 0015).
                   (("status", "booking_date"), False))

    @classmethod
    def receipts_waiting(cls):
        """Pushed lines with receipts that Zoho has not categorised yet (receipts can only
        go on categorised lines). Read through the partial index below: its WHERE terms are
        these, word for word, so SQLite can use it."""
        return cls.select().where(cls.push_state == PushState.PUSHED,
                                  cls.attachment_ids != Value("[]", converter=False),
                                  cls.zoho_status != "categorized")


# Only the lines waiting for a category, newest first: the Bank sync page reads its first
# 100 and counts them without touching the other (hundreds of thousands of) lines.
# push_state leads, though constant here, so SQLite prefers this index to the plain
# push_state one (an equality on both, and only this one gives the order).
# Created by migrations/0010; peewee's drift check compares partial indexes by name.
BankTransaction.add_index(BankTransaction.index(
    BankTransaction.push_state, BankTransaction.booking_date.desc(), BankTransaction.id.desc(),
    name="banktransaction_receipts_waiting",
    where=((BankTransaction.push_state == PushState.PUSHED)
           & (BankTransaction.attachment_ids != Value("[]", converter=False))
           & (BankTransaction.zoho_status != "categorized"))))


class ReceiptUpload(BaseModel):
    """One Qonto attachment sent to Zoho, exactly once."""

    transaction = ForeignKeyField(BankTransaction, backref="receipts", on_delete="CASCADE")
    attachment_id = CharField()
    state = CharField(default="sending")  # sending, done, failed
    file_name = CharField(default="")
    uploaded_at = DateTimeField(null=True)
    error = TextField(default="")

    class Meta:
        indexes = ((("transaction", "attachment_id"), True),)


class SyncRun(BaseModel):
    job = ForeignKeyField(Job, null=True, on_delete="SET NULL")
    trigger = CharField()  # schedule, button, history
    started_at = DateTimeField(default=utcnow, index=True)
    finished_at = DateTimeField(null=True)
    status = CharField(default="running")  # running, succeeded, failed
    error = TextField(default="")
    # Per Qonto account id: fetched, new, updated, pushed, duplicates, categorised,
    # receipts, failed.
    stats = JSONField(default=dict)


class SyncFailure(BaseModel):
    run = ForeignKeyField(SyncRun, backref="failures", on_delete="CASCADE")
    account = ForeignKeyField(QontoAccount, null=True, on_delete="CASCADE")
    transaction = ForeignKeyField(BankTransaction, null=True, on_delete="CASCADE")
    stage = CharField()  # link, fetch, push, categorise, receipt
    reason = TextField()
    resolved_at = DateTimeField(null=True)
