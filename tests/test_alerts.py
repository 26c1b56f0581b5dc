"""E-mail alerts to admins, through a real SMTP server, driven the way an admin meets them:
a token revoked in Zoho, a Qonto key rotated, Qonto down for two syncs, a bad scan."""

import datetime
import logging
import os
import time

import pytest

import clock
from jobs.alerts import send_alert, send_alerts_left_behind
from jobs.bank import sync_bank
from jobs.intake import take_in_folder
from jobs.queue import huey
from models import (
    Alert,
    AuditEvent,
    ConnectionStatus,
    QontoConnection,
    QontoStatus,
    Role,
    User,
    ZohoConnection,
    utcnow,
)
from services import alerts, jobs
from tests.bank_flow import connect_qonto, qonto_info, sync_now
from tests.conftest import csrf_token
from tests.factories import make_user
from tests.smtp_server import SmtpServer, free_port
from tests.test_daily_quota import day_leaving, refresh, spent_today
from tests.zoho_flow import connect

SETTINGS = "/connections/settings/"
SMTP_PASSWORD = "p4ss for mail"


@pytest.fixture
def smtp(app):
    """A real SMTP server the app sends through."""
    server = SmtpServer().start()
    app.config.update(server.config())
    yield server
    server.stop()


@pytest.fixture
def admins(app, admin):
    """Two active admins who get mail; an inactive admin and a bookkeeper who do not."""
    make_user(email="second@example.com", role=Role.ADMIN)
    make_user(email="gone@example.com", role=Role.ADMIN)
    User.update(active=False).where(User.email == "gone@example.com").execute()
    make_user(email="books@example.com", role=Role.BOOKKEEPER)
    return ["admin@example.com", "second@example.com"]


def _revoke_zoho_and_refresh(client, sandbox):
    sandbox.admin("POST", "/sandbox/revoke-tokens")
    return client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)})


def _drop(folder, name, content):
    """A file as a scanner leaves it, finished a minute ago."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    then = time.time() - 60
    os.utime(path, (then, then))


def _retries_of_send_alert() -> list:
    """Take the scheduled retries of send_alert off the (in-memory) schedule."""
    due = huey.read_schedule(datetime.datetime(2100, 1, 1))
    return [task for task in due if task.name == send_alert.task_class.__name__]


# -- each kind mails once, and again after it cleared ------------------------------------------

def test_revoked_zoho_mails_every_admin_once_and_again_after_a_reconnect(
        client, connected, sandbox, smtp, admins):
    _revoke_zoho_and_refresh(client, sandbox)
    assert ZohoConnection.current().status is ConnectionStatus.NEEDS_RECONNECT
    assert len(smtp.mails) == 1
    mail = smtp.mails[0]
    assert sorted(mail.envelope_to) == admins
    assert mail.subject == "Bookbridge: Zoho Books needs reconnecting"
    assert mail.message["From"] == "bookbridge@example.com"
    assert "revoked or has expired" in mail.text
    assert "connect Zoho Books again" in mail.text
    assert "Open: http://localhost/connections/" in mail.text
    # The link opens the page where the admin reconnects.
    assert "Reconnect" in client.get("/connections/").text

    client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)})
    alerts.connection_needs_reconnect("zoho", "still refused")  # a repeat from elsewhere
    assert len(smtp.mails) == 1

    connect(client)  # the admin reconnects: the problem is over
    assert ZohoConnection.current().status is ConnectionStatus.CONNECTED
    _revoke_zoho_and_refresh(client, sandbox)
    assert len(smtp.mails) == 2
    assert smtp.mails[1].subject == "Bookbridge: Zoho Books needs reconnecting"


def test_rotated_qonto_key_mails_and_a_new_key_clears_it(client, connected, sandbox, smtp,
                                                          admins):
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)
    connect_qonto(client, sandbox)
    sandbox.admin("POST", "/sandbox/qonto/rotate-key")
    sync_now(client)
    assert QontoConnection.current().status is QontoStatus.BROKEN
    assert [mail.subject for mail in smtp.mails] == ["Bookbridge: Qonto needs reconnecting"]
    assert "Qonto refused the secret key" in smtp.mails[0].text

    connect_qonto(client, sandbox, secret_key=qonto_info(sandbox)["secret_key"])
    assert QontoConnection.current().is_connected
    assert not Alert.select().where(Alert.open_key.is_null(False)).exists()


def test_bank_sync_failing_twice_mails_once_and_a_success_resets_the_count(
        client, connected, sandbox, smtp, admins):
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)
    connect_qonto(client, sandbox)
    assert jobs.latest("bank_sync").status.value == "succeeded"

    def failed_sync():
        sync_now(client)  # Qonto is down: the run waits for Huey's retry...
        sync_bank.call_local(jobs.latest("bank_sync").id)  # ...which is the last one
        assert jobs.latest("bank_sync").status.value == "failed"

    sandbox.admin("POST", "/sandbox/faults", qonto_error_rate=1.0)
    try:
        failed_sync()
        assert smtp.mails == []  # one failure is not yet a problem
        failed_sync()
        assert [mail.subject for mail in smtp.mails] == [
            "Bookbridge: the bank sync failed twice in a row"]
        assert "Open: http://localhost/bank/" in smtp.mails[0].text
        assert "Bank sync history" in client.get("/bank/").text
        failed_sync()
        assert len(smtp.mails) == 1
        sandbox.admin("DELETE", "/sandbox/faults")
        sync_now(client)
        assert jobs.latest("bank_sync").status.value == "succeeded"
        sandbox.admin("POST", "/sandbox/faults", qonto_error_rate=1.0)
        failed_sync()
        assert len(smtp.mails) == 1  # a success in between: counting starts again
        failed_sync()
        assert len(smtp.mails) == 2
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")


def test_history_import_pausing_at_the_quota_reserve_mails_once(client, connected, sandbox,
                                                                smtp, admins):
    org = connected.organization_id
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000)
    refresh(client)  # the day's first quota reading
    day_leaving(sandbox, org, usable=6)
    connect_qonto(client, sandbox, history_start=clock.now().date() - datetime.timedelta(400))
    assert jobs.latest("bank_sync").paused_until is not None
    assert [mail.subject for mail in smtp.mails] == [
        "Bookbridge: Zoho's daily quota reserve is reached"]
    assert "down to its 20 % reserve" in smtp.mails[0].text
    assert "resume by themselves after Zoho's daily reset" in smtp.mails[0].text
    sync_now(client)  # paused again, the same day: no second mail
    assert jobs.latest("bank_sync").paused_until is not None and len(smtp.mails) == 1


def test_a_day_spent_during_a_bulk_publish_mails_that_the_calls_are_spent(
        client, connected, sandbox, smtp, admins):
    from tests.test_publish_requests import _publish_selected, _ready_bills

    bills = _ready_bills(client, connected)
    org = connected.organization_id
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", daily=spent_today(sandbox, org))
    _publish_selected(client, bills)
    assert [mail.subject for mail in smtp.mails] == [
        "Bookbridge: Zoho's daily API calls are all spent"]
    assert "the documents queued for publishing wait and resume" in smtp.mails[0].text
    assert "reserve" not in smtp.mails[0].text  # not the reserve's mail


def test_quota_reserve_is_mailed_once_until_the_reset(app, smtp, admins):
    opened = alerts.raise_problem(alerts.QUOTA_RESERVE, "20001", "Bookbridge: Zoho quota",
                                  "Long imports pause until the reset.", path="/connections/")
    assert opened is not None
    assert alerts.raise_problem(alerts.QUOTA_RESERVE, "20001", "again", "again") is None
    assert [mail.subject for mail in smtp.mails] == ["Bookbridge: Zoho quota"]
    assert alerts.close_problem(alerts.QUOTA_RESERVE, "20001")
    alerts.raise_problem(alerts.QUOTA_RESERVE, "20001", "Bookbridge: Zoho quota", "Next day.")
    assert len(smtp.mails) == 2


def test_rejected_scans_are_mailed_once_a_day_per_source(app, client, smtp, admins, tmp_path,
                                                         monkeypatch):
    inbox = tmp_path / "scanner"
    app.config["INBOX_DIR"] = str(inbox)
    _drop(inbox, "invoice.pdf", b"this is plain text, not a PDF")
    take_in_folder.call_local()
    assert len(smtp.mails) == 1
    mail = smtp.mails[0]
    assert mail.subject == "Bookbridge: the watched folder refused files"
    assert "invoice.pdf: " in mail.text and "not a PDF, JPEG, PNG or e-invoice XML" in mail.text
    assert "rejected/ folder" in mail.text and "Open: http://localhost/activity/" in mail.text

    _drop(inbox, "second.pdf", b"more text")
    take_in_folder.call_local()
    assert len(smtp.mails) == 1  # the same day: listed on the Activity page, not mailed
    assert AuditEvent.select().where(AuditEvent.action == "intake.rejected").count() == 2

    monkeypatch.setenv(clock.OFFSET_VARIABLE, str(clock.offset_seconds() + 86_400))
    _drop(inbox, "third.pdf", b"and more text")
    take_in_folder.call_local()
    assert len(smtp.mails) == 2
    assert "third.pdf" in smtp.mails[1].text and "invoice.pdf" not in smtp.mails[1].text


# -- an admin's choices ------------------------------------------------------------------------

def test_a_kind_turned_off_sends_nothing_and_the_others_still_mail(client, auth, admins, smtp,
                                                                   tmp_path, app):
    auth.login()
    page = client.get(SETTINGS).text
    assert "E-mail alerts" in page and "admin@example.com, second@example.com" in page
    response = client.post(SETTINGS + "alerts", data={
        "reconnect": "y", "sync_failing": "y", "quota_reserve": "y",
        "csrf_token": csrf_token(client, SETTINGS)}, follow_redirects=True)
    assert "E-mail alerts saved." in response.text
    assert AuditEvent.get(AuditEvent.subject == "E-mail alerts").after == {
        "intake_rejected": False}

    app.config["INBOX_DIR"] = str(tmp_path / "scanner")
    _drop(tmp_path / "scanner", "invoice.pdf", b"not a PDF")
    take_in_folder.call_local()
    assert smtp.mails == []
    assert "Not sent: this kind is off" in client.get(SETTINGS).text
    alerts.raise_problem(alerts.QUOTA_RESERVE, "20001", "Bookbridge: Zoho quota", "Pause.")
    assert len(smtp.mails) == 1


def test_only_admins_change_alerts_and_only_with_the_form_token(client, auth, admin,
                                                                bookkeeper, smtp):
    auth.login("books@example.com")
    assert "E-mail alerts" not in client.get(SETTINGS).text
    token = csrf_token(client, SETTINGS)
    refused = client.post(SETTINGS + "alerts", data={"csrf_token": token})
    assert refused.status_code == 403
    assert client.post(SETTINGS + "alerts/test", data={"csrf_token": token}).status_code == 403
    assert smtp.mails == []
    auth.logout()

    auth.login()
    forged = client.post(SETTINGS + "alerts", data={})  # no token: sent from another site
    assert forged.status_code == 400
    assert alerts.choices() == dict.fromkeys(alerts.KINDS, True)
    assert not AuditEvent.select().where(AuditEvent.subject == "E-mail alerts").exists()


def test_test_email_says_who_got_it(client, auth, admins, smtp):
    auth.login()
    response = client.post(SETTINGS + "alerts/test",
                           data={"csrf_token": csrf_token(client, SETTINGS)},
                           follow_redirects=True)
    assert "Sent to admin@example.com, second@example.com." in response.text
    assert [mail.subject for mail in smtp.mails] == ["Bookbridge: test e-mail"]
    assert sorted(smtp.mails[0].envelope_to) == admins


def test_test_email_explains_a_refused_login_without_the_password(app, client, auth, admin,
                                                                  caplog):
    server = SmtpServer(password=SMTP_PASSWORD).start()
    try:
        app.config.update(server.config(), SMTP_PASSWORD="a wrong one")
        auth.login()
        with caplog.at_level(logging.DEBUG):
            response = client.post(SETTINGS + "alerts/test",
                                   data={"csrf_token": csrf_token(client, SETTINGS)},
                                   follow_redirects=True)
        assert "The test e-mail was not sent." in response.text
        assert "refused the login" in response.text
        assert "a wrong one" not in response.text and "a wrong one" not in caplog.text
        assert server.mails == []
        app.config["SMTP_PASSWORD"] = SMTP_PASSWORD
        response = client.post(SETTINGS + "alerts/test",
                               data={"csrf_token": csrf_token(client, SETTINGS)},
                               follow_redirects=True)
        assert "Sent to admin@example.com." in response.text and len(server.mails) == 1
        assert SMTP_PASSWORD not in client.get(SETTINGS).text
    finally:
        server.stop()


def test_without_a_mail_server_the_page_says_how_to_turn_alerts_on(client, auth, admin):
    auth.login()
    page = client.get(SETTINGS).text
    assert "Alerts are off because no mail server is set" in page
    assert "BOOKBRIDGE_SMTP_HOST" in page
    assert 'id="alerts-test" disabled' in page


# -- a mail server that is down ----------------------------------------------------------------

def test_unreachable_mail_server_leaves_the_work_unharmed_and_is_retried(
        app, client, connected, sandbox, admins, caplog):
    port = free_port()  # nothing listens there yet
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none",
                      SMTP_USERNAME="alerts@example.com", SMTP_PASSWORD=SMTP_PASSWORD)
    _retries_of_send_alert()  # forget retries other tests left behind
    response = _revoke_zoho_and_refresh(client, sandbox)
    assert response.status_code in (200, 303)
    assert ZohoConnection.current().status is ConnectionStatus.NEEDS_RECONNECT
    alert = Alert.get(Alert.kind == alerts.RECONNECT)
    assert alert.mail_state == "pending" and alert.attempts == 1
    assert "could not be reached" in alert.error
    assert SMTP_PASSWORD not in caplog.text
    page = client.get(SETTINGS).text
    assert "Not sent yet, retrying: The mail server 127.0.0.1:" in page

    retries = _retries_of_send_alert()
    assert len(retries) == 1  # Huey holds the retry for a minute later
    server = SmtpServer(password=SMTP_PASSWORD, port=port).start()
    try:
        app.config.update(server.config())
        huey.execute(retries[0], timestamp=retries[0].eta)  # the consumer, once it is due
        assert [mail.subject for mail in server.mails] == [
            "Bookbridge: Zoho Books needs reconnecting"]
        assert Alert.get_by_id(alert.id).mail_state == "sent"
        assert ('Sent to <span translate="no">admin@example.com, second@example.com</span>'
                in client.get(SETTINGS).text)
    finally:
        server.stop()


def test_a_mail_server_down_for_long_is_given_up_after_six_tries(app, client, auth, admin):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_SECURITY="none")
    _retries_of_send_alert()
    alert = alerts.raise_problem(alerts.QUOTA_RESERVE, "20001", "Bookbridge: Zoho quota",
                                 "Long imports pause until the reset.")
    for _ in range(10):  # the consumer running each retry when it is due
        retries = _retries_of_send_alert()
        if not retries:
            break
        huey.execute(retries[0], timestamp=retries[0].eta)
    alert = Alert.get_by_id(alert.id)
    assert alert.mail_state == "failed" and alert.attempts == alerts.MAX_ATTEMPTS
    assert _retries_of_send_alert() == []
    auth.login()
    assert "Not sent: The mail server 127.0.0.1:" in client.get(SETTINGS).text


def test_a_mail_left_unsent_by_a_dead_process_goes_out_with_the_next_sweep(app, smtp, admins):
    # What a web process killed between opening the problem and queueing its mail leaves.
    Alert.create(kind=alerts.QUOTA_RESERVE, key="20001", open_key="quota_reserve:20001",
                 subject="Bookbridge: Zoho quota", body="Pause.",
                 opened_at=utcnow() - datetime.timedelta(minutes=15))
    send_alerts_left_behind.call_local()
    assert [mail.subject for mail in smtp.mails] == ["Bookbridge: Zoho quota"]
    send_alerts_left_behind.call_local()
    assert len(smtp.mails) == 1


# -- each admin reads the mail in their language (issue 11 item 2) -------------------------------

def _set_language(email: str, language: str) -> None:
    from services import accounts

    accounts.set_language(User.get(User.email == email), language)


def test_a_french_admin_gets_the_alert_in_french_and_an_english_one_in_english(
        client, connected, sandbox, smtp, admins):
    _set_language("second@example.com", "fr")
    _revoke_zoho_and_refresh(client, sandbox)

    by_recipient = {tuple(mail.envelope_to): mail for mail in smtp.mails}
    assert sorted(by_recipient) == [("admin@example.com",), ("second@example.com",)]
    french = by_recipient[("second@example.com",)]
    assert french.subject == "Bookbridge\u00a0: Zoho Books doit être reconnecté"
    # The reason, a stored message of its own, is read in French inside the French mail.
    assert "Motif\u00a0: Zoho a refusé l’autorisation enregistrée" in french.text
    assert "connectez de nouveau Zoho Books" in french.text
    assert "Ouvrir\u00a0: http://localhost/connections/" in french.text
    assert "revoked" not in french.text and "What to do" not in french.text
    english = by_recipient[("admin@example.com",)]
    assert english.subject == "Bookbridge: Zoho Books needs reconnecting"
    assert "Reason: Zoho refused the saved authorisation" in english.text

    # The settings page names the alert in the reader's language.
    page = client.get(SETTINGS, headers={"Accept-Language": "fr"}).text
    assert "Bookbridge\u00a0: Zoho Books doit être reconnecté" in page
    assert "Alertes récentes" in page and "En cours" in page


def test_an_admin_who_never_chose_gets_the_installations_language(app, smtp, admins):
    app.config["DEFAULT_LANGUAGE"] = "fr"
    try:
        alerts.send_test(app.config)
    finally:
        app.config["DEFAULT_LANGUAGE"] = "en"
    assert [mail.subject for mail in smtp.mails] == ["Bookbridge\u00a0: e-mail de test"]
    assert "les alertes par e-mail vous parviennent" in smtp.mails[0].text


def test_the_worker_writes_the_mail_in_french_without_the_web_app(app, smtp, admins):
    """The worker has no Flask app: the mail is still written in the admin's language."""
    import threading

    from services.i18n import stored_message

    _set_language("admin@example.com", "fr")
    _set_language("second@example.com", "fr")
    alert = Alert.create(
        kind=alerts.SYNC_FAILING, key="bank", open_key="sync_failing:bank", mail_state="pending",
        subject=stored_message("Bookbridge: the bank sync failed twice in a row"),
        body=stored_message("The problem cleared before the mail went out."))
    outcome = {}

    def worker():
        from flask import has_app_context

        outcome["app_context"] = has_app_context()
        outcome["state"] = alerts.deliver(dict(app.config), alert.id)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert outcome == {"app_context": False, "state": "sent"}
    assert [mail.subject for mail in smtp.mails] == [
        "Bookbridge\u00a0: la synchronisation bancaire a échoué deux fois de suite"]
    assert "Le problème s’est résolu avant l’envoi de l’e-mail." in smtp.mails[0].text
    assert "Bookbridge envoie un e-mail quand un problème commence" in smtp.mails[0].text


def test_refused_scans_are_listed_in_french_for_a_french_admin(app, smtp, admins, tmp_path):
    _set_language("admin@example.com", "fr")
    inbox = tmp_path / "scanner"
    app.config["INBOX_DIR"] = str(inbox)
    _drop(inbox, "facture.pdf", b"this is plain text, not a PDF")
    _drop(inbox, "ticket.pdf", b"more plain text")
    take_in_folder.call_local()
    french = next(mail for mail in smtp.mails if mail.envelope_to == ["admin@example.com"])
    assert french.subject == "Bookbridge\u00a0: le dossier surveillé a refusé des fichiers"
    assert "arrivés par le dossier surveillé\u00a0:" in french.text
    # One line per file, each reason in French (a stored message of its own).
    lines = [line for line in french.text.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == ["- facture.pdf", "- ticket.pdf"]
    assert "not a PDF" not in french.text
    english = next(mail for mail in smtp.mails if mail.envelope_to == ["second@example.com"])
    assert "- facture.pdf: " in english.text and "not a PDF" in english.text
