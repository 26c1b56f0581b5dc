"""Books v3 plumbing: the blueprint, the per-call gate (auth, org, limits) and helpers."""

import json
import re

from flask import Blueprint, g, jsonify, request

from sandbox import limits, store, zoho_tokens
from sandbox.runtime import now, runtime, zoho_date, zoho_timestamp

bp = Blueprint("zoho_books", __name__, url_prefix="/books/v3")

NOT_AUTHORIZED = "You are not authorized to perform this operation"
MAX_PER_PAGE = 200
UPLOAD_EXTENSIONS = ("gif", "png", "jpeg", "jpg", "bmp", "pdf", "xls", "xlsx", "doc", "docx")

# Scope service needed by each top-level path (NOTES §1.7: items and currencies are "settings").
SCOPE_SERVICES = {
    "organizations": "settings", "settings": "settings", "items": "settings",
    "chartofaccounts": "accountants", "contacts": "contacts", "bankaccounts": "banking",
    "bankstatements": "banking", "banktransactions": "banking", "bills": "bills",
    "expenses": "expenses", "invoices": "invoices", "vendorpayments": "vendorpayments",
    # vendor-credits.yml asks for the "debitnotes" scope, credit-notes.yml "creditnotes".
    "vendorcredits": "debitnotes", "creditnotes": "creditnotes",
}
ROUTE_ARGUMENT = re.compile(r"<(?:[^:>]+:)?([^>]+)>")  # "<any(a, b):state>" -> "{state}"
SCOPE_OPERATIONS = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}


class BooksError(Exception):
    """A Zoho error envelope {"code", "message"} with its HTTP status."""

    def __init__(self, http_status, code, message):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


@bp.errorhandler(BooksError)
@bp.errorhandler(limits.LimitExceeded)
def _books_error(error):
    return jsonify(code=error.code, message=error.message), error.http_status


def _bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Only Zoho's scheme; whether Books accepts "Bearer" is UNCONFIRMED (NOTES §1.6).
    return token.strip() if scheme == "Zoho-oauthtoken" else None


def _has_scope(granted, path):
    service = SCOPE_SERVICES.get(path.split("/", 1)[0])
    operation = SCOPE_OPERATIONS.get(request.method, "READ")
    wanted = {f"zohobooks.{service}.{operation}".lower(), f"zohobooks.{service}.all",
              "zohobooks.fullaccess.all"}
    return any(scope.strip().lower() in wanted for scope in granted.split(","))


def _authenticate(path):
    token = _bearer_token()
    row = zoho_tokens.find_access_token(store.get_db(), token, now()) if token else None
    if row is None or not _has_scope(row["scope"], path):
        raise BooksError(401, 57, NOT_AUTHORIZED)
    return row["user_email"]


def _resolve_org(user):
    org_id = (request.args.get("organization_id")
              or request.headers.get("X-com-zoho-books-organizationid", "")).strip()
    if not org_id:
        raise BooksError(400, 2, "Invalid value passed for organization_id.")
    db = store.get_db()
    member = db.execute("SELECT 1 FROM org_member WHERE org_id = ? AND user_email = ?",
                        (org_id, user)).fetchone()
    if member is None:
        # 6041, not 57: a client must not mistake this for a token problem.
        raise BooksError(401, 6041, "This user is not associated with the organization.")
    return org_id, store.get_record(db, "organization", org_id, org_id)


def call_name():
    """Stats key such as "GET /contacts/{contact_id}" (the route, not the concrete URL)."""
    rule = request.url_rule.rule.removeprefix(bp.url_prefix)
    template = ROUTE_ARGUMENT.sub(r"{\1}", rule)
    return f"{request.method} {template}"


@bp.before_request
def _gate():
    """Every Books call: token, organisation, stats, limits and injected faults, in Zoho's order."""
    path = request.path.removeprefix(bp.url_prefix).strip("/")
    user = _authenticate(path)
    db = store.get_db()
    if request.url_rule.endpoint == "zoho_books.organizations_list":
        # No organisation yet, so no per-org limits; injected faults still apply.
        g.user = user
        limits.count_call(db, "", call_name())
        limits.apply_faults_before("")
        limits.apply_faults_during(call_name())
        return
    g.org_id, g.org = _resolve_org(user)
    g.user = user
    limits.count_call(db, g.org_id, call_name())
    limits.apply_faults_before(g.org_id)
    org_limits = limits.enforce_rate_limits(db, g.org_id, now())
    limits.enter_concurrency_slot(g.org_id, org_limits)
    g.in_flight_org = g.org_id
    limits.apply_faults_during(call_name())


@bp.after_request
def _daily_quota_headers(response):
    """Every answer about an organisation, errors and 429s included, says how much of the
    day's plan is left (NOTES §2.2)."""
    org_id = g.get("org_id")
    if org_id and runtime().faults["quota_headers"]:
        response.headers.update(limits.daily_headers(store.get_db(), org_id, now()))
    return response


@bp.teardown_request
def _leave_slot(_exc=None):
    org_id = g.pop("in_flight_org", None)
    if org_id is not None:
        runtime().leave(org_id)


# --- responses ---------------------------------------------------------------------------

def success(message="success", status=200, **payload):
    return jsonify({"code": 0, "message": message, **payload}), status


def page_args():
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = int(request.args.get("per_page", MAX_PER_PAGE))
    except ValueError as error:
        raise BooksError(400, 2, "Invalid value passed for page or per_page.") from error
    return page, min(max(per_page, 1), MAX_PER_PAGE)


def listing(key, rows, has_more, *, page, per_page, report_name, applied_filter="",
            sort_column="created_time", sort_order="A"):
    page_context = {
        "page": page, "per_page": per_page, "has_more_page": has_more,
        "report_name": report_name, "applied_filter": applied_filter,
        "sort_column": sort_column, "sort_order": sort_order,
    }
    return success(**{key: rows, "page_context": page_context})


# --- request bodies ----------------------------------------------------------------------

def _raw_body():
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return request.form.get("JSONString")
    text = request.get_data(as_text=True)
    # Old clients also put JSONString in the query string of a bodiless POST.
    return text if text.strip() else request.args.get("JSONString")


def read_body():
    """The JSON object of a create/update call, however the client encoded it (NOTES §2)."""
    raw = _raw_body()
    if raw is None or not raw.strip():
        raise BooksError(400, 11, "Invalid value passed for JSONString: the body is empty.")
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise BooksError(400, 1038, "JSON is not well formed") from error
    if not isinstance(body, dict):
        raise BooksError(400, 1038, "JSON is not well formed")
    return body


def require(body, *fields):
    for field in fields:
        value = body.get(field)
        if value is None or value == "" or value == []:
            raise BooksError(400, 4, f"Invalid value passed for {field}: it is required.")


def read_upload(field):
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise BooksError(400, 4, f"Invalid value passed for {field}: attach a file.")
    extension = upload.filename.rsplit(".", 1)[-1].lower()
    if extension not in UPLOAD_EXTENSIONS:
        raise BooksError(400, 4, f"Invalid value passed for {field}: file type not allowed.")
    return upload.filename, upload.mimetype or "application/octet-stream", upload.read()


# --- records -----------------------------------------------------------------------------

def fetch(kind, record_id, entity):
    record = store.get_record(store.get_db(), kind, g.org_id, record_id)
    if record is None:
        raise BooksError(404, 1002, f"{entity} does not exist.")
    return record


def fetch_related(kind, record_id, field):
    """A record referenced from a request body; an unknown id is a 400 naming the field."""
    record = store.get_record(store.get_db(), kind, g.org_id, str(record_id or ""))
    if record is None:
        raise BooksError(400, 4, f"Invalid value passed for {field}.")
    return record


def timestamp():
    return zoho_timestamp(now(), g.org["time_zone"])


def today():
    return zoho_date(now(), g.org["time_zone"])


def org_currency():
    return {key: g.org[key] for key in ("currency_id", "currency_code", "currency_symbol")}


def choice_filter(value, choices, default, name="filter_by"):
    """Map a filter_by value through ``choices``; unknown values are a 400 like Zoho's."""
    value = value or default
    if value not in choices:
        raise BooksError(400, 2, f"Invalid value passed for {name}.")
    return value, choices[value]


def attach_file(kind, record_id, entity):
    """Keep the uploaded `attachment` as the record's one file (bills, invoices, credits)."""
    record = fetch(kind, record_id, entity)
    file_name, content_type, content = read_upload("attachment")
    db = store.get_db()
    store.save_document(db, record_id, "attachment", file_name, content_type, content)
    record.update(attachment_name=file_name, has_attachment=True,
                  documents=[{"document_id": store.new_id(db), "file_name": file_name}],
                  last_modified_time=timestamp())
    store.update_record(db, record_id, record)
