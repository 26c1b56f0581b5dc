"""Zoho accounts server stand-in: consent page, token endpoint, revoke and self client.

Quirks kept on purpose (NOTES §1): token errors are HTTP 200 with an ``error`` key, a
refresh never returns a new refresh token, and the callback carries ``location`` and
``accounts-server``.
"""

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from sandbox import zoho_tokens as tokens
from sandbox.runtime import now
from sandbox.seed import DEMO_USER
from sandbox.store import get_db

bp = Blueprint("zoho_accounts", __name__, url_prefix="/oauth/v2")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
THROTTLED_BODY = {
    "error_description": "You have made too many requests continuously. "
                         "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


class ConsentError(Exception):
    """A bad authorization request: shown as a page, never redirected (open-redirect guard)."""


def _redirect_uri_allowed(uri):
    registered = current_app.config["REDIRECT_URIS"]
    if registered:
        return uri in registered
    # Dev affordance: with no registered list, any loopback callback is accepted.
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS


def _validated_authorization(params):
    if params.get("client_id") != current_app.config["CLIENT_ID"]:
        raise ConsentError("Invalid Client: the client_id is not registered.")
    if not _redirect_uri_allowed(params.get("redirect_uri", "")):
        raise ConsentError("Invalid Redirect Uri: it is not registered for this client.")
    if params.get("response_type") != "code":
        raise ConsentError("Invalid response_type: only 'code' is supported.")
    if not params.get("scope"):
        raise ConsentError("Invalid scope: at least one scope is required.")
    return {name: params.get(name, "") for name in
            ("client_id", "redirect_uri", "scope", "access_type", "prompt", "state",
             "response_type")}


def _callback(redirect_uri, params):
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return redirect(redirect_uri + separator + urlencode(params), code=302)


@bp.errorhandler(ConsentError)
def _consent_error(error):
    return render_template("oauth_error.html", message=str(error)), 400


@bp.get("/auth")
def consent_page():
    authorization = _validated_authorization(request.args)
    scopes = [scope for scope in authorization["scope"].split(",") if scope]
    return render_template("consent.html", user=DEMO_USER, scopes=scopes,
                           fields=authorization)


@bp.post("/auth")
def consent_decision():
    authorization = _validated_authorization(request.form)
    if request.form.get("decision") != "accept":
        return _callback(authorization["redirect_uri"],
                         {"error": "access_denied", "state": authorization["state"]})
    code = tokens.create_grant_code(
        get_db(), client_id=authorization["client_id"],
        redirect_uri=authorization["redirect_uri"], scope=authorization["scope"],
        access_type=authorization["access_type"] or "online",
        prompt=authorization["prompt"], user=DEMO_USER, now=now(),
    )
    return _callback(authorization["redirect_uri"], {
        "code": code, "state": authorization["state"], "location": "eu",
        "accounts-server": current_app.config["PUBLIC_URL"],
    })


def _client_error(params):
    """Zoho checks the client first; the error still comes back with HTTP 200."""
    if params.get("client_id") != current_app.config["CLIENT_ID"]:
        return "invalid_client"
    if params.get("client_secret") != current_app.config["CLIENT_SECRET"]:
        return "invalid_client_secret"
    return None


def _token_body(access_token, scope, refresh_token=None):
    body = {"access_token": access_token}
    if refresh_token:
        body["refresh_token"] = refresh_token
    body.update({
        "scope": scope, "api_domain": current_app.config["PUBLIC_URL"],
        "token_type": "Bearer", "expires_in": tokens.ACCESS_TOKEN_LIFETIME_S,
    })
    return body


def _issues_refresh_token(db, grant):
    """Offline access gets a refresh token, but a browser re-consent only with prompt=consent.

    Self-client codes (no redirect_uri) always get one, as in Zoho's API console.
    """
    if grant["access_type"] != "offline":
        return False
    if grant["redirect_uri"] is None or grant["prompt"] == "consent":
        return True
    return not tokens.has_live_refresh_token(db, grant["user_email"], grant["client_id"])


def _exchange_code(params):
    db, moment = get_db(), now()
    grant = tokens.redeem_grant_code(db, params.get("code", ""), params["client_id"], moment)
    if grant is None:
        return jsonify(error="invalid_code")
    if grant["redirect_uri"] is not None and params.get("redirect_uri") != grant["redirect_uri"]:
        return jsonify(error="invalid_redirect_uri")
    refresh_token = None
    if _issues_refresh_token(db, grant):
        refresh_token = tokens.create_refresh_token(
            db, client_id=grant["client_id"], user=grant["user_email"], scope=grant["scope"],
            now=moment)
    access_token = tokens.create_access_token(
        db, client_id=grant["client_id"], user=grant["user_email"], scope=grant["scope"],
        refresh_token=refresh_token, now=moment)
    return jsonify(_token_body(access_token, grant["scope"], refresh_token))


def _refresh(params):
    db, moment = get_db(), now()
    row = tokens.find_refresh_token(db, params.get("refresh_token", ""), params["client_id"])
    if row is None:
        return jsonify(error="invalid_code")
    if not tokens.refresh_allowed(db, row["token"], moment):
        return jsonify(THROTTLED_BODY), 400
    access_token = tokens.create_access_token(
        db, client_id=row["client_id"], user=row["user_email"], scope=row["scope"],
        refresh_token=row["token"], now=moment)
    return jsonify(_token_body(access_token, row["scope"]))


@bp.post("/token")
def token():
    # Zoho's own examples put the parameters in the query string; most clients use the body.
    params = request.values
    error = _client_error(params)
    if error:
        return jsonify(error=error)
    grant_type = params.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(params)
    if grant_type == "refresh_token":
        return _refresh(params)
    return jsonify(error="unsupported_grant_type")


@bp.post("/token/revoke")
def token_revoke():
    if tokens.revoke_any_token(get_db(), request.values.get("token", "")):
        return jsonify(status="success")
    return jsonify(status="failure", error="invalid_token"), 400


@bp.post("/self-client")
def self_client():
    """Zoho API console's 'Self Client': a grant code without a browser or redirect."""
    params = request.get_json(silent=True) or request.values
    error = _client_error(params)
    if error:
        return jsonify(error=error)
    if not params.get("scope"):
        return jsonify(error="invalid_scope")
    code = tokens.create_grant_code(
        get_db(), client_id=params["client_id"], redirect_uri=None, scope=params["scope"],
        access_type=params.get("access_type") or "offline", prompt="consent",
        user=DEMO_USER, now=now(),
    )
    return jsonify(code=code)
