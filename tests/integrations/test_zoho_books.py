"""ZohoBooksClient over real HTTP: a scripted loopback server for quirks and failures,
the sandbox (when present) for the flows."""

from __future__ import annotations

import json
import logging
import threading
import time
from decimal import Decimal

import pytest

from integrations.zoho_books import (
    DailyQuota,
    SimplePacer,
    ZohoBooksClient,
    ZohoDailyLimitReached,
    ZohoNotFound,
    ZohoOrganizationUnavailable,
    ZohoUnauthorized,
    ZohoUnavailable,
    ZohoUnknownOutcome,
    ZohoValidationError,
    encode_json,
)
from services import i18n
from tests.integrations.helpers import sandbox_stats

ORG = "20095123456"
BIG_ID = "460000000050127123"  # 18 digits: past 2**53, must never become a number


def client_for(url, tokens, sleeps=None, **kwargs) -> ZohoBooksClient:
    pacer = SimplePacer(sleep=(sleeps if sleeps is not None else []).append)
    kwargs.setdefault("retry_base_delay", 0.001)
    return ZohoBooksClient(url, ORG, tokens, pacer=pacer, **kwargs)


def ok(**payload) -> dict:
    return {"code": 0, "message": "success", **payload}


# --- requests we send --------------------------------------------------------------------


def test_calls_carry_the_token_header_and_organization_id(fake_zoho, tokens):
    fake_zoho.reply(200, ok(contact={"contact_id": BIG_ID}))

    client_for(fake_zoho.url, tokens).get("/contacts/" + BIG_ID, {"print": "false"})

    sent = fake_zoho.received[0]
    assert sent.path == f"/books/v3/contacts/{BIG_ID}"
    assert sent.headers["Authorization"] == "Zoho-oauthtoken access-1"
    assert sent.query == {"print": ["false"], "organization_id": [ORG]}


def test_list_organizations_sends_no_organization_id(fake_zoho, tokens):
    fake_zoho.reply(200, ok(organizations=[{"organization_id": ORG, "name": "Acme"}]))

    organizations = client_for(fake_zoho.url, tokens).list_organizations()

    assert organizations == [{"organization_id": ORG, "name": "Acme"}]
    assert fake_zoho.received[0].path == "/books/v3/organizations"
    assert fake_zoho.received[0].query == {}


def test_post_sends_decimal_amounts_exactly_and_accepts_201(fake_zoho, tokens):
    fake_zoho.reply(201, ok(bill={"bill_id": BIG_ID, "total": 0.1}))
    body = {"vendor_id": BIG_ID, "line_items": [{"rate": Decimal("0.10"), "quantity": 3}]}

    envelope = client_for(fake_zoho.url, tokens).post("/bills", json=body)

    sent = fake_zoho.received[0]
    assert sent.headers["Content-Type"] == "application/json"
    assert b'"rate":0.10' in sent.body
    assert json.loads(sent.body)["vendor_id"] == BIG_ID
    assert envelope["bill"] == {"bill_id": BIG_ID, "total": Decimal("0.1")}


def test_ids_stay_strings_and_money_is_decimal(fake_zoho, tokens):
    fake_zoho.reply(200, raw=(
        b'{"code":0,"message":"ok","bill":{"bill_id":"' + BIG_ID.encode()
        + b'","total":1234567890123.45,"balance":0.30}}'
    ))

    bill = client_for(fake_zoho.url, tokens).get("/bills/" + BIG_ID)["bill"]

    assert bill["bill_id"] == BIG_ID
    assert bill["total"] == Decimal("1234567890123.45")
    assert bill["balance"] == Decimal("0.30")


def test_encode_json_writes_exact_numbers_and_iso_dates():
    import datetime

    text = encode_json({"a": Decimal("1E+2"), "d": datetime.date(2026, 1, 31), "n": None})
    assert text == '{"a":1E+2,"d":"2026-01-31","n":null}'
    with pytest.raises(ValueError):
        encode_json(Decimal("NaN"))


def test_put_and_delete(fake_zoho, tokens):
    fake_zoho.reply(200, ok(contact={"contact_id": BIG_ID}))
    fake_zoho.reply(200, ok())
    client = client_for(fake_zoho.url, tokens)

    client.put("/contacts/" + BIG_ID, {"contact_name": "Acme"})
    client.delete("/contacts/" + BIG_ID)

    assert [(r.method, r.body) for r in fake_zoho.received] == [
        ("PUT", b'{"contact_name":"Acme"}'),
        ("DELETE", b""),
    ]


def test_post_file_is_multipart_with_the_named_field(fake_zoho, tokens):
    fake_zoho.reply(200, ok(message="The expense receipt has been attached."))
    content = b"%PDF-1.7\x00\xff binary"

    client_for(fake_zoho.url, tokens).post_file(
        f"/expenses/{BIG_ID}/receipt", "receipt", "receipt.pdf", content, "application/pdf"
    )

    sent = fake_zoho.received[0]
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="receipt"; filename="receipt.pdf"' in sent.body
    assert content in sent.body


def test_one_debug_line_per_call_without_the_token(fake_zoho, tokens, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.zoho_books")
    fake_zoho.reply(200, ok(contacts=[]))

    client_for(fake_zoho.url, tokens).get("/contacts")

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("zoho books GET /contacts -> 200 in ")
    assert "access-1" not in caplog.text


# --- pagination --------------------------------------------------------------------------


def page(rows, more):
    return ok(contacts=rows, page_context={"page": 1, "per_page": 2, "has_more_page": more})


def test_iter_pages_follows_has_more_page_one_call_per_page(fake_zoho, tokens):
    fake_zoho.reply(200, page([{"contact_id": "1"}, {"contact_id": "2"}], True))
    fake_zoho.reply(200, page([{"contact_id": "3"}], False))

    pages = list(client_for(fake_zoho.url, tokens).iter_pages("/contacts", "contacts", per_page=2))

    assert pages == [[{"contact_id": "1"}, {"contact_id": "2"}], [{"contact_id": "3"}]]
    assert [r.query["page"] for r in fake_zoho.received] == [["1"], ["2"]]
    assert all(r.query["per_page"] == ["2"] for r in fake_zoho.received)


def test_iter_pages_without_page_context_stops_on_a_short_page(fake_zoho, tokens):
    fake_zoho.reply(200, ok(currencies=[{"currency_id": "1"}, {"currency_id": "2"}]))
    fake_zoho.reply(200, ok(currencies=[{"currency_id": "3"}]))

    client = client_for(fake_zoho.url, tokens)
    pages = list(client.iter_pages("/settings/currencies", "currencies", per_page=2))

    assert [len(p) for p in pages] == [2, 1]
    assert len(fake_zoho.received) == 2


def test_typed_list_helpers_send_the_right_filters(fake_zoho, tokens):
    client = client_for(fake_zoho.url, tokens)
    helpers = {
        client.iter_chart_of_accounts: ("/chartofaccounts", "chartofaccounts", "AccountType.All"),
        client.iter_taxes: ("/settings/taxes", "taxes", None),
        client.iter_contacts: ("/contacts", "contacts", "Status.All"),
        client.iter_items: ("/items", "items", "Status.All"),
        client.iter_currencies: ("/settings/currencies", "currencies", None),
        client.iter_bank_accounts: ("/bankaccounts", "bankaccounts", "Status.All"),
    }
    for helper, (path, key, filter_by) in helpers.items():
        fake_zoho.received.clear()
        fake_zoho.reply(200, ok(**{key: [{"id": "1"}]}, page_context={"has_more_page": False}))
        assert list(helper()) == [[{"id": "1"}]]
        sent = fake_zoho.received[0]
        assert sent.path == "/books/v3" + path
        assert sent.query.get("filter_by", [None])[0] == filter_by


# --- tokens ------------------------------------------------------------------------------


def test_401_forces_one_refresh_then_retries(fake_zoho, tokens):
    fake_zoho.reply(401, {"code": 57, "message": "You are not authorized to perform this"})
    fake_zoho.reply(200, ok(contacts=[]))

    client_for(fake_zoho.url, tokens).get("/contacts")

    assert tokens.refreshes == 1
    assert [r.headers["Authorization"] for r in fake_zoho.received] == [
        "Zoho-oauthtoken access-1",
        "Zoho-oauthtoken access-2",
    ]


def test_401_after_the_forced_refresh_is_unauthorized(fake_zoho, tokens):
    for _ in range(2):
        fake_zoho.reply(401, {"code": 14, "message": "Invalid OAuth token"})

    with pytest.raises(ZohoUnauthorized) as caught:
        client_for(fake_zoho.url, tokens).get("/contacts")

    assert tokens.refreshes == 1 and len(fake_zoho.received) == 2
    assert "reconnect" in caught.value.user_message


@pytest.mark.parametrize(
    "status, body",
    [
        (400, {"code": 6041, "message": "This organization is not available"}),
        (400, {"code": 2, "message": "Invalid value passed for organization_id"}),
        (401, {"code": 4001, "message": "You are not a member of this organization"}),
    ],
)
def test_organization_problems_are_not_token_problems(fake_zoho, tokens, status, body):
    fake_zoho.reply(status, body)
    with pytest.raises(ZohoOrganizationUnavailable):
        client_for(fake_zoho.url, tokens).get("/contacts")
    assert tokens.refreshes == 0


# --- other errors ------------------------------------------------------------------------


def test_404_and_code_1002_are_not_found(fake_zoho, tokens):
    fake_zoho.reply(404, {"code": 1002, "message": "Bill does not exist."})
    with pytest.raises(ZohoNotFound) as caught:
        client_for(fake_zoho.url, tokens).get("/bills/1")
    assert (caught.value.http_status, caught.value.code) == (404, 1002)


def test_a_404_page_without_an_envelope_is_not_found_at_once(fake_zoho, tokens):
    fake_zoho.reply(404, raw=b"<html>no such page</html>", content_type="text/html")
    with pytest.raises(ZohoNotFound):
        client_for(fake_zoho.url, tokens).get("/no-such-endpoint")
    assert len(fake_zoho.received) == 1


def test_other_4xx_is_a_validation_error_with_zohos_message(fake_zoho, tokens):
    fake_zoho.reply(400, {"code": 4, "message": "Invalid value passed for bill_number"})
    with pytest.raises(ZohoValidationError) as caught:
        client_for(fake_zoho.url, tokens).post("/bills", json={})
    assert i18n.in_words(caught.value.user_message).endswith(
        "Invalid value passed for bill_number")
    assert len(fake_zoho.received) == 1


# --- rate limits -------------------------------------------------------------------------


def test_429_code_44_waits_for_the_next_minute_and_retries(fake_zoho, tokens, sleeps):
    fake_zoho.reply(429, {"code": 44, "message": "maximum number of requests per minute"})
    fake_zoho.reply(201, ok(contact={"contact_id": BIG_ID}))

    envelope = client_for(fake_zoho.url, tokens, sleeps).post("/contacts", json={"a": 1})

    assert envelope["contact"]["contact_id"] == BIG_ID
    assert len(fake_zoho.received) == 2
    assert len(sleeps) == 1 and 1 <= sleeps[0] <= 61


def test_429_code_1070_backs_off_briefly_and_retries(fake_zoho, tokens, sleeps):
    fake_zoho.reply(429, {"code": 1070, "message": "too many concurrent requests"})
    fake_zoho.reply(429, {"code": 1070, "message": "too many concurrent requests"})
    fake_zoho.reply(200, ok(contacts=[]))

    client_for(fake_zoho.url, tokens, sleeps).get("/contacts")

    assert len(fake_zoho.received) == 3
    assert len(sleeps) == 2 and all(s < 9 for s in sleeps)


def test_429_code_45_is_raised_without_retrying(fake_zoho, tokens, sleeps):
    fake_zoho.reply(429, {"code": 45, "message": "exceeded the maximum call rate limit of 1000."})

    with pytest.raises(ZohoDailyLimitReached) as caught:
        client_for(fake_zoho.url, tokens, sleeps).get("/contacts")

    assert len(fake_zoho.received) == 1 and sleeps == []
    assert "daily API calls" in caught.value.user_message


def test_simple_pacer_keeps_under_the_per_minute_budget():
    now = [1000.0]
    waits = []
    pacer = SimplePacer(per_minute=3, sleep=waits.append, clock=lambda: now[0])
    for _ in range(4):
        pacer.before_call()
    assert waits == [60.0]


# --- transient failures and writes -------------------------------------------------------


def test_get_retries_5xx_and_non_json_then_succeeds(fake_zoho, tokens):
    fake_zoho.reply(500, {"code": 1000, "message": "Internal Error"})
    fake_zoho.reply(502, raw=b"<html>bad gateway</html>", content_type="text/html")
    fake_zoho.reply(200, ok(contacts=[]))

    assert client_for(fake_zoho.url, tokens).get("/contacts")["contacts"] == []
    assert len(fake_zoho.received) == 3


def test_get_gives_up_after_three_retries(fake_zoho, tokens):
    for _ in range(4):
        fake_zoho.reply(503, raw=b"unavailable", content_type="text/plain")
    with pytest.raises(ZohoUnavailable) as caught:
        client_for(fake_zoho.url, tokens).get("/contacts")
    assert not isinstance(caught.value, ZohoUnknownOutcome)
    assert len(fake_zoho.received) == 4


def test_get_retries_a_timeout(fake_zoho, tokens):
    fake_zoho.reply(200, ok(contacts=[]), delay=1.0)
    fake_zoho.reply(200, ok(contacts=[{"contact_id": "1"}]))

    envelope = client_for(fake_zoho.url, tokens, timeout=0.2).get("/contacts")

    assert envelope["contacts"] == [{"contact_id": "1"}]


def test_post_timeout_is_an_unknown_outcome_and_not_repeated(fake_zoho, tokens):
    fake_zoho.reply(201, ok(bill={"bill_id": BIG_ID}), delay=1.0)
    fake_zoho.reply(201, ok(bill={"bill_id": "a-duplicate"}))

    with pytest.raises(ZohoUnknownOutcome) as caught:
        client_for(fake_zoho.url, tokens, timeout=0.2).post("/bills", json={"bill_number": "1"})

    assert isinstance(caught.value, ZohoUnavailable)
    assert len(fake_zoho.received) == 1


def test_post_5xx_is_not_repeated_unless_asked(fake_zoho, tokens):
    fake_zoho.reply(500, {"code": 1000, "message": "Internal Error"})
    with pytest.raises(ZohoUnknownOutcome):
        client_for(fake_zoho.url, tokens).post("/bills", json={})
    assert len(fake_zoho.received) == 1

    fake_zoho.received.clear()
    fake_zoho.reply(500, {"code": 1000, "message": "Internal Error"})
    fake_zoho.reply(200, ok(bill={"bill_id": BIG_ID}))
    client_for(fake_zoho.url, tokens).put("/bills", {}, retry_writes=True)
    assert len(fake_zoho.received) == 2


def test_a_write_that_never_connected_is_retried_then_unavailable(tokens, closed_port_url):
    with pytest.raises(ZohoUnavailable) as caught:
        client_for(closed_port_url, tokens).post("/bills", json={})
    assert not isinstance(caught.value, ZohoUnknownOutcome)


def test_without_an_organization_only_list_organizations_works(fake_zoho, tokens):
    fake_zoho.reply(200, ok(organizations=[]))
    client = ZohoBooksClient(fake_zoho.url, None, tokens)
    assert client.list_organizations() == []
    with pytest.raises(ValueError):
        client.get("/contacts")


# --- against the sandbox -----------------------------------------------------------------


@pytest.fixture
def organization_id(fresh_sandbox):
    return fresh_sandbox.org_ids()[0]


@pytest.fixture
def clock_waits(fresh_sandbox):
    """Pacer waits, served by moving the sandbox clock instead of sleeping."""
    waits = []

    def advance(seconds: float) -> None:
        waits.append(seconds)
        fresh_sandbox.admin("POST", "/sandbox/clock", advance_seconds=seconds)

    advance.waits = waits
    return advance


@pytest.fixture
def books(fresh_sandbox, organization_id, sandbox_tokens, clock_waits):
    """A client for the sandbox's first organisation, paced on the sandbox clock."""
    return ZohoBooksClient(fresh_sandbox.url, organization_id, sandbox_tokens,
                           pacer=SimplePacer(sleep=clock_waits), retry_base_delay=0.001)


def test_sandbox_list_organizations(books, fresh_sandbox):
    organizations = books.list_organizations()
    ids = [org["organization_id"] for org in organizations]
    assert set(fresh_sandbox.org_ids()) <= set(ids)
    assert all(isinstance(i, str) for i in ids)


def test_sandbox_pagination_is_one_call_per_page(books, fresh_sandbox, organization_id):
    pages = list(books.iter_pages("/contacts", "contacts", {"filter_by": "Status.All"},
                                  per_page=2))

    assert len(pages) >= 2 and all(len(p) == 2 for p in pages[:-1])
    ids = [contact["contact_id"] for p in pages for contact in p]
    assert len(ids) == len(set(ids))
    assert sandbox_stats(fresh_sandbox, organization_id) == {"GET /contacts": len(pages)}


def test_sandbox_typed_list_helpers(books, fresh_sandbox, organization_id):
    helpers = [books.iter_chart_of_accounts, books.iter_taxes, books.iter_contacts,
               books.iter_items, books.iter_currencies, books.iter_bank_accounts]
    pages_seen = sum(len(list(helper())) for helper in helpers)

    assert pages_seen >= len(helpers)
    assert sum(sandbox_stats(fresh_sandbox, organization_id).values()) == pages_seen


def test_sandbox_ids_stay_strings_and_money_is_decimal(books):
    accounts = [a for p in books.iter_chart_of_accounts() for a in p]
    expense = next(a for a in accounts if a["account_type"] == "expense")
    bank = next(a for a in accounts if a["account_type"] in ("bank", "cash"))

    envelope = books.post("/expenses", json={
        "account_id": expense["account_id"], "paid_through_account_id": bank["account_id"],
        "date": "2026-01-15", "amount": Decimal("1234567.89"),
    })

    expense_row = envelope["expense"]
    assert isinstance(expense_row["expense_id"], str) and len(expense_row["expense_id"]) >= 16
    assert Decimal("1234567.89") in (expense_row.get("amount"), expense_row.get("total"))
    taxes = [t for p in books.iter_taxes() for t in p]
    assert all(isinstance(t["tax_percentage"], Decimal | int) for t in taxes)

    receipt = books.post_file(f"/expenses/{expense_row['expense_id']}/receipt", "receipt",
                              "receipt.pdf", b"%PDF-1.4 test receipt", "application/pdf")
    assert receipt["code"] == 0


def test_sandbox_401_forces_one_refresh_then_retries(books, sandbox_tokens):
    sandbox_tokens.current = "1000.not-a-real-token"

    assert books.list_organizations()
    assert sandbox_tokens.refreshes == 1


def test_sandbox_revoked_grant_surfaces_token_revoked(books, fresh_sandbox, sandbox_tokens):
    from integrations.zoho_accounts import TokenRevoked

    fresh_sandbox.admin("POST", "/sandbox/revoke-tokens")
    with pytest.raises(TokenRevoked):
        books.get("/settings/taxes")
    assert sandbox_tokens.refreshes == 1


def test_sandbox_429_code_44_is_paced_and_retried(books, fresh_sandbox, organization_id,
                                                  clock_waits):
    fresh_sandbox.admin("POST", f"/sandbox/orgs/{organization_id}/limits", per_minute=2)

    for _ in range(3):
        books.get("/settings/taxes")

    # The first wait ends the clock's minute; if the sandbox's minute is a rolling one,
    # the second (a whole minute) is sure to be enough.
    assert 1 <= len(clock_waits.waits) <= 2 and clock_waits.waits[0] <= 61
    calls = sandbox_stats(fresh_sandbox, organization_id)["GET /settings/taxes"]
    assert calls == 3 + len(clock_waits.waits)


def test_sandbox_forced_429s_never_fail_a_write(books, fresh_sandbox, clock_waits):
    fresh_sandbox.admin("POST", "/sandbox/faults", force_429=2)

    envelope = books.post("/contacts", json={"contact_name": "Paced Vendor SARL",
                                             "contact_type": "vendor"})

    assert envelope["contact"]["contact_name"] == "Paced Vendor SARL"
    assert len(clock_waits.waits) == 2


def test_sandbox_daily_limit_is_raised_without_retrying(books, fresh_sandbox, organization_id):
    fresh_sandbox.admin("POST", f"/sandbox/orgs/{organization_id}/limits", daily=1)
    books.get("/settings/taxes")

    with pytest.raises(ZohoDailyLimitReached):
        books.get("/settings/taxes")

    assert sandbox_stats(fresh_sandbox, organization_id) == {"GET /settings/taxes": 2}


def test_sandbox_5xx_is_retried_for_get(books, fresh_sandbox, organization_id):
    fresh_sandbox.admin("POST", "/sandbox/faults", error_rate=1.0)
    with pytest.raises(ZohoUnavailable):
        books.get("/settings/taxes")
    assert sandbox_stats(fresh_sandbox, organization_id) == {"GET /settings/taxes": 4}

    fresh_sandbox.admin("POST", "/sandbox/faults", error_rate=0.4, seed=7)
    for _ in range(8):
        assert books.get("/settings/taxes")["taxes"]
    assert sandbox_stats(fresh_sandbox, organization_id)["GET /settings/taxes"] > 4 + 8


def test_sandbox_post_5xx_is_not_repeated(books, fresh_sandbox, organization_id):
    fresh_sandbox.admin("POST", "/sandbox/faults", error_rate=1.0)
    with pytest.raises(ZohoUnknownOutcome):
        books.post("/contacts", json={"contact_name": "Once Only SAS"})
    assert sandbox_stats(fresh_sandbox, organization_id) == {"POST /contacts": 1}


def test_sandbox_post_timeout_is_an_unknown_outcome(fresh_sandbox, organization_id,
                                                    sandbox_tokens):
    fresh_sandbox.admin("POST", "/sandbox/faults", timeout_rate=1.0, timeout_sleep_s=1)
    client = ZohoBooksClient(fresh_sandbox.url, organization_id, sandbox_tokens,
                             timeout=0.3, retry_base_delay=0.001)

    with pytest.raises(ZohoUnknownOutcome):
        client.post("/contacts", json={"contact_name": "Maybe Created SARL"})

    assert sandbox_stats(fresh_sandbox, organization_id) == {"POST /contacts": 1}
    # What the caller does next: look the record up before trying again. The slow request
    # is still running on the server, so give it the time it sleeps.
    fresh_sandbox.admin("DELETE", "/sandbox/faults")
    time.sleep(1.2)
    found = client.get("/contacts", {"contact_name": "Maybe Created SARL"})["contacts"]
    assert len(found) == 1  # it did happen: a blind retry would have made a duplicate


def test_sandbox_error_mapping(books, fresh_sandbox, sandbox_tokens):
    with pytest.raises(ZohoNotFound):
        books.get("/contacts/460000000000099999")
    with pytest.raises(ZohoValidationError):
        books.post("/contacts", json={})
    other = ZohoBooksClient(fresh_sandbox.url, "460000000000000304", sandbox_tokens)
    with pytest.raises(ZohoOrganizationUnavailable):
        other.get("/settings/taxes")
    assert sandbox_tokens.refreshes == 0


def test_simple_pacer_waits_a_whole_minute_after_the_first_44():
    waits = []
    pacer = SimplePacer(sleep=waits.append, wall_clock=lambda: 120.0 + 45)
    pacer.rate_limited(44, 1)
    pacer.rate_limited(44, 2)
    assert waits == [16.0, 60]


def test_sandbox_1070_too_many_at_once_is_backed_off_and_retried(
    fresh_sandbox, organization_id, sandbox_tokens
):
    fresh_sandbox.admin("POST", f"/sandbox/orgs/{organization_id}/limits", concurrency=1)
    fresh_sandbox.admin("POST", "/sandbox/faults", latency_ms=300)
    client = ZohoBooksClient(fresh_sandbox.url, organization_id, sandbox_tokens,
                             retry_base_delay=0.001)
    results = []

    def fetch():
        results.append(client.get("/settings/taxes")["code"])

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == [0, 0, 0]
    assert sandbox_stats(fresh_sandbox, organization_id)["GET /settings/taxes"] > 3


# --- Zoho's daily quota headers (NOTES §2.2, reported by third parties only) -------------


class RecordingPacer(SimplePacer):
    """A SimplePacer that also keeps what the client reports after each answer."""

    def __init__(self):
        super().__init__(sleep=lambda seconds: None)
        self.answers = []

    def after_reply(self, status, code, daily_quota):
        self.answers.append((status, code, daily_quota))


def test_sandbox_quota_headers_reach_the_pacer_on_success_and_429(fresh_sandbox,
                                                                 organization_id,
                                                                 sandbox_tokens):
    pacer = RecordingPacer()
    books = ZohoBooksClient(fresh_sandbox.url, organization_id, sandbox_tokens, pacer=pacer)
    fresh_sandbox.admin("POST", f"/sandbox/orgs/{organization_id}/limits", daily=2)

    books.get("/settings/taxes")
    books.get("/settings/taxes")
    with pytest.raises(ZohoDailyLimitReached):
        books.get("/settings/taxes")

    quotas = [quota for _status, _code, quota in pacer.answers]
    assert [(q.limit, q.remaining) for q in quotas] == [(2, 1), (2, 0), (2, 0)]
    assert all(0 < q.reset_seconds <= 86400 for q in quotas)
    assert [(status, code) for status, code, _quota in pacer.answers] == [
        (200, 0), (200, 0), (429, 45)]


def test_answers_without_quota_headers_still_work(fresh_sandbox, organization_id,
                                                  sandbox_tokens):
    pacer = RecordingPacer()
    books = ZohoBooksClient(fresh_sandbox.url, organization_id, sandbox_tokens, pacer=pacer)
    fresh_sandbox.admin("POST", "/sandbox/faults", quota_headers=False)

    assert books.get("/settings/taxes")["taxes"]
    assert pacer.answers == [(200, 0, None)]


class FailingPacer(SimplePacer):
    def after_reply(self, status, code, daily_quota):
        raise RuntimeError("the counter's database is locked")


def test_a_failing_counter_never_fails_a_write_zoho_applied(fresh_sandbox, organization_id,
                                                            sandbox_tokens, caplog):
    books = ZohoBooksClient(fresh_sandbox.url, organization_id, sandbox_tokens,
                            pacer=FailingPacer(sleep=lambda seconds: None))
    with caplog.at_level(logging.WARNING):
        envelope = books.post("/contacts", json={"contact_name": "Counted Vendor SARL",
                                                 "contact_type": "vendor"})
    assert envelope["contact"]["contact_name"] == "Counted Vendor SARL"
    assert "could not record Zoho's answer" in caplog.text


@pytest.mark.parametrize(("headers", "expected"), [
    ({"X-Rate-Limit-Limit": "7500", "X-Rate-Limit-Remaining": "6775",
      "X-Rate-Limit-Reset": "32400"}, DailyQuota(7500, 6775, 32400)),
    ({"x-rate-limit-limit": " 1000 ", "x-rate-limit-remaining": "12.0"},
     DailyQuota(1000, 12, None)),
    ({"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": "5000",
      "X-Rate-Limit-Reset": "soon"}, DailyQuota(1000, 1000, None)),
    ({}, None),
    ({"X-Rate-Limit-Limit": "1000"}, None),
    ({"X-Rate-Limit-Limit": "lots", "X-Rate-Limit-Remaining": "10"}, None),
    ({"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0"}, None),
    ({"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": "-3"}, None),
    ({"X-Rate-Limit-Limit": "nan", "X-Rate-Limit-Remaining": "inf"}, None),
])
def test_garbled_quota_headers_are_no_reading(headers, expected):
    from requests.structures import CaseInsensitiveDict

    assert DailyQuota.from_headers(CaseInsensitiveDict(headers)) == expected
