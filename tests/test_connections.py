"""The Connections page against the sandbox over real HTTP: connect, reconnect, disconnect."""

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from models import (
    AuditEvent,
    ConnectionSettings,
    ConnectionStatus,
    PendingAuthorization,
    ZohoConnection,
    ZohoContact,
    ZohoTax,
    db,
)
from services.secrets_box import SecretBox
from tests.conftest import csrf_token
from tests.zoho_flow import answer_consent, connect, local_path, start_consent


def _tamper(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return f"{parts.path}?{urlencode(query)}"


def test_connect_shows_organisation_and_refreshes_lists(client, auth, admin):
    auth.login()
    response = connect(client, "Atelier Lumière SAS")
    assert response.status_code == 303
    page = client.get("/connections/").text
    assert "Atelier Lumière SAS" in page
    assert "Connected" in page and "Europe" in page
    assert "admin@example.com" in page
    assert "Refresh complete" in page
    connection = ZohoConnection.current()
    assert connection.status is ConnectionStatus.CONNECTED
    assert connection.organization_id.isdigit() and len(connection.organization_id) > 15
    assert ZohoTax.usable(connection.organization_id).count() >= 5
    assert AuditEvent.get(AuditEvent.action == "zoho.connect").user_id == admin.id


def test_tokens_are_encrypted_at_rest(app, client, auth, admin):
    auth.login()
    connect(client)
    connection = ZohoConnection.current()
    box = SecretBox(app.config["ENCRYPTION_KEY"])
    refresh_token = box.open(connection.refresh_token)
    access_token = box.open(connection.access_token)
    if app.config.get("DATABASE_URL"):  # PostgreSQL: what its rows hold, as text
        rows = db.execute_sql("SELECT t::text FROM zoho_connection AS t").fetchall()
        raw = "".join(row for (row,) in rows).encode()
        assert connection.organization_id.encode() in raw  # the rows are really there
    else:
        raw = Path(app.config["DATABASE"]).read_bytes()
        wal = Path(app.config["DATABASE"] + "-wal")
        raw += wal.read_bytes() if wal.exists() else b""
    assert refresh_token.encode() not in raw
    assert access_token.encode() not in raw
    assert refresh_token not in client.get("/connections/").text


def test_declined_consent_says_so(client, auth, admin):
    auth.login()
    callback = answer_consent(start_consent(client), decision="reject")
    page = client.get(local_path(callback), follow_redirects=True).text
    assert "Consent was declined" in page
    assert not ZohoConnection.current().is_connected


def test_tampered_state_is_refused_and_nothing_is_stored(client, auth, admin):
    auth.login()
    callback = answer_consent(start_consent(client))
    page = client.get(_tamper(callback, state="forged"), follow_redirects=True).text
    assert "does not match the consent you started" in page
    assert PendingAuthorization.select().count() == 0


def test_replayed_callback_is_refused(client, auth, admin):
    auth.login()
    callback = answer_consent(start_consent(client))
    assert client.get(local_path(callback)).status_code == 302
    replay = client.get(local_path(callback), follow_redirects=True).text
    assert "already used" in replay


def test_missing_code_is_explained(client, auth, admin):
    auth.login()
    callback = answer_consent(start_consent(client))
    page = client.get(_tamper(callback, code=None), follow_redirects=True).text
    assert "no authorisation code" in page


def test_foreign_accounts_server_is_never_trusted(client, auth, admin):
    auth.login()
    callback = answer_consent(start_consent(client))
    page = client.get(_tamper(callback, **{"accounts-server": "https://evil.example"}),
                      follow_redirects=True).text
    assert "unknown Zoho accounts server" in page
    assert not ZohoConnection.current().is_connected


def test_unknown_organisation_is_refused(client, auth, admin):
    auth.login()
    callback = answer_consent(start_consent(client))
    picker = client.get(local_path(callback)).location
    page = client.post(picker, data={"organization_id": "999999999999999999",
                                     "csrf_token": csrf_token(client, picker)},
                       follow_redirects=True).text
    assert "not one this Zoho login can reach" in page
    assert not ZohoConnection.current().is_connected


def test_reconnect_keeps_settings_and_switching_organisation_asks_first(client, auth, admin):
    auth.login()
    connect(client, "Atelier Lumière SAS")
    first = ZohoConnection.current()
    tax = ZohoTax.usable(first.organization_id).first()
    client.post("/connections/settings/", data={
        "warn_new_supplier": "y", "default_cost_tax_id": tax.zoho_id, "default_sales_tax_id": "",
        "csrf_token": csrf_token(client)})

    connect(client, "Atelier Lumière SAS")
    assert ConnectionSettings.current().default_cost_tax_id == tax.zoho_id

    asked = connect(client, "Lumière Export Ltd")
    assert asked.status_code == 200
    assert 'Switch to <span translate="no">Lumière Export Ltd</span>?' in asked.text
    assert "default taxes for costs and sales are cleared" in asked.text
    assert ZohoConnection.current().organization_id == first.organization_id

    connect(client, "Lumière Export Ltd", confirm_switch=True)
    switched = ZohoConnection.current()
    assert switched.organization_name == "Lumière Export Ltd"
    assert ConnectionSettings.current().default_cost_tax_id is None
    # The first organisation's cached lists are kept aside, not deleted.
    assert ZohoTax.select().where(ZohoTax.organization_id == first.organization_id).count() > 0


def test_disconnect_revokes_at_zoho_and_keeps_the_rest(app, client, auth, admin, sandbox):
    auth.login()
    connect(client)
    connection = ZohoConnection.current()
    refresh_token = SecretBox(app.config["ENCRYPTION_KEY"]).open(connection.refresh_token)
    contacts_before = ZohoContact.select().count()

    response = client.post("/connections/zoho/disconnect",
                           data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "Zoho Books is disconnected" in response.text

    refreshed = requests.post(f"{sandbox.url}/oauth/v2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}, timeout=10)
    assert refreshed.json().get("error") == "invalid_code"
    connection = ZohoConnection.current()
    assert connection.refresh_token is None and connection.access_token is None
    assert connection.status is ConnectionStatus.DISCONNECTED
    assert ZohoContact.select().count() == contacts_before

    connect(client)
    assert ZohoConnection.current().organization_id == connection.organization_id


def test_bookkeeper_sees_read_only_page_and_gets_403_on_admin_actions(client, auth, admin,
                                                                       bookkeeper):
    auth.login()
    connect(client)
    auth.logout()
    auth.login("books@example.com")
    page = client.get("/connections/").text
    assert "Read-only" in page
    assert 'id="disconnect-button"' not in page and 'id="settings-save"' not in page
    token = csrf_token(client)
    for path in ("/connections/zoho/connect", "/connections/zoho/disconnect",
                 "/connections/zoho/refresh", "/connections/settings/"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert ZohoConnection.current().is_connected


def test_zoho_down_during_connect_says_what_to_do(client, auth, admin, sandbox):
    auth.login()
    callback = answer_consent(start_consent(client))
    sandbox.admin("POST", "/sandbox/faults", error_rate=1.0)
    try:
        page = client.get(local_path(callback), follow_redirects=True)
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    assert page.status_code == 200
    assert "not answering" in page.text
    assert "Traceback" not in page.text
    assert not ZohoConnection.current().is_connected


def test_wrong_client_secret_is_explained(app, client, auth, admin):
    app.config["ZOHO_CLIENT_SECRET"] = "not-the-secret"
    auth.login()
    callback = answer_consent(start_consent(client))
    page = client.get(local_path(callback), follow_redirects=True).text
    assert "client id, client secret or redirect URI" in page


def test_not_configured_server_explains_the_settings(app, client, auth, admin):
    app.config["ZOHO_CLIENT_ID"] = ""
    auth.login()
    page = client.get("/connections/").text
    assert "BOOKBRIDGE_ZOHO_CLIENT_ID" in page
    response = client.post("/connections/zoho/connect", data={
        "data_centre": "eu", "csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "not configured on this server" in response.text


# -- read in French (issue 11 item 2) ------------------------------------------------------------

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def _french_page_problems(html: str) -> list[str]:
    from services import i18n
    from tests.translation_checks import english_in, own_text

    problems = english_in(own_text(html))
    if i18n.STORED_PREFIX in html:
        problems.append("a stored message shown untranslated")
    return problems


def test_the_connections_page_reads_in_french_after_a_refresh(client, connected):
    import re

    from models import ZohoQuota
    from models.base import utcnow

    client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)})
    ZohoQuota.update(daily_limit=1000, remaining=994, read_at=utcnow(),
                     resets_at=utcnow() + __import__("datetime").timedelta(hours=14)).where(
        ZohoQuota.organization_id == connected.organization_id).execute()

    page = client.get("/connections/", headers=FRENCH).text
    assert '<html lang="fr">' in page
    assert "Logiciel comptable" in page and "Actualiser les données d’intégration" in page
    banner = re.search(r'id="refresh-job".*?</div>', page, re.S)[0]
    assert "Actualisation terminée." in banner and "Terminé le" in banner
    # The numbers as French writes them, in one sentence with the quota's own words.
    assert ("Quota quotidien Zoho\u00a0: 994 sur 1\u202f000 restants, remise à zéro dans 14 h"
            in page)
    cached = re.search(r'id="cached-lists">(.*?)</dd>', page, re.S)[1]
    assert "comptes comptables" in cached and "taxes" in cached
    assert not _french_page_problems(page)

    english = client.get("/connections/").text
    assert "Zoho daily quota: 994 of 1,000 left, resets in 14 h" in english
    assert "Refresh complete." in english


def test_a_paused_refresh_and_a_failed_one_are_told_in_french(client, connected):
    import datetime
    import re

    from models import Job, JobStatus
    from models.base import utcnow
    from services import zoho_quota
    from services.i18n import stored_message

    pause = zoho_quota.QuotaPause(connected.organization_id,
                                  utcnow() + datetime.timedelta(hours=14), "reserve", 20)
    job = Job.create(kind="refresh_lists", status=JobStatus.SUCCEEDED, message=pause.message(),
                     finished_at=utcnow(), percent=100, paused_until=pause.resumes_at)
    page = client.get("/connections/", headers=FRENCH).text
    banner = re.search(r'id="refresh-job".*?</div>', page, re.S)[0]
    assert "banner-warning" in banner
    assert "<strong>En pause\u00a0:</strong>" in banner
    assert "réserve de 20\u00a0%, gardée pour la publication" in banner
    assert "Reprise après la remise à zéro, dans 14 h." in banner
    assert not _french_page_problems(page)
    english = client.get("/connections/").text
    assert ("<strong>Paused:</strong> Zoho&#39;s daily quota is down to its 20 % reserve"
            in english)

    Job.update(status=JobStatus.FAILED, message="", error=stored_message(
        "%(reason)s Nothing was lost; try again later.", reason=stored_message(
            "Zoho Books is not answering properly right now; the run will try again."))).where(
        Job.id == job.id).execute()
    page = client.get("/connections/", headers=FRENCH).text
    banner = re.search(r'id="refresh-job".*?</div>', page, re.S)[0]
    assert "L’actualisation a échoué." in banner
    assert ("Zoho Books ne répond pas correctement pour le moment\u00a0; le traitement "
            "réessaiera. Rien n’a été perdu\u00a0; réessayez plus tard.") in banner


def test_a_connection_refused_by_zoho_is_shown_in_french_everywhere(client, connected, sandbox):
    sandbox.admin("POST", "/sandbox/revoke-tokens")
    client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)})
    assert ZohoConnection.current().status is ConnectionStatus.NEEDS_RECONNECT

    page = client.get("/documents/", headers=FRENCH).text
    # The problem is kept on the connection as a stored message: read in French.
    assert "Zoho a refusé l’autorisation enregistrée (elle a été révoquée ou a expiré)." in page
    assert "revoked or has expired" not in page
    assert "revoked or has expired" in client.get("/documents/").text

    flashed = client.post("/connections/zoho/refresh", headers=FRENCH, follow_redirects=True,
                          data={"csrf_token": csrf_token(client)}).text
    assert "Connectez Zoho Books avant d’actualiser ses listes." in flashed


def test_the_settings_and_intake_pages_read_in_french(client, connected):
    for path in ("/connections/settings/", "/intake/"):
        page = client.get(path, headers=FRENCH).text
        assert '<html lang="fr">' in page, path
        assert not _french_page_problems(page), (path, _french_page_problems(page))
    settings = client.get("/connections/settings/", headers=FRENCH).text
    assert "Alertes par e-mail" in settings and "Publier les documents automatiquement" in settings
    intake = client.get("/intake/", headers=FRENCH).text
    assert "Dossier surveillé" in intake and "Vérifier maintenant" in intake
