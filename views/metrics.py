"""Prometheus' scrape target: `/metrics`, off unless BOOKBRIDGE_METRICS_TOKEN is set.

A scraper has no session, so no sign-in applies: the bearer token is the only key, compared
in constant time, and a wrong or missing one gets a bare 401.
"""

import hmac

from flask import Blueprint, Response, abort, current_app, request

from services import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_show():
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()):
        return Response("", 401, {"WWW-Authenticate": "Bearer"})
    families = metrics.collect(int(current_app.config["ZOHO_CALLS_PER_MINUTE"]))
    return Response(metrics.render(families), content_type=metrics.CONTENT_TYPE)
