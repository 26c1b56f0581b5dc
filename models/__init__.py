"""Peewee models on one deferred database; `MODELS` feeds migrations and the drift test."""

from models.audit import AuditEvent
from models.base import db, utcnow
from models.jobs import Job, JobStatus
from models.users import LoginThrottle, Role, User
from models.zoho import (
    CACHED_LISTS,
    ApiBudget,
    ConnectionSettings,
    ConnectionStatus,
    PendingAuthorization,
    ZohoAccount,
    ZohoBankAccount,
    ZohoConnection,
    ZohoContact,
    ZohoCurrency,
    ZohoItem,
    ZohoTax,
)

MODELS = [
    User,
    LoginThrottle,
    AuditEvent,
    Job,
    ZohoConnection,
    PendingAuthorization,
    ConnectionSettings,
    *CACHED_LISTS,
    ApiBudget,
]

__all__ = [
    "MODELS",
    "ApiBudget",
    "AuditEvent",
    "CACHED_LISTS",
    "ConnectionSettings",
    "ConnectionStatus",
    "Job",
    "JobStatus",
    "LoginThrottle",
    "PendingAuthorization",
    "Role",
    "User",
    "ZohoAccount",
    "ZohoBankAccount",
    "ZohoConnection",
    "ZohoContact",
    "ZohoCurrency",
    "ZohoItem",
    "ZohoTax",
    "db",
    "utcnow",
]
