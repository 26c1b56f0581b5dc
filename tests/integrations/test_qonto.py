"""QontoClient against a Qonto-shaped server over real loopback HTTP (``qonto_fake``)."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
import requests

from integrations.qonto import (
    QontoAttachmentExpired,
    QontoAuthError,
    QontoClient,
    QontoError,
    QontoForbidden,
    QontoInvalidRequest,
    QontoNotFound,
    QontoRateLimited,
    QontoUnavailable,
    format_datetime,
)
from tests.integrations.qonto_fake import (
    EXTERNAL_ACCOUNT,
    LOGIN,
    MAIN_ACCOUNT,
    SECRET,
    FakeQonto,
    RunningFake,
    utc,
)

FAST = 0.001  # retry_base_delay for tests: retries without real waiting


@pytest.fixture
def fake():
    running = RunningFake()
    yield running.state
    running.stop()


@pytest.fixture
def client(fake):
    with QontoClient(LOGIN, SECRET, base_url=fake.url, timeout=5, retry_base_delay=FAST) as c:
        yield c


def _page(rows, current, next_page, **meta):
    return {"transactions": rows, "meta": {"current_page": current, "next_page": next_page,
                                           **meta}}


def _row(n):
    return {"id": f"t{n}", "amount": "@1.10", "amount_cents": 110, "status": "completed"}


# --- auth, organization ------------------------------------------------------------------


def test_auth_header_is_login_colon_secret_and_repr_hides_the_key(fake, client):
    client.organization()
    (request,) = fake.received
    assert request.headers["Authorization"] == f"{LOGIN}:{SECRET}"
    assert request.path == "/v2/organization"
    assert SECRET not in repr(client) and LOGIN in repr(client)


def test_base_url_may_end_with_v2(fake):
    with QontoClient(LOGIN, SECRET, base_url=fake.url + "/v2/", retry_base_delay=FAST) as c:
        assert c.organization()["slug"] == LOGIN
    assert fake.received[0].path == "/v2/organization"


def test_organization_asks_for_external_accounts_and_keeps_money_exact(fake, client):
    organization = client.organization()
    assert fake.received[0].query["include_external_accounts"] == ["true"]
    accounts = {a["id"]: a for a in organization["bank_accounts"]}
    assert set(accounts) == {MAIN_ACCOUNT, EXTERNAL_ACCOUNT}
    main = accounts[MAIN_ACCOUNT]
    assert main["balance"] == Decimal("1000.10") and isinstance(main["balance"], Decimal)
    assert main["balance_cents"] == 100010 and type(main["balance_cents"]) is int


def test_blank_credentials_are_refused_before_any_call():
    with pytest.raises(ValueError):
        QontoClient(LOGIN, "  ")


# --- transactions: statuses, wire format, pagination ---------------------------------------


def test_each_status_is_walked_separately_in_order(fake, client):
    pages = list(client.iter_transactions(
        MAIN_ACCOUNT, statuses=("pending", "declined", "completed"), per_page=2))
    statuses_seen = [{row["status"] for row in page} for page in pages]
    # pending: 2 rows = 1 page; declined: 1 page; completed: 5 rows = 3 pages
    assert statuses_seen == [{"pending"}, {"declined"}] + [{"completed"}] * 3
    sent = [(r.query["status[]"], r.query["page"]) for r in fake.requests_to("/v2/transactions")]
    assert sent == [(["pending"], ["1"]), (["declined"], ["1"]),
                    (["completed"], ["1"]), (["completed"], ["2"]), (["completed"], ["3"])]
    assert sum(len(p) for p in pages) == 8  # the external account's row is not included


def test_default_is_completed_only(fake, client):
    rows = [row for page in client.iter_transactions(MAIN_ACCOUNT) for row in page]
    assert {row["status"] for row in rows} == {"completed"} and len(rows) == 5
    assert fake.received[0].query["status[]"] == ["completed"]


def test_a_single_status_may_be_given_as_a_string(fake, client):
    rows = [row for page in client.iter_transactions(MAIN_ACCOUNT, statuses="declined")
            for row in page]
    assert [row["status"] for row in rows] == ["declined"]
    assert fake.received[0].query["status[]"] == ["declined"]


def test_query_string_on_the_wire(fake, client):
    paris = timezone(timedelta(hours=2))
    list(client.iter_transactions(
        MAIN_ACCOUNT, statuses=("pending",),
        updated_at_from=datetime(2026, 3, 2, 12, 5, 6, 789_999, tzinfo=paris),
        updated_at_to=utc(2026, 3, 31, 23, 59, 59),
        settled_at_from=utc(2026, 1, 1), settled_at_to=utc(2026, 12, 31, 23, 59, 59, 999_000),
        includes=("attachments", "labels"), per_page=50))
    (request,) = fake.received
    pairs = parse_qsl(request.raw_query)
    assert ("status[]", "pending") in pairs
    assert ("updated_at_from", "2026-03-02T10:05:06.789Z") in pairs
    assert ("updated_at_to", "2026-03-31T23:59:59.000Z") in pairs
    assert ("settled_at_from", "2026-01-01T00:00:00.000Z") in pairs
    assert ("settled_at_to", "2026-12-31T23:59:59.999Z") in pairs
    assert [v for k, v in pairs if k == "includes[]"] == ["attachments", "labels"]
    assert ("bank_account_id", MAIN_ACCOUNT) in pairs
    assert ("sort_by", "updated_at:asc") in pairs
    assert ("per_page", "50") in pairs and ("page", "1") in pairs
    assert "status%5B%5D=pending" in request.raw_query  # the array syntax, percent-encoded


def test_filters_reject_naive_datetimes_and_bad_arguments_at_call_time(fake, client):
    with pytest.raises(ValueError):
        client.iter_transactions(MAIN_ACCOUNT, updated_at_from=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        client.iter_transactions(MAIN_ACCOUNT, per_page=101)
    with pytest.raises(ValueError):
        client.iter_transactions(MAIN_ACCOUNT, statuses=("settled",))
    with pytest.raises(ValueError):
        client.iter_transactions("")
    assert fake.received == []
    assert format_datetime(utc(2019, 1, 10, 11, 47, 53, 123_456)) == "2019-01-10T11:47:53.123Z"


def test_amounts_are_decimal_and_cents_are_int(client):
    (first, *_), *_ = client.iter_transactions(MAIN_ACCOUNT)
    assert isinstance(first["amount"], Decimal) and first["amount"] * 100 == first["amount_cents"]
    assert type(first["amount_cents"]) is int
    assert first["settled_balance"] == Decimal("1000.10")


def test_an_empty_page_does_not_end_the_walk(fake, client):
    fake.script(body=_page([_row(1)], 1, 2))
    fake.script(body=_page([], 2, 3))
    fake.script(body=_page([_row(3)], 3, None))
    pages = list(client.iter_transactions(MAIN_ACCOUNT))
    assert pages == [[_row(1) | {"amount": Decimal("1.10")}],
                     [_row(3) | {"amount": Decimal("1.10")}]]
    assert [r.query["page"] for r in fake.received] == [["1"], ["2"], ["3"]]


@pytest.mark.parametrize("last_meta", [
    {"next_page": None}, {}, {"next_page": 0}, {"next_page": 2}, {"next_page": 1},
], ids=["null", "missing", "zero", "same-page", "backwards"])
def test_walk_stops_when_next_page_is_not_ahead(fake, client, last_meta):
    fake.script(body=_page([_row(1)], 1, 2))
    fake.script(body={"transactions": [_row(2)], "meta": {"current_page": 2, **last_meta}})
    pages = list(client.iter_transactions(MAIN_ACCOUNT))
    assert len(pages) == 2 and len(fake.received) == 2


def test_paging_past_the_end_is_never_requested(fake, client):
    # the fake answers 422 past the last page (NOTES §4 quirk 4): following next_page avoids it
    pages = list(client.iter_transactions(MAIN_ACCOUNT, per_page=5))
    assert len(pages) == 1 and len(fake.received) == 1


# --- single transaction, attachments, downloads ---------------------------------------------


def test_transaction_and_its_attachments(fake, client):
    first = fake.transactions[0]
    transaction = client.transaction(first["id"])
    assert fake.received[0].query["includes[]"] == ["attachments"]
    assert [a["id"] for a in transaction["attachments"]] == first["attachment_ids"]
    listed = client.transaction_attachments(first["id"])
    assert [a["file_name"] for a in listed] == ["receipt-1.pdf", "receipt-2.pdf"]
    one = client.attachment(listed[0]["id"])
    assert one["file_size"] == listed[0]["file_size"] and one["url"].startswith(fake.url)


def test_download_sends_no_authorization(fake, client):
    attachment = client.transaction_attachments(fake.transactions[0]["id"])[0]
    content, content_type = client.download(attachment["url"])
    assert content == fake.attachments[attachment["id"]]["content"]
    assert content_type == "application/pdf"
    file_request = fake.received[-1]
    assert file_request.path.startswith("/files/")
    assert "Authorization" not in file_request.headers


def test_expired_url_raises_and_a_fresh_one_works(fake, client):
    attachment_id = fake.transactions[0]["attachment_ids"][0]
    stale = client.attachment(attachment_id)["url"]
    fake.advance(31 * 60)
    with pytest.raises(QontoAttachmentExpired) as caught:
        client.download(stale)
    assert caught.value.http_status == 403 and "expired" in caught.value.user_message
    assert len(fake.requests_to(f"/files/{attachment_id}")) == 1  # not retried
    content, _ = client.download(client.attachment(attachment_id)["url"])
    assert content.startswith(b"%PDF")


def test_download_of_a_login_page_is_not_a_receipt(fake, client):
    fake.script(raw=b"<html>OneLogin</html>", content_type="text/html", path="/files/x")
    with pytest.raises(QontoUnavailable):
        client.download(fake.url + "/files/x?sig=1")


# --- errors ------------------------------------------------------------------------------


def test_unknown_transaction_is_a_blank_text_404(fake, client):
    with pytest.raises(QontoNotFound) as caught:
        client.transaction("0190a1b2-ffff-7000-8000-000000000000")
    assert caught.value.http_status == 404
    assert caught.value.user_message.startswith("Qonto says this item does not exist")
    with pytest.raises(QontoNotFound) as caught:
        client.transaction_attachments("0190a1b2-ffff-7000-8000-000000000000")
    assert caught.value.code == "not_found" and caught.value.detail == "Transaction not found"


def test_wrong_secret_is_an_auth_error_without_retry_or_secret_leak(fake):
    wrong = "sk-wrong-secret-value"
    with QontoClient(LOGIN, wrong, base_url=fake.url, retry_base_delay=FAST) as client:
        with pytest.raises(QontoAuthError) as caught:
            client.organization()
    assert caught.value.code == "unauthorized" and caught.value.detail == "Invalid credentials"
    assert caught.value.user_message.startswith("Qonto refused the login or secret key")
    assert wrong not in str(caught.value) and len(fake.received) == 1


def test_secret_echoed_by_the_server_is_masked(fake, client):
    fake.script(403, {"errors": [{"code": "forbidden", "detail": f"key {SECRET} lacks rights"}]})
    with pytest.raises(QontoForbidden) as caught:
        client.organization()
    assert SECRET not in str(caught.value) and "***" in caught.value.detail


@pytest.mark.parametrize("status,body,detail", [
    (400, {"errors": [{"code": "sort_invalid", "message": "sort_by is invalid"}]},
     "sort_by is invalid"),
    (422, {"errors": [{"code": "missing", "detail": "bank_account_id or iban is missing",
                       "source": {"parameter": "bank_account_id"}}]},
     "bank_account_id or iban is missing"),
    (422, {"message": "Validation failed"}, "Validation failed"),
])
def test_invalid_requests_carry_qonto_text(fake, client, status, body, detail):
    fake.script(status, body)
    with pytest.raises(QontoInvalidRequest) as caught:
        list(client.iter_transactions(MAIN_ACCOUNT))
    assert caught.value.detail == detail and detail in caught.value.user_message
    assert len(fake.received) == 1


def test_plain_text_error_body(fake, client):
    fake.script(410, raw=b"Gone: use /v2/organization", content_type="text/plain")
    with pytest.raises(QontoError) as caught:
        client.organization()
    assert caught.value.http_status == 410 and "Gone" in caught.value.detail


def test_429_honours_retry_after(fake, client):
    fake.script(429, {"errors": [{"code": "too_many_requests"}]}, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert client.organization()["slug"] == LOGIN
    assert time.monotonic() - started >= 0.95  # retry_base_delay alone would be ~1 ms
    assert len(fake.received) == 2


def test_429_without_retry_after_backs_off_then_succeeds(fake, client):
    fake.script(429, raw=b"")
    fake.script(429, raw=b"")
    assert client.organization()["slug"] == LOGIN
    assert len(fake.received) == 3


def test_429_for_ever_gives_up_after_five_tries(fake, client):
    for _ in range(6):
        fake.script(429, {"errors": [{"code": "too_many_requests", "detail": "slow down"}]})
    with pytest.raises(QontoRateLimited) as caught:
        client.organization()
    assert len(fake.received) == 5 and caught.value.detail == "slow down"


def test_very_long_retry_after_is_handed_to_the_caller(fake, client):
    fake.script(429, raw=b"", headers={"Retry-After": "600"})
    with pytest.raises(QontoRateLimited) as caught:
        client.organization()
    assert caught.value.retry_after == 600 and len(fake.received) == 1


def test_500_then_success(fake, client):
    fake.script(500, raw=b"Internal Server Error", content_type="text/plain")
    assert client.organization()["slug"] == LOGIN
    assert len(fake.received) == 2


def test_5xx_for_ever_is_unavailable(fake, client):
    for _ in range(5):
        fake.script(502, raw=b"<html>Bad gateway</html>", content_type="text/html")
    with pytest.raises(QontoUnavailable) as caught:
        client.organization()
    assert caught.value.http_status == 502 and len(fake.received) == 5


def test_html_200_login_page_is_unavailable_after_retries(fake, client):
    for _ in range(5):
        fake.script(200, raw=b"<!DOCTYPE html><title>OneLogin</title>",
                    content_type="text/html; charset=utf-8")
    with pytest.raises(QontoUnavailable) as caught:
        client.organization()
    assert "staging token" in caught.value.detail and len(fake.received) == 5


def test_html_200_once_then_json(fake, client):
    fake.script(200, raw=b"<html>login</html>", content_type="text/html")
    assert client.organization()["slug"] == LOGIN


def test_redirect_to_a_login_page_is_not_followed(fake, client):
    fake.script(302, raw=b"", headers={"Location": "https://qonto.onelogin.com/login"})
    fake.script(302, raw=b"", headers={"Location": "https://qonto.onelogin.com/login"})
    with QontoClient(LOGIN, SECRET, base_url=fake.url, retry_base_delay=FAST,
                     max_tries=2) as short:
        with pytest.raises(QontoUnavailable):
            short.organization()
    assert len(fake.received) == 2


def test_timeout_is_retried_then_unavailable(fake):
    fake.script(delay=0.5, body={"organization": {}})
    fake.script(delay=0.5, body={"organization": {}})
    with QontoClient(LOGIN, SECRET, base_url=fake.url, timeout=0.1, retry_base_delay=FAST,
                     max_tries=2) as client:
        with pytest.raises(QontoUnavailable) as caught:
            client.organization()
    assert "after 2 tries" in caught.value.detail


def test_connection_refused_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with QontoClient(LOGIN, SECRET, base_url=f"http://127.0.0.1:{port}", timeout=1,
                     retry_base_delay=FAST) as client:
        with pytest.raises(QontoUnavailable) as caught:
            client.organization()
    assert "ConnectionError" in caught.value.detail


def test_one_debug_line_per_call_without_secrets(fake, client, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.qonto")
    attachment = client.attachment(fake.transactions[0]["attachment_ids"][0])
    client.download(attachment["url"])
    lines = [r.getMessage() for r in caplog.records if r.name == "integrations.qonto"]
    assert len(lines) == 2
    assert lines[0].startswith("qonto GET /v2/attachments/") and "-> 200 in" in lines[0]
    assert "/files/" in lines[1]
    assert all(SECRET not in line and "Signature" not in line for line in lines)


def test_fake_honours_current_page_alias():
    # the fake stays a faithful stand-in for clients that send current_page (NOTES §4 q.5)
    running = RunningFake(FakeQonto())
    try:
        response = requests.get(
            running.state.url + "/v2/transactions", timeout=5,
            headers={"Authorization": f"{LOGIN}:{SECRET}"},
            params={"bank_account_id": MAIN_ACCOUNT, "per_page": 2, "current_page": 2})
        assert response.json()["meta"]["current_page"] == 2
    finally:
        running.stop()


def test_datetime_formatting_converts_to_utc():
    assert format_datetime(datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) \
        == "2025-12-31T23:30:00.000Z"
    assert format_datetime(datetime(2026, 6, 1, tzinfo=UTC)) == "2026-06-01T00:00:00.000Z"
