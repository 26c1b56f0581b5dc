"""QontoClient against the project's sandbox (its Qonto part), over real HTTP.

The sandbox's Qonto server is written separately from the client, from the same NOTES.md,
so these tests check the two against each other. Skipped while the sandbox has no Qonto
part (``GET /sandbox/qonto`` answers 404).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from integrations.qonto import QontoAttachmentExpired, QontoAuthError, QontoClient


def _find(data, *names):
    """The first value under one of ``names``, searching nested dicts and lists."""
    if isinstance(data, dict):
        for name in names:
            if isinstance(data.get(name), str) and data[name]:
                return data[name]
        values = list(data.values())
    elif isinstance(data, list):
        values = data
    else:
        return None
    for value in values:
        found = _find(value, *names)
        if found:
            return found
    return None


@pytest.fixture
def qonto_credentials(fresh_sandbox):
    response = requests.get(fresh_sandbox.url + "/sandbox/qonto", timeout=10)
    if response.status_code == 404:
        pytest.skip("the sandbox has no Qonto part yet")
    response.raise_for_status()
    data = response.json()
    login = _find(data, "login", "slug", "organization_slug")
    secret = _find(data, "secret_key", "secret", "api_key")
    if not login or not secret:
        pytest.fail(f"GET /sandbox/qonto gave no login/secret: keys {sorted(data)}")
    return login, secret


@pytest.fixture
def qonto(fresh_sandbox, qonto_credentials):
    login, secret = qonto_credentials
    with QontoClient(login, secret, base_url=fresh_sandbox.url, timeout=10,
                     retry_base_delay=0.01) as client:
        yield client


def test_sandbox_organization(qonto, qonto_credentials):
    organization = qonto.organization()
    assert organization["bank_accounts"], "the sandbox organisation has no bank account"
    for account in organization["bank_accounts"]:
        assert account["id"] and type(account["balance_cents"]) is int
        assert isinstance(account["balance"], Decimal | int)


def test_sandbox_wrong_secret_is_refused(fresh_sandbox, qonto_credentials):
    login, _ = qonto_credentials
    with QontoClient(login, "not-the-secret", base_url=fresh_sandbox.url,
                     retry_base_delay=0.01) as client:
        with pytest.raises(QontoAuthError):
            client.organization()


@pytest.fixture
def expected_counts(fresh_sandbox, qonto_credentials):
    """{account id: {status: count}} from the sandbox's control plane (GET /sandbox/qonto)."""
    data = requests.get(fresh_sandbox.url + "/sandbox/qonto", timeout=10).json()
    return {a["id"]: a.get("transactions") or {} for a in data.get("bank_accounts") or []}


def test_sandbox_transactions_paging_and_statuses(qonto, expected_counts):
    accounts = {a["id"] for a in qonto.organization()["bank_accounts"]}
    assert set(expected_counts) <= accounts
    small = [a for a, counts in expected_counts.items() if counts.get("completed", 0) >= 3]
    if not small:
        pytest.skip("no sandbox account has enough transactions to page")
    account = min(small, key=lambda a: expected_counts[a]["completed"])
    total = expected_counts[account]["completed"]
    pages = list(qonto.iter_transactions(account, per_page=10))
    assert len(pages) == -(-total // 10) and all(len(page) <= 10 for page in pages)
    rows = [row for page in pages for row in page]
    assert len(rows) == total and len({row["id"] for row in rows}) == total
    assert {row["status"] for row in rows} == {"completed"}
    assert {row["bank_account_id"] for row in rows} == {account}
    for row in rows:
        assert type(row["amount_cents"]) is int
        assert Decimal(row["amount"]) * 100 == row["amount_cents"]
    stamps = [row["updated_at"] for row in rows]
    assert stamps == sorted(stamps)  # sort_by=updated_at:asc


def test_sandbox_statuses_are_walked_separately(qonto, expected_counts):
    account = max(expected_counts, key=lambda a: sum(expected_counts[a].values()))
    seen: dict[str, int] = {}
    for page in qonto.iter_transactions(
            account, statuses=("pending", "declined", "completed"), includes=()):
        for row in page:
            seen[row["status"]] = seen.get(row["status"], 0) + 1
    assert seen == {k: v for k, v in expected_counts[account].items() if v}


def test_sandbox_attachment_download(qonto):
    for account in qonto.organization()["bank_accounts"]:
        for page in qonto.iter_transactions(account["id"], statuses=("completed", "pending")):
            for row in page:
                if row.get("attachment_ids"):
                    break
            else:
                continue
            break
        else:
            continue
        break
    else:
        pytest.skip("no transaction with an attachment in the sandbox")
    attachment_id = row["attachment_ids"][0]
    embedded = {a["id"]: a for a in row.get("attachments") or []}
    assert attachment_id in embedded  # includes[]=attachments is the default
    fresh = qonto.attachment(attachment_id)
    assert [a["id"] for a in qonto.transaction_attachments(row["id"])] == row["attachment_ids"]
    assert qonto.transaction(row["id"])["id"] == row["id"]
    try:
        content, content_type = qonto.download(fresh["url"])
    except QontoAttachmentExpired:  # pragma: no cover - a just-issued link must work
        pytest.fail("a fresh attachment URL was refused")
    assert content and content_type == fresh["file_content_type"]
    assert str(len(content)) == str(fresh["file_size"])


def test_sandbox_expired_link_then_fresh_one(fresh_sandbox, qonto):
    account = qonto.organization()["bank_accounts"][0]["id"]
    row = next((row for page in qonto.iter_transactions(account) for row in page
                if row.get("attachment_ids")), None)
    if row is None:
        pytest.skip("no transaction with an attachment in the sandbox")
    attachment_id = row["attachment_ids"][0]
    stale = qonto.attachment(attachment_id)["url"]
    fresh_sandbox.admin("POST", "/sandbox/clock", advance_seconds=31 * 60)
    with pytest.raises(QontoAttachmentExpired):
        qonto.download(stale)
    content, _ = qonto.download(qonto.attachment(attachment_id)["url"])
    assert content
