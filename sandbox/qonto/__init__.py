"""Qonto Business API v2 stand-in (``/v2/...``) and its control plane (``/sandbox/qonto``).

Same server and SQLite file as the Zoho parts; its own tables, blueprints and fault keys
(``qonto_force_429``, ``qonto_error_rate``, ``qonto_year_quirk`` in ``/sandbox/faults``).
"""

from sandbox import store
from sandbox.qonto import admin, api, data
from sandbox.qonto.state import CallStats


def init_app(app):
    """Create the tables, register the blueprints and the ``/sandbox/reset`` hook."""
    db = store.connect(app.config["DATABASE"])
    try:
        data.create_schema(db)
    finally:
        db.close()
    app.extensions["qonto_stats"] = CallStats()
    app.extensions.setdefault("sandbox_reset_hooks", {})["qonto"] = admin.reset
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)


__all__ = ["init_app"]
