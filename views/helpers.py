"""Helpers shared by the blueprints: role checks, redirects, page context, bounded input."""

from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_required
from playhouse.flask_utils import PaginatedQuery
from werkzeug.routing import IntegerConverter, ValidationError

from extensions import htmx
from models import QontoConnection, ZohoConnection
from services import i18n, zoho


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
    return see_other_url(url_for(endpoint, **values))


def see_other_url(target: str):
    """`see_other` to a path already built (a same-site path the caller checked)."""
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


# -- bounded input: every number from a URL or a form fits the database, or is refused ----------

# SQLite (and PostgreSQL's bigint) hold signed 64-bit integers; a larger id can match nothing.
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in URLs: ASCII digits up to the database's range, anything else is 404.

    Werkzeug's own converter turns any length of digits into a Python int, which SQLite then
    cannot bind (OverflowError, a 500).
    """

    def to_python(self, value: str) -> int:
        if not value.isascii() or len(value) > len(str(MAX_ID)):
            raise ValidationError()
        number = super().to_python(value)
        if number > MAX_ID:
            raise ValidationError()
        return number


def whole_number(value, low: int = 0, high: int = MAX_ID) -> int | None:
    """`value` as an int when it is plain ASCII digits within [low, high], else None.

    Not `str.isdigit()`: it says yes to "²" and "٣", which `int()` refuses or misreads.
    """
    value = (value or "").strip()
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if low <= number <= high else None


def form_ids(values) -> list[int]:
    """The valid database ids among a form's list values (others are ignored)."""
    ids = (whole_number(value, 1) for value in values)
    return sorted({number for number in ids if number is not None})


def refuse(code: int, text: str):
    """Stop the request with our error page and a plain message (never a stack trace)."""
    from views.errors import TITLES, render_error

    abort(make_response(render_error(code, TITLES.get(code) or _("Not possible"), text)))


def paginate(query, paginate_by: int) -> PaginatedQuery:
    """One page of `query` from `?page=`: a bad number is 400, a page past the end is 404."""
    raw = request.args.get("page", "")
    page = whole_number(raw, 1, MAX_PAGE) if raw else 1
    if page is None:
        refuse(400, _("The page must be a whole number from 1 to %(last)s.",
                      last=i18n.number(MAX_PAGE)))
    pages = PaginatedQuery(query, paginate_by, page=page)
    last = max(pages.get_page_count(), 1)
    if page > last:
        refuse(404, ngettext("There is no page %(page)s: this list has %(num)s page.",
                             "There is no page %(page)s: this list has %(num)s pages.",
                             last, page=page))
    return pages


# -- keyset pages: newest first, each page an index range whatever its depth ------------------


@dataclass
class KeysetPage:
    """One page of a newest-first list and the row ids its links carry: `?after=<newer>`
    shows the page above it, `?before=<older>` the page below (None: no such page)."""

    items: list
    newer: int | None
    older: int | None
    paging: bool  # reached through a link, so a "Newest" link leads back to the top
    looked_at: int = 0  # rows read for this page (more than `items` when `keep` drops some)


def keyset_page(query, when, per_page: int, *, keep=None, read_at_most: int = 0) -> KeysetPage:
    """One page of `query` ordered by `when` then id, newest first, from `?before=<id>` (the
    rows older than that one) or `?after=<id>` (newer). Each page is a range on an index of
    (when, id), so the 200th page costs what the first does; OFFSET would read every row
    before it. A bad id is 400; an id that is not in the table, 404. No total is counted:
    that would read the whole filtered list.

    `keep(rows)` (a list of booleans, one per row) settles in Python what SQL could only
    narrow: up to `read_at_most` rows are read in one statement and judged in one call,
    `per_page` of them kept, and the links go on from the last row read, not the last
    kept."""
    model = when.model
    before, after = _row_id("before"), _row_id("after")
    if after is not None:
        when_value = _when_of(model, when, after)
        upward = (query.where(newer_than(when, when_value, after))
                  .order_by(when.asc(), model.id.asc()))
        kept, read, more = _read(upward, per_page, keep, read_at_most)
        if read:  # else nothing is newer any more: show the top of the list
            return KeysetPage(kept[::-1], newer=read[-1].id if more else None,
                              older=read[0].id, paging=True, looked_at=len(read))
        before = None
    elif before is not None:
        when_value = _when_of(model, when, before)
        query = query.where(older_than(when, when_value, before))
    kept, read, more = _read(query, per_page, keep, read_at_most)
    return KeysetPage(kept, newer=read[0].id if before is not None and read else None,
                      older=read[-1].id if more else None,
                      paging=before is not None or after is not None, looked_at=len(read))


def _read(query, per_page: int, keep, read_at_most: int) -> tuple[list, list, bool]:
    """(the rows kept, the rows read, whether more rows follow) in the query's order."""
    if keep is None:
        rows = list(query.limit(per_page + 1))
        return rows[:per_page], rows[:per_page], len(rows) > per_page
    rows = list(query.limit(max(per_page, read_at_most) + 1))
    readable = rows[:max(per_page, read_at_most)]
    kept, read = [], []
    for row, wanted in zip(readable, keep(readable), strict=True):
        read.append(row)
        if wanted:
            kept.append(row)
            if len(kept) == per_page:
                break
    return kept, read, len(rows) > len(read)


def _row_id(name: str) -> int | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    row_id = whole_number(raw, 1)
    if row_id is None:
        refuse(400, _("This page link is not valid: open the list again from the menu."))
    return row_id


def _when_of(model, when, row_id: int):
    row = model.select(when).where(model.id == row_id).first()
    if row is None:
        refuse(404, _("This page of the list no longer exists: open the list again from "
                      "the menu."))
    return getattr(row, when.name)


# (when, id) before or after a row's, written so SQL ranges over the (when, id) index.
def older_than(when, when_value, row_id):
    return (when <= when_value) & ((when < when_value) | (when.model.id < row_id))


def newer_than(when, when_value, row_id):
    return (when >= when_value) & ((when > when_value) | (when.model.id > row_id))
