"""The regression guard of issue 9: a page runs as many SQL statements with ten times the data.

Two states are built with bench/scale_state.py (the builder `python -m bench.scale` uses),
small enough that every list in the small one is shorter than its page, so a query per row
shows as a different count. Each page is requested once to warm up, then counted from the
`X-Query-Count` header (COUNT_QUERIES on), on a real database (SQLite, or PostgreSQL on that
pass) through the real app.
"""

import re

import pytest

from app import create_app
from bench import scale_state
from bench.scale_state import PAGES, Sizes
from models import Document
from tests.conftest import database_config, new_database

SMALL = Sizes(bank_lines=60, documents=12, audit_events=16, contacts=8, accounts=6, taxes=3,
              bank_accounts=3, items=4, bank_rules=2, supplier_rules=2, sync_runs=3,
              sync_failures=2, users=2)
TEN_TIMES = SMALL.scaled(10)

# Pages whose count still grows with the data, with the cause, e.g. {"Activity":
# "views/audit.py:event_list reads each event's user"}: strict xfails, so the guard turns red
# when the cause is fixed and the mark stays. None grows today.
GROWING = {}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _sign_in(client) -> None:
    response = client.post("/login", data={
        "email": scale_state.EMAIL, "password": scale_state.PASSWORD,
        "csrf_token": _csrf(client.get("/login").text)})
    assert response.status_code == 303, response.text


def _count(client, page, state, round_number: int) -> int | str:
    """The page's queries, or what went wrong with it (so one broken page fails alone)."""
    url = page.url(state)
    if page.method == "POST":
        form = scale_state.edit_form(client.get(url).text, url, round_number)
        response = client.post(url, data=form)
        if response.status_code != 303:
            return f"POST {url} answered {response.status_code}"
        if Document.get_by_id(state.document_id).description != form["description"]:
            return f"POST {url} did not save the edit"
    else:
        response = client.get(url)
        if response.status_code != 200:
            return f"GET {url} answered {response.status_code}"
    assert float(response.headers["X-Query-Time-Ms"]) >= 0
    return int(response.headers["X-Query-Count"])


def _measure(data_dir, sizes: Sizes, database: dict) -> dict[str, int | str]:
    """Queries of each page's second request (the first warms caches) in a built state."""
    # Not TESTING: a page that fails answers 500 here, as it would to a person.
    app, state = scale_state.build(data_dir, sizes, {"COUNT_QUERIES": True, **database})
    client = app.test_client()
    _sign_in(client)
    counts = {}
    for page in PAGES:
        _count(client, page, state, round_number=1)
        counts[page.name] = _count(client, page, state, round_number=2)
    return counts


@pytest.fixture(scope="module")
def query_counts(tmp_path_factory, migrated_database, postgres_databases):
    counts = {}
    for name, sizes in (("small", SMALL), ("10x", TEN_TIMES)):
        data_dir = tmp_path_factory.mktemp("scale")
        database = database_config(data_dir, new_database(postgres_databases),
                                   migrated_database)
        counts[name] = _measure(data_dir, sizes, database)
    return counts


def _cases() -> list:
    cases = []
    for page in PAGES:
        reason = GROWING.get(page.name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        cases.append(pytest.param(page.name, marks=marks, id=page.name))
    return cases


@pytest.mark.parametrize("page_name", _cases())
def test_queries_per_request_do_not_grow_with_the_data(query_counts, page_name):
    small, large = query_counts["small"][page_name], query_counts["10x"][page_name]
    for outcome in (small, large):
        assert isinstance(outcome, int), outcome
    assert large == small, (f"{page_name}: {small} queries with the small state, {large} with "
                            "ten times the data (a query per row or per record?)")


@pytest.mark.parametrize(("setting", "counted"), [
    (None, False),  # off unless asked for
    ("0", False),  # BOOKBRIDGE_COUNT_QUERIES=0 from the environment
    ("1", True),
])
def test_the_headers_follow_the_setting(tmp_path, migrated_database, database_url, setting,
                                        counted):
    config = {"TESTING": True, **database_config(tmp_path, database_url, migrated_database)}
    if setting is not None:
        config["COUNT_QUERIES"] = setting
    response = create_app(config).test_client().get("/login")
    assert response.status_code == 200
    assert ("X-Query-Count" in response.headers) is counted
    assert ("X-Query-Time-Ms" in response.headers) is counted
