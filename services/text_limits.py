"""How long the text people type may be, matching Zoho's own limits where Zoho documents
one, so nothing is cut or refused by Zoho after Bookbridge accepted it."""

from flask_babel import gettext as _

from services import i18n

NAME = 200  # a supplier or a contact name
ALIAS = 100
ALIASES = 20
REFERENCE = 100  # Zoho: reference_number, Max-length [100] (expenses.yml)
DESCRIPTION = 2000
RULE_NAME = 100
CONDITION = 300  # a rule's text to find, or its pattern
CODE = 50  # an operation type, a Qonto category
CURRENCY = 3  # ISO 4217
SEARCH = 100  # Zoho: searches take at most 100 characters (contacts.yml)
CREDENTIAL = 200  # a Qonto login or secret key (both far shorter in practice)


def problem(label: str, value: str, limit: int) -> str | None:
    """A plain message when `value` is longer than `limit`, else None, in the reader's
    language; `label` ("The supplier") is given translated by the caller."""
    if value is not None and len(value) > limit:
        return _("%(label)s is %(length)s characters long; at most %(limit)s fit.",
                 label=label, length=i18n.number(len(value)), limit=limit)
    return None
