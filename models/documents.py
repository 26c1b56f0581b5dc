"""Receipts and invoices: stored files, documents under review, supplier rules."""

import enum
import re

from flask_babel import gettext
from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)
from playhouse.fields import EnumField

from models.base import BaseModel, JSONField, utcnow
from models.users import User


class StoredFile(BaseModel):
    """An original file, stored once under its SHA-256 whatever its name or origin."""

    sha256 = CharField(unique=True)
    media_type = CharField()
    size = IntegerField()
    created_at = DateTimeField(default=utcnow)


class DocumentStatus(enum.Enum):
    PROCESSING = "processing"
    TO_REVIEW = "to_review"
    READY = "ready"
    PUBLISHED = "published"
    FAILED = "failed"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        """The status's name in the reader's language (English outside a request)."""
        return {
            "processing": gettext("Processing"), "to_review": gettext("To review"),
            "ready": gettext("Ready"), "published": gettext("Published"),
            "failed": gettext("Failed"), "archived": gettext("Archived"),
        }[self.value]


def duplicate_key(text: str) -> str:
    """Case- and space-insensitive form of a supplier name or a number, for duplicate checks."""
    return re.sub(r"\s+", "", text or "").casefold()


class Document(BaseModel):
    file = ForeignKeyField(StoredFile, backref="documents", on_delete="RESTRICT")
    status = EnumField(DocumentStatus, default=DocumentStatus.PROCESSING)
    # Where it came from: upload, folder or mail, and a human detail (file name, sender).
    source = CharField(default="upload")
    source_detail = CharField(default="")
    filename = CharField(default="")
    uploaded_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # Extraction
    method = CharField(default="")  # e-invoice, text, ocr, none
    document_type = CharField(default="invoice")  # invoice, credit_note, receipt
    text = TextField(default="")
    warnings = JSONField(default=list)
    # Fields under review; `sources` says where each value came from (e-invoice, text, ocr,
    # rule, default, person) and `edited` lists what a person changed.
    kind = CharField(default="cost")  # cost, sale
    supplier_name = CharField(default="")
    supplier_vat = CharField(default="")
    supplier_iban = CharField(default="")
    supplier_registration = CharField(default="")  # SIREN, SIRET or another company number
    # How the supplier was matched to a Zoho contact: {"by": "vat", "value": "FR...",
    # "contact_id": "..."}; empty when it was not recognised.
    recognition = JSONField(default=dict)
    contact_id = CharField(null=True)  # Zoho contact
    number = CharField(default="")
    issue_date = DateField(null=True)
    due_date = DateField(null=True)
    currency = CharField(default="")
    net_cents = IntegerField(null=True)
    tax_cents = IntegerField(null=True)
    total_cents = IntegerField(null=True)
    vat_breakdown = JSONField(default=list)
    tax_id = CharField(null=True)
    # The tax difference a person accepted ("the document shows ..., the tax code is ...").
    tax_confirmed = TextField(default="")
    account_id = CharField(null=True)  # Zoho category
    payment = CharField(default="bill")  # bill, expense
    paid_through_account_id = CharField(null=True)
    description = TextField(default="")
    lines = JSONField(default=list)
    sources = JSONField(default=dict)
    # How far extraction trusts each value it read (0 to 1); shown, and low ones flagged.
    confidence = JSONField(default=dict)
    edited = JSONField(default=list)
    extraction_error = TextField(default="")
    # Duplicates
    duplicate_of = ForeignKeyField(model="self", null=True, backref="duplicates",
                                   on_delete="SET NULL")
    duplicate_reason = TextField(default="")
    duplicate_decision = CharField(default="")  # "", not_duplicate, same_document
    # supplier_name and number as duplicate_key() gives them, kept by save() so a duplicate
    # check is an index look-up. An update() query changing those fields must set these too.
    supplier_key = CharField(default="")
    number_key = CharField(default="")
    # Publishing
    publish_state = CharField(default="")  # "", publishing, published, failed
    publish_error = TextField(default="")
    zoho_type = CharField(default="")  # bill, expense, invoice
    zoho_id = CharField(null=True)
    zoho_number = CharField(default="")
    published_at = DateTimeField(null=True)
    # "Publish selected": the request is stored here before its job is queued and cleared
    # once the document is settled, so a dead worker loses none (services.publish_requests).
    publish_requested_at = DateTimeField(null=True, index=True)
    publish_requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                           backref="+")
    # Matching bank lines (models.matching): a person said this was not paid from a Qonto
    # account, so it leaves the "not paid yet" list; and, for a receipt read from a Qonto
    # transaction's attachment, that attachment's id (one document per attachment).
    not_bank_payment = BooleanField(default=False)
    qonto_attachment_id = CharField(null=True, unique=True)

    class Meta:
        indexes = (
            (("supplier_name", "number"), False),
            # Every list filters on a status and shows the newest first (keyset pages).
            (("created_at", "id"), False),
            (("status", "created_at", "id"), False),
            # The duplicate checks: same supplier and number; same supplier, total and date.
            (("supplier_key", "number_key"), False),
            (("supplier_key", "total_cents", "issue_date"), False),
        )

    # Duplicate keys follow the fields they are made of, whatever saves the document.
    KEYS = {"supplier_name": "supplier_key", "number": "number_key"}

    def save(self, force_insert=False, only=None):
        for source, key in self.KEYS.items():
            setattr(self, key, duplicate_key(getattr(self, source)))
        if only is not None:
            names = {field if isinstance(field, str) else field.name for field in only}
            only = [*only, *(key for source, key in self.KEYS.items() if source in names)]
        return super().save(force_insert=force_insert, only=only)


class SupplierRule(BaseModel):
    """What Bookbridge knows about a supplier, applied to its unpublished documents."""

    name = CharField(unique=True)
    aliases = JSONField(default=list)
    contact_id = CharField(null=True)
    account_id = CharField(null=True)
    tax_id = CharField(null=True)
    payment = CharField(default="bill")
    paid_through_account_id = CharField(null=True)
    payment_terms_days = IntegerField(null=True)
    auto_publish = BooleanField(default=False)
    # Where this supplier prints a value a person had to correct, e.g. {"number": "Ref."}:
    # the words before it on its line, looked for first in its next documents.
    layout_hints = JSONField(default=dict)
    version = IntegerField(default=1)
    updated_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")


class DuplicateDecision(BaseModel):
    """A person's answer to "is this a duplicate of that?", kept for the pair for good."""

    document = ForeignKeyField(Document, backref="duplicate_decisions", on_delete="CASCADE")
    other = ForeignKeyField(Document, backref="+", on_delete="CASCADE")
    decision = CharField()  # not_duplicate, same_document
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("document", "other"), True),)
