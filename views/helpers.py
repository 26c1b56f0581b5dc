"""Helpers shared by the blueprints: role checks, HTMX-aware redirects, page context."""

from functools import wraps

from flask import abort, current_app, redirect, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required

from app import htmx
from models import QontoConnection, ZohoConnection
from services import zoho


def admin_required(view):
    """Signed-in admins only; everyone else gets 403 from the server, whatever the page showed."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def see_other(endpoint: str, **values):
    """After a POST: 303 for browsers, HX-Redirect for HTMX callers."""
    target = url_for(endpoint, **values)
    if htmx:
        return htmx_response(redirect=target)
    return redirect(target, code=303)


def template_context() -> dict:
    """The Zoho connection state, for the banner shown on every page."""
    if not current_user.is_authenticated:
        return {}
    return {
        "zoho_connection": ZohoConnection.current(),
        "qonto_connection": QontoConnection.current(),
        "sandbox_mode": zoho.is_sandbox(current_app.config),
    }
