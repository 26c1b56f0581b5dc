"""Helpers for bank-feed tests: connect Qonto, read what Zoho and Qonto hold."""

import datetime
from decimal import Decimal

import requests

from integrations.qonto import QontoClient
from models import QontoAccount
from tests.conftest import csrf_token
from tests.zoho_flow import zoho_as_user


def qonto_info(sandbox) -> dict:
    return requests.get(sandbox.url + "/sandbox/qonto", timeout=10).json()


def connect_qonto(client, sandbox, history_start: datetime.date | None = None, **overrides):
    info = qonto_info(sandbox)
    data = {"login": info["login"], "secret_key": info["secret_key"], "consent": "yes",
            "history_start": history_start.isoformat() if history_start else "",
            "csrf_token": csrf_token(client)}
    data.update(overrides)
    return client.post("/bank/qonto/connect", data=data, follow_redirects=True)


def sync_now(client):
    return client.post("/bank/sync", data={"csrf_token": csrf_token(client)},
                       follow_redirects=True)


def zoho_lines(sandbox, account: QontoAccount) -> list[dict]:
    zoho = zoho_as_user(sandbox)
    lines = []
    for page in zoho.iter_pages("/banktransactions", "banktransactions",
                                params={"account_id": account.zoho_account_id,
                                        "filter_by": "Status.All"}):
        lines.extend(page)
    return lines


def qonto_completed(sandbox, account: QontoAccount, since: datetime.date) -> list[dict]:
    info = qonto_info(sandbox)
    client = QontoClient(info["login"], info["secret_key"], base_url=sandbox.url)
    start = datetime.datetime.combine(since - datetime.timedelta(days=1), datetime.time(),
                                      tzinfo=datetime.UTC)
    found = []
    for page in client.iter_transactions(account.qonto_id, statuses=("completed",),
                                         settled_at_from=start, sort_by="settled_at:asc",
                                         includes=()):
        found.extend(page)
    return found


def signed_total(lines, amount_key="amount", side_key="debit_or_credit") -> Decimal:
    total = Decimal(0)
    for line in lines:
        amount = Decimal(str(line[amount_key]))
        total += amount if line[side_key] == "credit" else -amount
    return total
