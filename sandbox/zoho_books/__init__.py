"""Zoho Books v3 stand-in. Importing the route modules registers them on ``bp``."""

from sandbox.zoho_books import (  # noqa: F401 - imported for their routes
    banking,
    banktransactions,
    bills,
    contacts,
    credits,
    expenses,
    invoices,
    settings,
    vendorpayments,
)
from sandbox.zoho_books.common import bp

__all__ = ["bp"]
