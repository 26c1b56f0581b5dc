"""The configuration the tasks run with, set once per process."""

import threading

import config as config_layers
from models import db
from models.database import open_database

_state: dict = {"config": None}
# Worker threads start together: one of them loads the config and opens the database.
_opening = threading.Lock()


def use(config) -> None:
    """Called by create_app (web, immediate mode) with the app's own config mapping, so
    later changes to it reach the tasks too; the worker loads its own at start-up."""
    _state["config"] = config


def current():
    with _opening:
        if _state["config"] is None:  # the worker: no Flask app set it
            use(config_layers.load())
            if str(_state["config"].get("LOG_FORMAT", "")).strip().lower() == "json":
                from services.metrics import use_json_logs

                use_json_logs()
        if db.obj is None:
            open_database(_state["config"])
    return _state["config"]
