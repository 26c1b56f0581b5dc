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
