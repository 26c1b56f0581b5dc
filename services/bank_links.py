"""Which Zoho Books bank account each Qonto account feeds.

Qonto's own rule: an existing Zoho bank account (active or inactive) whose bank name is
Qonto and whose account number ends with the same four digits as the IBAN; otherwise a
new one is created. Unlike Qonto's integration, the link is then kept by Zoho account id,
so renaming the account in Zoho later creates no duplicate.
"""

from integrations.zoho_books import ZohoNotFound
from models import QontoAccount, ZohoConnection
from services import audit, lists
from services.i18n import stored_message

BANK_NAME = "Qonto"


def ensure_link(zoho, account: QontoAccount) -> str:
    """Return the Zoho account id to push to, matching or creating it when needed."""
    if account.zoho_account_id:
        try:
            found = zoho.get(f"/bankaccounts/{account.zoho_account_id}")["bankaccount"]
        except ZohoNotFound:
            _forget_deleted_link(account)
        else:
            _remember(account, found, account.link_origin or "matched", quiet=True)
            return account.zoho_account_id
    match = _find_match(zoho, account)
    if match:
        _remember(account, match, "matched")
    else:
        created = zoho.post("/bankaccounts", json={
            "account_name": account.name or f"Qonto {account.iban_last4}",
            "account_type": "bank",
            "bank_name": BANK_NAME,
            "account_number": account.iban.replace(" ", ""),
            "currency_code": account.currency,
        })["bankaccount"]
        _remember(account, created, "created")
    return account.zoho_account_id


def _find_match(zoho, account: QontoAccount) -> dict | None:
    last4 = account.iban_last4
    if not last4:
        return None
    for page in zoho.iter_pages("/bankaccounts", "bankaccounts",
                                params={"filter_by": "Status.All"}):
        for candidate in page:
            bank_name = (candidate.get("bank_name") or "").strip().lower()
            number = (candidate.get("account_number") or "").replace(" ", "")
            if bank_name == BANK_NAME.lower() and number.endswith(last4):
                return candidate
    return None


def _forget_deleted_link(account: QontoAccount) -> None:
    previous = account.zoho_account_name or account.zoho_account_id
    account.link_problem = stored_message(
        "The Zoho Books account “%(account)s” this Qonto account was linked to no longer "
        "exists; Bookbridge matched or created another.", account=previous)
    audit.record("bank.link_lost", actor="worker", subject=account.name,
                 before={"zoho_account_id": account.zoho_account_id}, detail=account.link_problem)
    account.zoho_account_id = None
    account.save()


def _remember(account: QontoAccount, zoho_account: dict, origin: str, quiet=False) -> None:
    changed = account.zoho_account_id != zoho_account["account_id"]
    account.zoho_account_id = zoho_account["account_id"]
    account.zoho_account_name = zoho_account.get("account_name", "")
    account.link_origin = origin
    if changed:
        account.link_problem = account.link_problem if not quiet else ""
    account.save()
    if changed:
        # "Paid from" and the Connections counts show the account now, not after a refresh.
        lists.remember("bank_accounts", ZohoConnection.current().organization_id,
                       {"currency_code": account.currency, **zoho_account})
        audit.record(f"bank.link_{origin}", actor="worker", subject=account.name,
                     after={"zoho_account_id": account.zoho_account_id,
                            "zoho_account_name": account.zoho_account_name},
                     zoho_id=account.zoho_account_id)
