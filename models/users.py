"""People who use Bookbridge, and the counters that slow down password guessing."""

import enum

from flask_login import UserMixin
from peewee import BooleanField, CharField, DateTimeField, IntegerField
from playhouse.fields import EnumField

from models.base import BaseModel, utcnow


class Role(enum.Enum):
    ADMIN = "admin"
    BOOKKEEPER = "bookkeeper"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class User(UserMixin, BaseModel):
    email = CharField(unique=True)
    name = CharField(default="")
    password_hash = CharField()
    role = EnumField(Role, default=Role.BOOKKEEPER)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def display_name(self) -> str:
        return self.name or self.email


class LoginThrottle(BaseModel):
    """Failed sign-ins per e-mail address; each failure past a few doubles the wait."""

    email = CharField(unique=True)
    failures = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    last_failure_at = DateTimeField(null=True)
