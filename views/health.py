"""Liveness for Docker and monitors: the database and the queue answer."""

from flask import Blueprint, jsonify

from jobs.queue import huey
from models import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def health_show():
    checks = {}
    try:
        db.execute_sql("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 — any failure means unhealthy
        checks["database"] = f"error: {type(error).__name__}"
    try:
        checks["queue_pending"] = huey.pending_count()
        checks["queue"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["queue"] = f"error: {type(error).__name__}"
    healthy = checks["database"] == "ok" and checks["queue"] == "ok"
    return jsonify(status="ok" if healthy else "error", **checks), 200 if healthy else 503
