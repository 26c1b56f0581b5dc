"""Receipts meet bank lines: match settings, proposals, and settlements in Zoho Books.

A *proposal* says "this document may explain this bank line", with a score and its
reasons; proposals are recomputed and never decide anything. A *settlement* is what a
person (or auto-accept, or a Qonto receipt) decided for one bank line: the documents that
explain it (one or several parts) and the single Zoho operation that records it (an
expense categorising the line, a vendor payment of bills, or a match to published
expenses). Every Zoho operation acts on one bank line, hence one settlement per line.

`Settlement.open_line` holds the line's id while the settlement is not undone and is
NULL afterwards: its unique index lets a line have at most one live settlement, whatever
process accepts it.
"""

import enum

from flask_babel import gettext
from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)
from playhouse.fields import EnumField

from models.bank import BankTransaction
from models.base import BaseModel, JSONField, utcnow
from models.documents import Document
from models.users import User


class MatchSettings(BaseModel):
    """The single row of matching settings (admins set them on Connections)."""

    # Card payments settle days after the receipt; transfers may go out before a bill's date.
    days_before = IntegerField(default=3)
    days_after = IntegerField(default=10)
    # Proposals scoring at least this are accepted without a person; None: off (default).
    auto_accept_score = IntegerField(null=True)
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def current(cls) -> "MatchSettings":
        settings = cls.select().order_by(cls.id).first()
        return settings or cls.create()


class MatchProposal(BaseModel):
    """A scored candidate pair, recomputed by services.matching; never acted on alone."""

    document = ForeignKeyField(Document, backref="match_proposals", on_delete="CASCADE")
    line = ForeignKeyField(BankTransaction, backref="match_proposals", on_delete="CASCADE")
    score = IntegerField()  # 0..100
    # Why, in words a bookkeeper reads, as stored messages (services.i18n) shown in the
    # reader's language: ["same amount €36.50", "paid 1 day after the receipt", ...]
    reasons = JSONField(default=list)
    # The best proposal of its document and of its line (both true: one-to-one).
    best_for_document = BooleanField(default=False)
    best_for_line = BooleanField(default=False)
    computed_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("document", "line"), True),
                   (("line", "score"), False))


class SettlementState(enum.Enum):
    WAITING = "waiting"  # accepted; its unpublished document is not ready to publish yet
    QUEUED = "queued"  # accepted and ready; a job will settle it in Zoho
    SETTLING = "settling"  # ledger: the Zoho call is (or may have been) made
    SETTLED = "settled"
    FAILED = "failed"  # Zoho refused; error (a stored message) says why; retry or undo
    UNDOING = "undoing"  # ledger: the reversing Zoho call is (or may have been) made
    UNDONE = "undone"

    @property
    def label(self) -> str:
        """The state's name in the reader's language (English outside a request)."""
        return {
            "waiting": gettext("Waiting"), "queued": gettext("Queued"),
            "settling": gettext("Settling"), "settled": gettext("Settled"),
            "failed": gettext("Failed"), "undoing": gettext("Undoing"),
            "undone": gettext("Undone"),
        }[self.value]


class SettlementKind(enum.Enum):
    EXPENSE = "expense"  # an unpublished receipt categorises the line as a new expense
    VENDOR_PAYMENT = "vendor_payment"  # published bills, paid by this line
    MATCH = "match"  # published expenses, matched to this line


class Settlement(BaseModel):
    line = ForeignKeyField(BankTransaction, backref="settlements", on_delete="CASCADE")
    open_line = IntegerField(null=True, unique=True)  # line id until undone
    kind = EnumField(SettlementKind)
    state = EnumField(SettlementState, default=SettlementState.QUEUED, index=True)
    origin = CharField(default="person")  # person, auto, qonto_receipt
    score = IntegerField(null=True)
    reasons = JSONField(default=list)
    accepted_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    accepted_at = DateTimeField(default=utcnow)
    # What the Zoho operation created: the expense or the vendor payment ("" for a match).
    zoho_record_type = CharField(default="")
    zoho_record_id = CharField(null=True)
    settled_at = DateTimeField(null=True)
    error = TextField(default="")
    undone_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    undone_at = DateTimeField(null=True)
    # The bank label offered as a supplier alias after settling ("" once answered).
    alias_offer = CharField(default="")
    # After an unknown outcome or Zoho being down, the next try waits longer each time
    # (jobs.matching): the minute's safety net takes only settlements whose time has come.
    attempts = IntegerField(default=0)
    next_try_at = DateTimeField(null=True)


class SettlementPart(BaseModel):
    """One document explaining (part of) a settlement's line, for amount_cents of it."""

    settlement = ForeignKeyField(Settlement, backref="parts", on_delete="CASCADE")
    document = ForeignKeyField(Document, backref="settlement_parts", on_delete="CASCADE")
    amount_cents = IntegerField()

    class Meta:
        indexes = ((("settlement", "document"), True),)
