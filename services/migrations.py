"""Applying the numbered schema migrations in `migrations/`."""

from pathlib import Path

from playhouse.migrations import Runner

from models import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def migrate() -> list:
    """Apply pending migrations; returns what was applied."""
    return Runner(db.obj, str(MIGRATIONS_DIR)).up() or []
