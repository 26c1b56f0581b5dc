"""People who use Bookbridge, their one-time password-reset links, and the counters that
slow down password guessing."""

import enum

from flask_babel import gettext
from flask_login import UserMixin
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField
from playhouse.fields import EnumField

from models.base import BaseModel, utcnow


class Role(enum.Enum):
    ADMIN = "admin"
    BOOKKEEPER = "bookkeeper"

    @property
    def label(self) -> str:
        """The role's name in the reader's language."""
        return gettext("Admin") if self is Role.ADMIN else gettext("Bookkeeper")


class User(UserMixin, BaseModel):
    email = CharField(unique=True)
    name = CharField(default="")
    password_hash = CharField()
    role = EnumField(Role, default=Role.BOOKKEEPER)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    # Part of the id kept in every session and remember cookie; raising it (sign-out, a new
    # password, deactivation) ends all of this user's sessions at once.
    session_version = IntegerField(default=0)
    # "en" or "fr" (services/i18n.LANGUAGES), chosen in the menu; "" follows the browser.
    language = CharField(default="")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def display_name(self) -> str:
        return self.name or self.email


class PasswordReset(BaseModel):
    """A one-time link an admin hands to a user; only the SHA-256 of its token is kept."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    token_hash = CharField(unique=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL",
                                 backref="resets_issued")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class LoginThrottle(BaseModel):
    """Failed sign-ins per client address ("address:…") and per known account ("account:…");
    each failure past a few doubles the wait. Old rows are purged and the table is capped."""

    key = CharField(unique=True)
    failures = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    last_failure_at = DateTimeField(null=True, index=True)
