"""The Qonto connection: checked key, consent, accounts, disconnect."""

import logging

from flask_babel import gettext as _

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
)
from models import QontoAccount, QontoConnection, QontoStatus, db, utcnow
from services import alerts, audit, bank_schedule, i18n, text_limits
from services.i18n import stored_message
from services.secrets_box import SecretBox

log = logging.getLogger(__name__)

# What the consent step says is shared; shown on the page (in the reader's language) and
# kept in the audit row (as stored messages: the consent as it was given, readable in either).
SHARED_WITH_ZOHO = (
    stored_message("the name, IBAN and currency of each Qonto account"),
    stored_message("every completed transaction: date, amount and currency (and the original "
                   "amount for foreign-currency payments), counterparty, label, note and "
                   "reference"),
    stored_message("the receipts attached to those transactions in Qonto"),
)


class BankError(Exception):
    """A user-facing reason why a bank action did not happen (a stored message)."""


# What each Qonto error means for the admin, as a stored message read in their language.
# integrations/ knows no Flask, so its `user_message` stays English (logs, the command line);
# these say the same (tests/test_bank_sync.py checks that they do).
QONTO_REASONS = {
    QontoAuthError: stored_message(
        "Qonto refused the login or secret key. An admin should copy them again from Qonto "
        "(Settings > Integrations and Partnerships > API key) on the Connections page."),
    QontoForbidden: stored_message(
        "Qonto says this API key may not read this data. Check in Qonto that the key "
        "belongs to an owner or admin of the organisation, then try again."),
    QontoNotFound: stored_message(
        "Qonto says this item does not exist (it may have been deleted, or the bank account "
        "was closed). Refresh the list of Qonto accounts and try again."),
    QontoRateLimited: stored_message(
        "Qonto is limiting how fast Bookbridge may call it; the sync will continue later "
        "by itself."),
    QontoUnavailable: stored_message(
        "Qonto is not answering properly right now (it may be down or under maintenance); "
        "the sync will try again later."),
    QontoAttachmentExpired: stored_message(
        "The download link of a Qonto receipt had expired; Bookbridge asks Qonto for a "
        "new one."),
    QontoError: stored_message("Qonto refused the request."),
}


def reason(error: QontoError) -> str:
    """What a Qonto error means for the admin, as a stored message (Qonto's own detail,
    when it gives one that matters, kept as Qonto wrote it)."""
    if isinstance(error, QontoInvalidRequest):
        return stored_message(
            "Qonto rejected Bookbridge's request: %(detail)s. This is usually a bug in "
            "Bookbridge or a date range Qonto does not accept; please report it.",
            detail=error.detail)
    for kind in type(error).__mro__:
        if kind in QONTO_REASONS:
            return QONTO_REASONS[kind]
    return QONTO_REASONS[QontoError]


def client(config, connection: QontoConnection | None = None) -> QontoClient:
    connection = connection or QontoConnection.current()
    secret = SecretBox(config["ENCRYPTION_KEY"]).open(connection.secret_key)
    if not secret:
        raise BankError(stored_message("Qonto is not connected. An admin can connect it on the "
                                       "Connections page."))
    return QontoClient(connection.login, secret, base_url=config["QONTO_API_URL"],
                       retry_base_delay=config.get("QONTO_RETRY_DELAY", 1.0))


def connect(config, user, login: str, secret_key: str, consented: bool) -> QontoConnection:
    """Check the key with Qonto, then store it (encrypted) with the accounts it reaches."""
    login, secret_key = (login or "").strip(), (secret_key or "").strip()
    if not login or not secret_key:
        raise BankError(stored_message("Enter the organisation’s login and its secret key."))
    too_long = (text_limits.problem(_("The login"), login, text_limits.CREDENTIAL)
                or text_limits.problem(_("The secret key"), secret_key, text_limits.CREDENTIAL))
    if too_long:
        raise BankError(stored_message("%(problem)s Copy them again from Qonto; nothing was "
                                       "saved.", problem=too_long))
    if not consented:
        raise BankError(stored_message("Tick the consent box: Bookbridge shares nothing with "
                                       "Zoho Books without it."))
    try:
        organization = QontoClient(login, secret_key,
                                   base_url=config["QONTO_API_URL"]).organization()
    except QontoAuthError:
        raise BankError(stored_message(
            "Qonto refused this login and secret key, so nothing was saved. Copy them again "
            "from Qonto: Settings, Integrations and partnerships, API key.")) from None
    except QontoError as error:
        raise BankError(stored_message("%(reason)s Nothing was saved.",
                                       reason=reason(error))) from None
    connection = QontoConnection.current()
    box = SecretBox(config["ENCRYPTION_KEY"])
    with db.atomic():
        connection.status = QontoStatus.CONNECTED
        connection.login = login
        connection.secret_key = box.seal(secret_key)
        connection.organization_uuid = organization.get("id", "")
        connection.organization_name = organization.get("name") or organization.get("slug", "")
        connection.consented_by = user
        connection.consented_at = utcnow()
        connection.problem = ""
        connection.next_sync_at = bank_schedule.next_run(
            connection.sync_time, bank_schedule.time_zone(config), utcnow())
        connection.save()
        accounts = store_accounts(organization.get("bank_accounts", []))
        alerts.connection_restored("qonto")
    with i18n.in_language("en"):  # the audit trail keeps the consent as it was worded
        consent = [i18n.in_words(item) for item in SHARED_WITH_ZOHO]
    audit.record("qonto.connect", user=user, subject=connection.organization_name,
                 after={"login": login, "accounts": [a.name for a in accounts],
                        "consent": consent})
    return connection


def store_accounts(bank_accounts: list[dict]) -> list[QontoAccount]:
    """Create or update the local accounts; a new one starts its history today."""
    stored = []
    for account in bank_accounts:
        row = QontoAccount.get_or_none(QontoAccount.qonto_id == account["id"])
        if row is None:
            row = QontoAccount(qonto_id=account["id"])
        row.name = account.get("name") or account.get("slug", "")
        row.iban = account.get("iban") or ""
        row.currency = account.get("currency") or "EUR"
        row.status = account.get("status") or "active"
        row.is_external = bool(account.get("is_external_account"))
        row.save()
        stored.append(row)
    return stored


def disconnect(user) -> None:
    """Stop syncing and delete the key; history and account links stay for a later connect."""
    connection = QontoConnection.current()
    before = {"status": connection.status.value, "login": connection.login}
    connection.status = QontoStatus.DISCONNECTED
    connection.secret_key = None
    connection.next_sync_at = None
    connection.problem = ""
    connection.save()
    alerts.connection_restored("qonto")  # an admin's choice, not a problem to mail
    audit.record("qonto.disconnect", user=user, subject=connection.organization_name,
                 before=before, after={"status": connection.status.value})


def mark_broken(reason: str) -> None:
    connection = QontoConnection.current()
    if connection.status is not QontoStatus.CONNECTED:
        return
    connection.status = QontoStatus.BROKEN
    connection.problem = reason
    connection.save()
    audit.record("qonto.broken", actor="worker", subject=connection.organization_name,
                 detail=reason)
    log.warning("qonto connection marked broken")
    alerts.connection_needs_reconnect("qonto", reason)


def set_sync_time(config, user, value: str) -> None:
    bank_schedule.parse_time(value)
    connection = QontoConnection.current()
    before = connection.sync_time
    connection.sync_time = value.strip()
    if connection.is_connected:
        connection.next_sync_at = bank_schedule.next_run(
            connection.sync_time, bank_schedule.time_zone(config), utcnow())
    connection.save()
    audit.record("settings.update", user=user, subject="Daily bank sync time",
                 before={"sync_time": before}, after={"sync_time": connection.sync_time})


def set_account_options(user, account: QontoAccount, *, included: bool,
                        zoho_account_id: str | None, zoho_account_name: str = "") -> None:
    """Leave an account out, or link it to a chosen Zoho bank account ("" = match or create)."""
    before = {"included": account.included, "zoho_account_id": account.zoho_account_id}
    account.included = included
    if zoho_account_id != account.zoho_account_id:
        account.zoho_account_id = zoho_account_id or None
        account.zoho_account_name = zoho_account_name if zoho_account_id else ""
        account.link_origin = "chosen" if zoho_account_id else ""
        account.link_problem = ""
    account.save()
    after = {"included": account.included, "zoho_account_id": account.zoho_account_id}
    if before != after:
        audit.record("bank.account_update", user=user, subject=account.name, before=before,
                     after=after)
