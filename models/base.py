"""The one deferred database and the base model every table inherits."""

import datetime
import json
from decimal import Decimal

from peewee import DatabaseProxy, Model, TextField

import clock

db = DatabaseProxy()


def utcnow() -> datetime.datetime:
    """Naive UTC timestamp: every stored time is UTC."""
    return clock.utcnow()


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JSONField(TextField):
    """JSON kept as text, so the schema runs on any database peewee supports."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, default=_json_default)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False
