"""The configuration the tasks run with, set once per process."""

import config as config_layers
from models import db
from models.database import open_database

_config: dict = {}


def use(config: dict) -> None:
    """Called by create_app (web, immediate mode) or by the worker at start-up."""
    _config.clear()
    _config.update(config)


def current() -> dict:
    if not _config:
        use(config_layers.load())
    if db.obj is None:
        open_database(_config)
    return _config
