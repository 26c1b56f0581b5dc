"""Sandbox-only control plane under /sandbox/ (not part of Zoho).

No authentication on purpose: the sandbox only ever listens on loopback for demos and
tests. Never expose it on a shared network.
"""

import json
import random

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from sandbox import limits, seed, store, zoho_tokens
from sandbox import zoho_records as records
from sandbox.runtime import DEFAULT_FAULTS, now, runtime, zoho_timestamp

bp = Blueprint("sandbox_admin", __name__)


def _flag(value):
    return value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) \
        else bool(value)


FAULT_TYPES = {"error_rate": float, "latency_ms": int, "timeout_rate": float,
               "timeout_sleep_s": float, "force_429": int, "qonto_force_429": int,
               "qonto_error_rate": float, "qonto_latency_ms": int, "qonto_year_quirk": _flag,
               "fault_path": str, "quota_headers": _flag}
BULK_SEED_KINDS = ("contacts", "accounts", "items")
BULK_ACCOUNT_TYPES = ("expense", "income", "other_current_asset", "other_current_liability")


def _json_body():
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _organizations(db):
    rows = db.execute(
        "SELECT r.record_id, r.name, m.user_email FROM record r JOIN org_member m"
        " ON m.org_id = r.record_id WHERE r.kind = 'organization' ORDER BY r.seq")
    return [{"organization_id": row["record_id"], "name": row["name"],
             "user": row["user_email"]} for row in rows]


def _org_or_404(db, org_id):
    if store.get_record(db, "organization", org_id, org_id) is None:
        abort(404, description=f"unknown organization {org_id}")


@bp.get("/")
def index():
    return render_template("index.html", **_index_context(), saved=request.args.get("saved"))


def _index_context() -> dict:
    return {"orgs": _organizations(store.get_db()), "client_id": current_app.config["CLIENT_ID"],
            "public_url": current_app.config["PUBLIC_URL"], "faults": runtime().faults,
            "fault_help": FAULT_TYPES}


@bp.get("/sandbox/orgs")
def orgs_list():
    return jsonify(organizations=_organizations(store.get_db()))


@bp.get("/sandbox/in-flight")
def in_flight():
    """Zoho calls still being answered (a timed-out write lands when its call ends)."""
    state = runtime()
    with state.lock:
        return jsonify(calls=sum(state.in_flight.values()))


@bp.route("/sandbox/faults", methods=["GET", "POST", "DELETE"])
def faults():
    state = runtime()
    if request.method == "DELETE":
        return jsonify(state.set_faults(dict(DEFAULT_FAULTS)))
    if request.method == "GET":
        return jsonify(dict(state.faults))
    if request.form:
        return _faults_from_page(state)
    body = _json_body()
    if body.get("revoke_all"):  # a one-shot action, not a standing switch
        zoho_tokens.revoke_user_tokens(store.get_db(), seed.DEMO_USER)
    changes = {name: cast(body[name]) for name, cast in FAULT_TYPES.items() if name in body}
    if "seed" in body:
        changes["seed"] = body["seed"]
    return jsonify(state.set_faults(changes))


def _faults_from_page(state):
    """The home page's form: the same switches as the JSON body, then back to the page."""
    form = request.form
    if form.get("action") == "reset":
        state.set_faults(dict(DEFAULT_FAULTS))
        return redirect(url_for("sandbox_admin.index", saved="reset") + "#faults", code=303)
    if form.get("revoke_all") == "yes":
        zoho_tokens.revoke_user_tokens(store.get_db(), seed.DEMO_USER)
    changes, refused = {}, []
    for name, cast in FAULT_TYPES.items():
        if name not in form:
            continue
        value = form[name].strip()
        try:
            changes[name] = cast(value) if value or cast is str else DEFAULT_FAULTS[name]
        except ValueError:
            refused.append(name)
    if refused:
        return render_template("index.html", **_index_context(),
                               refused=refused), 400
    state.set_faults(changes)
    return redirect(url_for("sandbox_admin.index", saved="faults") + "#faults", code=303)


# The record kinds Bookbridge links to (services/zoho.web_link), as the page titles them.
RECORD_TITLES = {"bill": "Bill", "expense": "Expense", "invoice": "Invoice",
                 "vendorcredit": "Vendor credit", "creditnote": "Credit note",
                 "banktransaction": "Bank transaction", "contact": "Contact",
                 "bankaccount": "Bank account", "vendorpayment": "Vendor payment"}


@bp.get("/sandbox/records/<kind>/<record_id>")
def record_show(kind, record_id):
    """One record as the demo's "open in Zoho Books" link shows it (Zoho's web app stand-in)."""
    row = store.get_db().execute(
        "SELECT kind, org_id, data FROM record WHERE record_id = ?", (record_id,)).fetchone()
    if row is None or (kind in RECORD_TITLES and row["kind"] not in (kind, "account")):
        return render_template("record.html", kind=kind, record_id=record_id, record=None,
                               title=RECORD_TITLES.get(kind, kind)), 404
    record = json.loads(row["data"])
    return render_template("record.html", kind=row["kind"], record_id=record_id,
                           record=record, org_id=row["org_id"],
                           title=RECORD_TITLES.get(row["kind"], row["kind"]),
                           lines=record.get("line_items") or [],
                           fields={key: value for key, value in record.items()
                                   if not isinstance(value, (list, dict))})


@bp.route("/sandbox/orgs/<org_id>/limits", methods=["GET", "POST"])
def org_limits(org_id):
    db = store.get_db()
    _org_or_404(db, org_id)
    if request.method == "GET":
        return jsonify(dict(limits.get_limits(db, org_id),
                            spent_today=limits.spent_today(db, org_id, now())))
    try:
        return jsonify(limits.set_limits(db, org_id, _json_body()))
    except limits.UnknownPlan as error:
        return jsonify(error="unknown plan", description=str(error)), 400


@bp.post("/sandbox/revoke-tokens")
def revoke_tokens():
    """What the user does in Zoho's Connected Apps page: revoke one or all grants."""
    refresh_token = _json_body().get("refresh_token")
    count = zoho_tokens.revoke_user_tokens(store.get_db(), seed.DEMO_USER, refresh_token)
    return jsonify(revoked=count)


@bp.get("/sandbox/stats")
def stats():
    return jsonify(limits.call_stats(store.get_db(), request.args.get("organization_id")))


@bp.post("/sandbox/stats/reset")
def stats_reset():
    limits.reset_stats(store.get_db())
    return jsonify(limits.call_stats(store.get_db()))


@bp.route("/sandbox/clock", methods=["GET", "POST"])
def clock():
    state = runtime()
    if request.method == "POST":
        with state.lock:
            state.clock_offset += float(_json_body().get("advance_seconds", 0))
    return jsonify(now=zoho_timestamp(now(), "UTC"), offset_seconds=state.clock_offset)


@bp.post("/sandbox/reset")
def reset():
    db = store.get_db()
    store.wipe(db)
    runtime().reset()
    org_ids = seed.seed_database(db)
    extra = {name: hook(db, current_app)
             for name, hook in current_app.extensions.get("sandbox_reset_hooks", {}).items()}
    return jsonify(status="reset", organizations=org_ids, **extra)


@bp.post("/sandbox/orgs/<org_id>/seed")
def bulk_seed(org_id):
    """Add generated records in batches (benchmarks want thousands of contacts and accounts)."""
    db = store.get_db()
    _org_or_404(db, org_id)
    org = store.get_record(db, "organization", org_id, org_id)
    body = _json_body()
    counts = {kind: int(body.get(kind, 0)) for kind in BULK_SEED_KINDS}
    rng = random.Random(f"{org_id}:{counts}")  # repeatable for the same request
    created = zoho_timestamp(now(), org["time_zone"])
    rows = (_bulk_contacts(db, org, counts["contacts"], created, rng)
            + _bulk_accounts(db, counts["accounts"], created, rng)
            + _bulk_items(db, org_id, counts["items"], rng))
    store.insert_records(db, [(kind, org_id, rid, data, cols) for kind, rid, data, cols in rows])
    return jsonify(added=counts)


def _bulk_contacts(db, org, count, created, rng):
    currency = {key: org[key] for key in ("currency_id", "currency_code", "currency_symbol")}
    rows = []
    for contact_id in store.reserve_ids(db, count):
        contact_type = rng.choice(("vendor", "customer"))
        name = f"Bulk {contact_type.title()} {contact_id[-8:]}"
        record = records.contact(contact_id, name, contact_type, currency, created_time=created)
        rows.append(("contact", contact_id, record, records.contact_columns(record)))
    return rows


def _bulk_accounts(db, count, created, rng):
    rows = []
    for account_id in store.reserve_ids(db, count):
        account_type = rng.choice(BULK_ACCOUNT_TYPES)
        record = records.account(account_id, f"Bulk account {account_id[-8:]}",
                                 f"9{account_id[-5:]}", account_type, is_active=True,
                                 created_time=created)
        rows.append(("account", account_id, record, records.account_columns(record)))
    return rows


def _bulk_items(db, org_id, count, rng):
    taxes, _ = store.find_records(db, "tax", org_id, per_page=1)
    tax = taxes[0] if taxes else {"tax_id": "", "tax_name": "", "tax_percentage": 0}
    rows = []
    for item_id in store.reserve_ids(db, count):
        record = records.item(item_id, f"Bulk item {item_id[-8:]}", float(rng.randint(1, 500)),
                              tax, sku=f"BULK-{item_id[-8:]}", product_type="goods", unit="pcs")
        rows.append(("item", item_id, record, records.item_columns(record)))
    return rows
