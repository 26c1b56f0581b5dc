"""The Zoho Books connection and the lists cached from its organisation."""

import enum

from peewee import (
    BooleanField,
    CharField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    TextField,
)
from playhouse.fields import EnumField

from models.base import BaseModel, JSONField, utcnow
from models.users import User


class ConnectionStatus(enum.Enum):
    CONNECTED = "connected"
    # The refresh token was revoked or is invalid: an admin must run consent again.
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class ZohoConnection(BaseModel):
    """The single Zoho Books connection of this installation (one row, kept for life).

    Disconnecting deletes the tokens and keeps this row, the settings and the cached
    lists, so connecting again restores the same state.
    """

    status = EnumField(ConnectionStatus, default=ConnectionStatus.DISCONNECTED)
    data_centre = CharField(default="")
    accounts_server = CharField(default="")
    api_domain = CharField(default="")
    organization_id = CharField(default="")
    organization_name = CharField(default="")
    currency_code = CharField(default="")
    time_zone = CharField(default="")
    refresh_token = TextField(null=True)  # encrypted
    access_token = TextField(null=True)  # encrypted
    access_token_expires_at = DateTimeField(null=True)
    # Only one process refreshes the access token at a time: it holds this lease.
    token_lease_until = DateTimeField(null=True)
    token_refreshes = JSONField(default=list)  # recent refresh times, for Zoho's 10 in 10 min
    connected_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    connected_at = DateTimeField(null=True)
    last_list_refresh_at = DateTimeField(null=True)
    # How many usable records each cached list holds, written by the refresh as it finishes
    # each list, for the Connections page: {"organization_id": ..., "counts": {label: n}}.
    list_counts = JSONField(default=dict)
    problem = TextField(default="")

    @classmethod
    def current(cls) -> "ZohoConnection":
        connection = cls.select().order_by(cls.id).first()
        return connection or cls.create()

    @property
    def is_connected(self) -> bool:
        return self.status is ConnectionStatus.CONNECTED

    @property
    def needs_reconnect(self) -> bool:
        return self.status is ConnectionStatus.NEEDS_RECONNECT


class PendingAuthorization(BaseModel):
    """Tokens from a consent that waits for the admin to pick an organisation."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    data_centre = CharField()
    accounts_server = CharField()
    api_domain = CharField()
    refresh_token = TextField()  # encrypted
    access_token = TextField()  # encrypted
    access_token_expires_at = DateTimeField()
    organizations = JSONField(default=list)
    created_at = DateTimeField(default=utcnow)


class ConnectionSettings(BaseModel):
    """Settings of the accounting connection; independent of tokens, kept across reconnects."""

    warn_new_supplier = BooleanField(default=True)
    default_cost_tax_id = CharField(null=True)  # None: no tax
    default_sales_tax_id = CharField(null=True)
    auto_publish = BooleanField(default=False)
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def current(cls) -> "ConnectionSettings":
        settings = cls.select().order_by(cls.id).first()
        return settings or cls.create()


class CachedRecord(BaseModel):
    """Common columns of every list cached from Zoho Books.

    Rows are never deleted: a record gone from Zoho is marked `removed_at`, so whatever
    refers to it keeps working and can say it is gone.
    """

    organization_id = CharField()
    zoho_id = CharField()
    name = CharField()
    is_active = BooleanField(default=True)
    removed_at = DateTimeField(null=True)
    refreshed_at = DateTimeField(default=utcnow)
    data = JSONField(default=dict)

    class Meta:
        indexes = ((("organization_id", "zoho_id"), True),)

    @classmethod
    def usable(cls, organization_id: str):
        """Records present and active in Zoho, by name."""
        return (
            cls.select()
            .where(
                cls.organization_id == organization_id,
                cls.removed_at.is_null(),
                cls.is_active,
            )
            .order_by(cls.name)
        )


class ZohoAccount(CachedRecord):
    code = CharField(default="")
    account_type = CharField(default="")


class ZohoTax(CachedRecord):
    percentage = DecimalField(max_digits=7, decimal_places=3, null=True)
    tax_type = CharField(default="")
    is_default = BooleanField(default=False)

    @classmethod
    def usable(cls, organization_id: str):
        """Taxes present and active in Zoho, by rate then name (5.5 before 10, not after)."""
        return super().usable(organization_id).order_by(cls.percentage, cls.name)


class ZohoContact(CachedRecord):
    contact_type = CharField(default="", index=True)
    company_name = CharField(default="")
    email = CharField(default="")
    currency_code = CharField(default="")
    # The VAT or tax registration number, when Zoho's list gives one (edition-dependent).
    vat_number = CharField(default="")
    # Learned by Bookbridge from documents matched to this contact, never sent by Zoho, so
    # the list refresh leaves it alone: {"vat": [...], "registration": [...], "iban": [...]}.
    identifiers = JSONField(default=dict)
    # name and company_name as supplier recognition compares them (its fold_name: no case,
    # accents, punctuation or legal form), so recognising a supplier by name is an index
    # look-up. Written with the names by the list refresh (services/lists.py).
    name_key = CharField(default="")
    company_key = CharField(default="")

    class Meta:
        indexes = (
            (("organization_id", "zoho_id"), True),
            (("organization_id", "name_key"), False),
            (("organization_id", "company_key"), False),
        )


class ZohoContactIdentifier(BaseModel):
    """One identifier a contact is known by (VAT number, company registration number,
    IBAN), folded as recognition compares them: from Zoho's VAT number or learned from
    documents (ZohoContact.identifiers). Derived from those two, rewritten whenever they
    change, so recognising a supplier by its VAT number is an index look-up."""

    contact = ForeignKeyField(ZohoContact, backref="identifier_rows", on_delete="CASCADE")
    kind = CharField()  # vat, registration, iban
    value = CharField()

    class Meta:
        indexes = ((("kind", "value"), False),)


class ZohoItem(CachedRecord):
    rate = DecimalField(max_digits=15, decimal_places=2, null=True)
    tax_id = CharField(null=True)


class ZohoCurrency(CachedRecord):
    code = CharField(default="")
    is_base = BooleanField(default=False)


class ZohoBankAccount(CachedRecord):
    account_type = CharField(default="")
    account_number = CharField(default="")
    bank_name = CharField(default="")
    currency_code = CharField(default="")


CACHED_LISTS = (ZohoAccount, ZohoTax, ZohoContact, ZohoItem, ZohoCurrency, ZohoBankAccount)


class ApiBudget(BaseModel):
    """Zoho calls spent per organisation and minute, shared by the web app and the worker."""

    organization_id = CharField()
    minute = DateTimeField()
    calls = IntegerField(default=0)

    class Meta:
        indexes = ((("organization_id", "minute"), True),)


class ZohoQuota(BaseModel):
    """Zoho's daily call quota of one organisation, as its answers last told it
    (X-Rate-Limit-* headers), with lasting totals of calls and 429s for monitoring.

    One row per organisation, written by every process after each Zoho answer (the
    counts in the same statement as the reading), read by the Connections page, /metrics
    and the long imports that keep the reserve for publishing.
    """

    organization_id = CharField(unique=True)
    daily_limit = IntegerField(null=True)
    remaining = IntegerField(null=True)
    resets_at = DateTimeField(null=True)  # UTC, from the reset seconds on our clock
    read_at = DateTimeField(null=True)
    calls = IntegerField(default=0)
    refused_44 = IntegerField(default=0)  # per-minute limit
    refused_45 = IntegerField(default=0)  # the day's calls spent
    refused_1070 = IntegerField(default=0)  # too many at once
    # The reset a long import was paused until (the reserve was reached or the day spent):
    # the "reserve reached" event fires once per pause, not once per job.
    paused_until = DateTimeField(null=True)
