"""Plain factory functions for test data."""

from models import Role
from services import accounts

DEFAULT_PASSWORD = "correct horse battery"


def make_user(**overrides):
    values = {"email": "someone@example.com", "password": DEFAULT_PASSWORD,
              "role": Role.BOOKKEEPER, "name": ""}
    values.update(overrides)
    return accounts.create_user(values["email"], values["password"], values["role"],
                                name=values["name"])


def shown_day(day) -> str:
    """A date as the English pages write it (services/i18n.day): "10 Sept 2025" in British
    English, not strftime's "10 Sep 2025"."""
    from babel.dates import format_date

    return format_date(day, "d MMM y", locale="en_GB")
