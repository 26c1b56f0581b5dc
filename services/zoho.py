"""The Zoho Books connection: consent, organisation choice, tokens, disconnect."""

import datetime
import logging
import time

from integrations.zoho_accounts import (
    DATA_CENTRES,
    RefreshThrottled,
    TokenRevoked,
    ZohoAccounts,
    ZohoAuthError,
)
from integrations.zoho_books import ZohoBooksClient
from models import (
    ConnectionSettings,
    ConnectionStatus,
    PendingAuthorization,
    ZohoConnection,
    db,
    utcnow,
)
from services import alerts, audit, zoho_quota
from services.i18n import stored_message
from services.rate_budget import SharedBudget
from services.secrets_box import SecretBox, SecretUnreadable

log = logging.getLogger(__name__)

# Zoho allows 10 access-token refreshes per 10 minutes per refresh token.
REFRESH_WINDOW = datetime.timedelta(minutes=10)
REFRESHES_PER_WINDOW = 10
# Refresh a little before expiry, so a token does not die in the middle of a call.
EXPIRY_MARGIN = datetime.timedelta(minutes=2)
LEASE = datetime.timedelta(seconds=30)


class ConnectError(Exception):
    """A step of connecting failed; the message (a stored message, services.i18n) says what
    happened and what to do."""


class OrganisationSwitch(Exception):
    """Reconnecting to another organisation needs the admin's confirmation first."""

    def __init__(self, current_name: str, new_name: str):
        self.current_name = current_name
        self.new_name = new_name
        super().__init__(f"switch from {current_name} to {new_name}")


def is_configured(config) -> bool:
    return bool(config.get("ZOHO_CLIENT_ID") and config.get("ZOHO_CLIENT_SECRET"))


def is_sandbox(config) -> bool:
    return bool(config.get("ZOHO_ACCOUNTS_URL"))


def accounts_client(config) -> ZohoAccounts:
    return ZohoAccounts(
        config["ZOHO_CLIENT_ID"],
        config["ZOHO_CLIENT_SECRET"],
        config["ZOHO_REDIRECT_URI"],
        accounts_server_override=config.get("ZOHO_ACCOUNTS_URL") or None,
    )


def consent_url(config, data_centre: str, state: str) -> str:
    if data_centre not in DATA_CENTRES:
        raise ConnectError(stored_message("Pick the data centre your Zoho account lives in."))
    return accounts_client(config).authorize_url(data_centre, state)


# -- callback -------------------------------------------------------------------------------

def accept_callback(config, user, params, expected_state: str | None) -> PendingAuthorization:
    """Check Zoho's redirect, exchange the code and list the organisations it can reach."""
    if params.get("error"):
        if params.get("error") == "access_denied":
            raise ConnectError(stored_message("Consent was declined in Zoho, so nothing was "
                                              "connected. Click Connect to try again."))
        raise ConnectError(stored_message("Zoho did not grant access. Click Connect to try "
                                          "again."))
    if not expected_state or params.get("state") != expected_state:
        raise ConnectError(stored_message(
            "This answer from Zoho does not match the consent you started here, or it was "
            "already used. Nothing was changed; click Connect to start again."))
    if not params.get("code"):
        raise ConnectError(stored_message(
            "Zoho's answer carried no authorisation code. Nothing was changed; click Connect "
            "to start again."))
    client = accounts_client(config)
    data_centre = params.get("location") or ""
    try:
        accounts_server = client.trusted_accounts_server(
            params.get("accounts-server") or _default_accounts_server(config, data_centre))
        tokens = client.exchange_code(accounts_server, params["code"])
    except ZohoAuthError as error:
        raise ConnectError(error.user_message) from None
    if not tokens.refresh_token:
        raise ConnectError(stored_message(
            "Zoho returned no refresh token, so the connection could not last. Click Connect "
            "again and accept the consent screen."))
    organizations = _list_organizations(tokens.api_domain, tokens.access_token)
    box = SecretBox(config["ENCRYPTION_KEY"])
    with db.atomic():
        PendingAuthorization.delete().where(PendingAuthorization.user == user).execute()
        return PendingAuthorization.create(
            user=user,
            data_centre=data_centre if data_centre in DATA_CENTRES else "",
            accounts_server=accounts_server,
            api_domain=tokens.api_domain,
            refresh_token=box.seal(tokens.refresh_token),
            access_token=box.seal(tokens.access_token),
            access_token_expires_at=_naive_utc(tokens.expires_at),
            organizations=organizations,
        )


def _default_accounts_server(config, data_centre: str) -> str:
    if config.get("ZOHO_ACCOUNTS_URL"):
        return config["ZOHO_ACCOUNTS_URL"]
    centre = DATA_CENTRES.get(data_centre) or DATA_CENTRES["us"]
    return centre.accounts_server


def _list_organizations(api_domain: str, access_token: str) -> list[dict]:
    from integrations.zoho_books import ZohoApiError

    client = ZohoBooksClient(api_domain, None, _FixedToken(access_token))
    try:
        organizations = client.list_organizations()
    except ZohoApiError as error:
        raise ConnectError(error.user_message) from None
    if not organizations:
        raise ConnectError(stored_message(
            "This Zoho account has no Zoho Books organisation. Create one in Zoho Books, then "
            "click Connect again."))
    return [
        {
            "organization_id": str(org["organization_id"]),
            "name": org.get("name", ""),
            "currency_code": org.get("currency_code", ""),
            "time_zone": org.get("time_zone", ""),
            "is_default_org": bool(org.get("is_default_org")),
        }
        for org in organizations
    ]


class _FixedToken:
    """Token provider for the minutes between consent and choosing an organisation."""

    def __init__(self, token: str):
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refreshed_access_token(self) -> str:
        return self.token


# -- finishing, disconnecting ---------------------------------------------------------------

def finish(config, pending: PendingAuthorization, organization_id: str, user, *,
           confirmed_switch: bool = False) -> ZohoConnection:
    """Make the chosen organisation the connection's, keeping settings, lists and history."""
    chosen = next((o for o in pending.organizations
                   if o["organization_id"] == organization_id), None)
    if chosen is None:
        raise ConnectError(stored_message("That organisation is not one this Zoho login can "
                                          "reach. Pick one from the list."))
    connection = ZohoConnection.current()
    switching = bool(connection.organization_id) and connection.organization_id != organization_id
    if switching and not confirmed_switch:
        raise OrganisationSwitch(connection.organization_name, chosen["name"])
    old_refresh_token = _open(config, connection.refresh_token)
    before = _describe(connection)
    with db.atomic():
        _apply_authorization(connection, pending, chosen, user)
        if switching:
            _forget_organisation_specific_settings(user)
        pending.delete_instance()
    audit.record("zoho.reconnect" if before["organization_id"] else "zoho.connect", user=user,
                 subject=chosen["name"], before=before, after=_describe(connection))
    if old_refresh_token:
        # Each consent mints a refresh token and Zoho keeps 20 per user: release the old one.
        _revoke_quietly(config, connection.accounts_server, old_refresh_token)
    return connection


def _apply_authorization(connection, pending, organisation, user) -> None:
    connection.status = ConnectionStatus.CONNECTED
    connection.data_centre = pending.data_centre
    connection.accounts_server = pending.accounts_server
    connection.api_domain = pending.api_domain
    connection.refresh_token = pending.refresh_token
    connection.access_token = pending.access_token
    connection.access_token_expires_at = pending.access_token_expires_at
    connection.token_refreshes = []
    connection.token_lease_until = None
    connection.organization_id = organisation["organization_id"]
    connection.organization_name = organisation["name"]
    connection.currency_code = organisation["currency_code"]
    connection.time_zone = organisation["time_zone"]
    connection.connected_by = user
    connection.connected_at = utcnow()
    connection.problem = ""
    connection.save()
    alerts.connection_restored("zoho")


def _forget_organisation_specific_settings(user) -> None:
    """Tax ids belong to one organisation: clear the defaults when the organisation changes."""
    settings = ConnectionSettings.current()
    before = {"default_cost_tax_id": settings.default_cost_tax_id,
              "default_sales_tax_id": settings.default_sales_tax_id}
    if any(before.values()):
        settings.default_cost_tax_id = None
        settings.default_sales_tax_id = None
        settings.save()
        audit.record("settings.update", user=user,
                     subject="Default taxes cleared (new organisation)", before=before,
                     after={"default_cost_tax_id": None, "default_sales_tax_id": None})


def disconnect(config, user) -> bool:
    """Revoke at Zoho and delete the tokens; keep everything else. True if Zoho confirmed."""
    connection = ZohoConnection.current()
    refresh_token = _open(config, connection.refresh_token)
    revoked = True
    if refresh_token:
        revoked = _revoke_quietly(config, connection.accounts_server, refresh_token)
    before = _describe(connection)
    connection.status = ConnectionStatus.DISCONNECTED
    connection.refresh_token = None
    connection.access_token = None
    connection.access_token_expires_at = None
    connection.problem = ""
    connection.save()
    alerts.connection_restored("zoho")  # an admin's choice, not a problem to mail
    audit.record("zoho.disconnect", user=user, subject=connection.organization_name,
                 before=before, after=_describe(connection),
                 detail="" if revoked else stored_message(
                     "Zoho could not be reached to revoke the token."))
    return revoked


def _revoke_quietly(config, accounts_server: str, token: str) -> bool:
    try:
        accounts_client(config).revoke(accounts_server, token)
        return True
    except ZohoAuthError as error:
        log.warning("zoho revoke failed: %s", type(error).__name__)
        return False


def _describe(connection: ZohoConnection) -> dict:
    return {
        "status": connection.status.value,
        "organization_id": connection.organization_id,
        "organization_name": connection.organization_name,
        "data_centre": connection.data_centre,
    }


def _open(config, sealed):
    """A stored token, or None when it cannot be read (the encryption key changed)."""
    try:
        return SecretBox(config["ENCRYPTION_KEY"]).open(sealed)
    except SecretUnreadable:
        log.warning("a stored Zoho token could not be decrypted; treating it as absent")
        return None


def _naive_utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def mark_needs_reconnect(connection: ZohoConnection, reason: str) -> None:
    """`reason` (a stored message) is kept as the connection's problem, shown in every
    page's banner."""
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        return
    before = _describe(connection)
    ZohoConnection.update(status=ConnectionStatus.NEEDS_RECONNECT, problem=reason,
                          access_token=None).where(ZohoConnection.id == connection.id).execute()
    connection.status = ConnectionStatus.NEEDS_RECONNECT
    audit.record("zoho.needs_reconnect", actor="system", subject=connection.organization_name,
                 before=before, after=_describe(connection), detail=reason)
    alerts.connection_needs_reconnect("zoho", reason)


# -- tokens -------------------------------------------------------------------------------

class StoredTokens:
    """Token provider backed by the connection row, safe across processes.

    The access token is cached (encrypted) until shortly before it expires. Refreshing
    takes a lease on the row so only one process calls Zoho; the others wait and read the
    new token. Refreshes are counted so we never exceed Zoho's 10 in 10 minutes.
    """

    def __init__(self, config, connection_id: int, sleep=time.sleep):
        self.config = config
        self.connection_id = connection_id
        self.box = SecretBox(config["ENCRYPTION_KEY"])
        self.sleep = sleep

    def access_token(self) -> str:
        return self._valid_token(stale=None)

    def refreshed_access_token(self) -> str:
        connection = self._load()
        return self._valid_token(stale=connection.access_token or "")

    def _load(self) -> ZohoConnection:
        return ZohoConnection.get_by_id(self.connection_id)

    def _valid_token(self, stale: str | None) -> str:
        deadline = time.monotonic() + LEASE.total_seconds()
        while True:
            connection = self._load()
            if connection.status is not ConnectionStatus.CONNECTED:
                raise TokenRevoked(stored_message("The Zoho Books connection is not active."))
            if self._usable(connection, stale):
                try:
                    return self.box.open(connection.access_token)
                except SecretUnreadable:
                    stale = connection.access_token  # unreadable: refresh it below
                    continue
            if self._take_lease(connection):
                return self._refresh(connection)
            if time.monotonic() > deadline:
                raise RefreshThrottled(stored_message(
                    "Another process is refreshing the Zoho token."))
            self.sleep(0.2)

    @staticmethod
    def _usable(connection, stale) -> bool:
        if not connection.access_token or connection.access_token == stale:
            return False
        expires = connection.access_token_expires_at
        return expires is not None and expires - EXPIRY_MARGIN > utcnow()

    def _take_lease(self, connection) -> bool:
        now = utcnow()
        taken = (
            ZohoConnection.update(token_lease_until=now + LEASE)
            .where(
                ZohoConnection.id == connection.id,
                ZohoConnection.token_lease_until.is_null()
                | (ZohoConnection.token_lease_until < now),
            )
            .execute()
        )
        return taken == 1

    def _refresh(self, connection) -> str:
        try:
            recent = self._recent_refreshes(connection)
            if len(recent) >= REFRESHES_PER_WINDOW:
                raise RefreshThrottled(stored_message(
                    "Zoho's limit of 10 token refreshes in 10 minutes is reached; the run will "
                    "resume in a few minutes."))
            try:
                refresh_token = self.box.open(connection.refresh_token)
            except SecretUnreadable as error:
                mark_needs_reconnect(connection, str(error))
                raise TokenRevoked(str(error)) from None
            try:
                tokens = accounts_client(self.config).refresh(connection.accounts_server,
                                                              refresh_token)
            except TokenRevoked:
                mark_needs_reconnect(connection, stored_message(
                    "Zoho refused the saved authorisation (it was revoked or has expired). An "
                    "admin must reconnect."))
                raise
            recent.append(utcnow().isoformat())
            ZohoConnection.update(
                access_token=self.box.seal(tokens.access_token),
                access_token_expires_at=_naive_utc(tokens.expires_at),
                token_refreshes=recent,
            ).where(ZohoConnection.id == connection.id).execute()
            log.info("zoho access token refreshed")
            return tokens.access_token
        finally:
            ZohoConnection.update(token_lease_until=None).where(
                ZohoConnection.id == connection.id).execute()

    @staticmethod
    def _recent_refreshes(connection) -> list[str]:
        cutoff = utcnow() - REFRESH_WINDOW
        return [stamp for stamp in connection.token_refreshes or []
                if datetime.datetime.fromisoformat(stamp) > cutoff]


def web_link(config, record_type: str, record_id: str | None) -> str:
    """Where a bill, expense or invoice opens in Zoho Books' web app (in the demo, the
    sandbox's page of that record: it has no web app)."""
    if not record_id:
        return ""
    if is_sandbox(config):
        sandbox = config["ZOHO_ACCOUNTS_URL"].rstrip("/")
        return f"{sandbox}/sandbox/records/{record_type}/{record_id}"
    connection = ZohoConnection.current()
    domain = connection.accounts_server.replace("https://accounts.", "https://books.")
    return f"{domain}/app/{connection.organization_id}#/{record_type}s/{record_id}"


def books_client(config, connection: ZohoConnection | None = None, on_wait=None,
                 long_import: bool = False) -> ZohoBooksClient:
    """A Books client for the connected organisation, sharing the per-minute budget.

    A `long_import` client stops before spending the daily reserve kept for people
    (services.zoho_quota.QuotaPause)."""
    connection = connection or ZohoConnection.current()
    if not connection.is_connected:
        raise ConnectError(stored_message("Zoho Books is not connected. An admin can connect "
                                          "it on the Connections page."))
    budget = SharedBudget(connection.organization_id, config["ZOHO_CALLS_PER_MINUTE"],
                          on_wait=on_wait, max_wait=config["ZOHO_MAX_QUOTA_WAIT"],
                          keep_reserve=zoho_quota.reserve_percent(config) if long_import
                          else None)
    return ZohoBooksClient(connection.api_domain, connection.organization_id,
                           StoredTokens(config, connection.id), pacer=budget,
                           timeout=config["ZOHO_TIMEOUT"],
                           retry_base_delay=config.get("ZOHO_RETRY_DELAY", 0.5))
