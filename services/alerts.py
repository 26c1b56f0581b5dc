"""E-mail alerts to admins: one mail per problem, not per occurrence.

A problem is a kind and a key, ("reconnect", "zoho") or ("sync_failing", "bank"). It is
mailed when it opens; repeats while it is open send nothing; it closes when its condition
clears (reconnected, a sync got through, the quota reset), so the next occurrence mails
again. The open problem is a database row with a unique key, shared by web and worker, so
two processes never both mail it. Opening a problem never breaks its caller: the mail is
sent by a queued task (jobs.alerts) with retries.

An alert's subject and body are stored messages (services.i18n): each admin gets the mail
in their own language (services.i18n.language_of), written when it is sent.

Intake rejects are events, not a state that clears: they are grouped per source (the
watched folder, the mailbox) and per day in the installation's time zone, so a scanner
that keeps producing bad files costs at most one mail a day per source.
"""

import datetime
import logging
from urllib.parse import urlsplit

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import Alert, AlertSettings, AuditEvent, Role, SyncRun, User, db, utcnow
from services import audit, bank_schedule, i18n, mail, zoho_quota
from services.i18n import stored_message

log = logging.getLogger(__name__)

RECONNECT = "reconnect"
SYNC_FAILING = "sync_failing"
QUOTA_RESERVE = "quota_reserve"
INTAKE_REJECTED = "intake_rejected"
# Each kind with how the settings page names it.
KINDS = {
    RECONNECT: _l("A connection needs reconnecting (Zoho Books or Qonto)"),
    SYNC_FAILING: _l("The bank sync failed twice in a row"),
    QUOTA_RESERVE: _l("Zoho's daily quota reserve is reached or its calls are all spent "
                      "(long imports and queued publishing pause)"),
    INTAKE_REJECTED: _l("The watched folder or the mailbox refused files (one mail a day "
                        "each)"),
}
# Pages the mails link to. Mails are written in the worker, where there is no Flask app
# to build URLs; tests/test_alerts.py follows each link to prove it opens its page.
CONNECTIONS_PAGE = "/connections/"
BANK_HISTORY_PAGE = "/bank/"
ACTIVITY_PAGE = "/activity/"
SETTINGS_PAGE = "/connections/settings/#alerts"

SERVICE_NAMES = {"zoho": "Zoho Books", "qonto": "Qonto"}
FINISHED_RUNS = ("succeeded", "partial", "failed")
REJECTS_LISTED = 20
MAX_ATTEMPTS = 6  # tries of one alert's mail, over about half an hour
CLAIM = datetime.timedelta(minutes=2)
LEFT_BEHIND_AFTER = datetime.timedelta(minutes=10)


# -- problems open and close -------------------------------------------------------------------

def raise_problem(kind: str, key: str, subject: str, body: str, path: str = "") -> Alert | None:
    """Open the problem (kind, key) and queue its mail; None when it is already open.

    `subject` and `body` are stored messages (services.i18n), written in each admin's
    language when mailed; `body` says what happened and what to do; `path` is the page to open
    ("/connections/"), made absolute with BOOKBRIDGE_PUBLIC_URL when the mail is sent.
    Never raises: a failure here is logged and the caller carries on.
    """
    open_key = f"{kind}:{key}"
    try:
        if Alert.select().where(Alert.open_key == open_key).exists():
            return None
        state = "pending" if is_enabled(kind) else "off"
        with db.atomic():
            alert = Alert.create(kind=kind, key=key, open_key=open_key, subject=subject,
                                 body=body, path=path, mail_state=state)
    except IntegrityError:
        return None  # another process opened it a moment ago: it mails, not us
    except Exception:
        log.exception("alert %s could not be recorded", open_key)
        return None
    log.info("alert opened: %s (mail %s)", open_key, state)
    if state == "pending":
        # Queued once the caller's transaction commits, so the task finds the row.
        db.after_commit(lambda: _queue(alert.id))
    return alert


def close_problem(kind: str, key: str) -> bool:
    """The condition cleared: the next occurrence mails again. True if one was open."""
    try:
        closed = (Alert.update(open_key=None, closed_at=utcnow())
                  .where(Alert.open_key == f"{kind}:{key}").execute())
    except Exception:
        log.exception("alert %s:%s could not be closed", kind, key)
        return False
    if closed:
        log.info("alert closed: %s:%s", kind, key)
    return bool(closed)


def _queue(alert_id: int) -> None:
    # services do not import jobs at module level (jobs import services); see services.backup.
    try:
        from jobs.alerts import send_alert

        send_alert(alert_id)
    except Exception:
        log.exception("the mail of alert %s could not be queued", alert_id)


# -- the four kinds ----------------------------------------------------------------------------

def connection_needs_reconnect(service: str, reason: str) -> None:
    """Zoho Books or Qonto refused the saved authorisation: an admin must connect again."""
    name = SERVICE_NAMES[service]
    raise_problem(
        RECONNECT, service, stored_message("Bookbridge: %(service)s needs reconnecting",
                                           service=name),
        stored_message(
            "%(service)s refused the authorisation Bookbridge keeps, so Bookbridge has "
            "stopped talking to %(service)s: the daily bank sync and publishing wait.\n\n"
            "Reason: %(reason)s\n\n"
            "What to do: sign in as an admin, open Connections and connect %(service)s "
            "again. Nothing local was deleted; work resumes where it stopped.",
            service=name, reason=reason),
        path=CONNECTIONS_PAGE)


def connection_restored(service: str) -> None:
    close_problem(RECONNECT, service)


def after_bank_sync() -> None:
    """Two failed runs in a row open the "sync failing" problem; a run that got through
    (even with some lines failed) closes it. Interrupted and retrying runs do not count."""
    try:
        last_two = list(SyncRun.select(SyncRun.status, SyncRun.error, SyncRun.finished_at)
                        .where(SyncRun.status.in_(FINISHED_RUNS))
                        .order_by(SyncRun.id.desc()).limit(2))
    except Exception:
        log.exception("the bank sync alert could not read the runs")
        return
    if not last_two:
        return
    if last_two[0].status != "failed":
        close_problem(SYNC_FAILING, "bank")
    elif len(last_two) == 2 and last_two[1].status == "failed":
        raise_problem(
            SYNC_FAILING, "bank",
            stored_message("Bookbridge: the bank sync failed twice in a row"),
            stored_message(
                "The last two bank syncs (Qonto to Zoho Books) failed, so new bank lines are "
                "not reaching Zoho Books.\n\n"
                "Last reason: %(reason)s\n\n"
                "What to do: open the Bank feed page, read the reason of each run, fix it "
                "(often a connection to renew or a Zoho account to choose) and click Sync now. "
                "Nothing was lost: the next sync carries on where it stopped.",
                reason=last_two[0].error or stored_message("not recorded")),
            path=BANK_HISTORY_PAGE)


def quota_reserve_reached(organization_id: str, pause) -> None:
    """Long imports paused for Zoho's daily quota, or the day's calls all spent (services.
    zoho_quota fires this once per pause, across processes). A new pause means the previous
    one ended at its reset, so the previous problem closes and this one mails."""
    close_problem(QUOTA_RESERVE, organization_id)
    if pause.reason == "spent":
        subject = stored_message("Bookbridge: Zoho's daily API calls are all spent")
        body = stored_message(
            "Paused: %(pause)s\n\nZoho Books refuses the organisation's calls until its daily "
            "reset (the cap is shared with every app connected to the organisation). The bank "
            "sync, the list refresh and the documents queued for publishing wait and resume "
            "by themselves after the reset, where they stopped; nothing was lost. Publishing "
            "by hand is refused until then.\n\nWhat to do: nothing, unless this happens "
            "often; then check which apps spend the organisation's calls, or raise the Zoho "
            "Books plan (its daily cap grows with it). The Connections page shows the quota "
            "left.", pause=pause.message())
    else:
        subject = stored_message("Bookbridge: Zoho's daily quota reserve is reached")
        body = stored_message(
            "Paused: %(pause)s\n\nLong imports (the bank sync and its history, the list "
            "refresh) stop spending Zoho's daily API calls so that people can still publish "
            "documents today. Nothing was lost: they resume by themselves after Zoho's daily "
            "reset, where they stopped.\n\nWhat to do: nothing, unless this happens every "
            "day; then spread the history import over several days, or raise the Zoho Books "
            "plan (its daily cap grows with it). The Connections page shows the quota left.",
            pause=pause.message())
    raise_problem(QUOTA_RESERVE, organization_id, subject, body, path=CONNECTIONS_PAGE)


# The quota service cannot import this module (it sits below it): it calls its listeners.
zoho_quota.reserve_listeners.append(quota_reserve_reached)


def files_rejected(config, source: str) -> None:
    """The watched folder ("folder") or the mailbox ("mail") refused files just now."""
    zone = bank_schedule.time_zone(config)
    local_now = utcnow().replace(tzinfo=datetime.UTC).astimezone(zone)
    key = f"{source}:{local_now.date().isoformat()}"
    try:
        # Yesterday's group is over: today's rejects make a new mail.
        (Alert.update(open_key=None, closed_at=utcnow())
         .where(Alert.kind == INTAKE_REJECTED, Alert.key.startswith(f"{source}:"),
                Alert.key != key, Alert.open_key.is_null(False)).execute())
        if Alert.select().where(Alert.open_key == f"{INTAKE_REJECTED}:{key}").exists():
            return
        start = (local_now.replace(hour=0, minute=0, second=0, microsecond=0)
                 .astimezone(datetime.UTC).replace(tzinfo=None))
        rejects = list(AuditEvent.select(AuditEvent.subject, AuditEvent.detail)
                       .where(AuditEvent.action == "intake.rejected",
                              AuditEvent.actor == source, AuditEvent.at >= start)
                       .order_by(AuditEvent.id).limit(REJECTS_LISTED))
    except Exception:
        log.exception("the intake alert could not read the rejects")
        return
    listed = _listing(rejects)
    if source == "folder":
        subject = stored_message("Bookbridge: the watched folder refused files")
        body = stored_message(
            "Bookbridge refused files that arrived through the watched folder:\n\n"
            "%(files)s\n\nThey were moved to the rejected/ folder of the inbox, each with a "
            ".reason.txt. What to do: check what the scanner or the sender produces, then "
            "upload the right file by hand or drop it again. Files refused later today are not "
            "mailed again; the Activity page lists them all.", files=listed)
    else:
        subject = stored_message("Bookbridge: the mailbox refused files")
        body = stored_message(
            "Bookbridge refused files that arrived through the mailbox:\n\n%(files)s\n\n"
            "The mails were marked read and left in the mailbox. What to do: check what the "
            "scanner or the sender produces, then upload the right file by hand or drop it "
            "again. Files refused later today are not mailed again; the Activity page lists "
            "them all.", files=listed)
    raise_problem(INTAKE_REJECTED, key, subject, body, path=ACTIVITY_PAGE)


def _listing(rejects) -> str:
    """"- scan.pdf: why" per refused file, each reason read in the mail's language.

    A stored message whose text is only the list's layout ("- ", ": ", line breaks: the same
    in every language), so each reason, itself a stored message, is translated in place."""
    layout = "\n".join(f"- %(file{index})s: %(reason{index})s" for index in range(len(rejects)))
    values = {}
    for index, event in enumerate(rejects):
        values[f"file{index}"] = event.subject
        values[f"reason{index}"] = event.detail
    return stored_message(layout, **values) if rejects else ""


# -- which kinds are on ------------------------------------------------------------------------

def is_enabled(kind: str) -> bool:
    return bool(getattr(AlertSettings.current(), kind, True))


def choices() -> dict:
    settings = AlertSettings.current()
    return {kind: getattr(settings, kind) for kind in KINDS}


def update_choices(user, **values) -> dict:
    """Turn kinds on or off; returns the changed ones (after values), audited."""
    with db.atomic():
        settings = AlertSettings.current()
        before_all = {kind: getattr(settings, kind) for kind in KINDS}
        for kind, on in values.items():
            if kind not in KINDS:
                raise ValueError(f"unknown alert kind {kind}")
            setattr(settings, kind, bool(on))
        before, after = audit.changes(before_all, {kind: getattr(settings, kind)
                                                   for kind in KINDS})
        if not after:
            return {}
        settings.updated_at = utcnow()
        settings.save()
        audit.record("settings.update", user=user, subject="E-mail alerts", before=before,
                     after=after)
    return after


def recent(limit: int = 10):
    return Alert.select().order_by(Alert.id.desc()).limit(limit)


# -- sending -----------------------------------------------------------------------------------

def recipients() -> list[str]:
    """Every active admin with an e-mail address."""
    return [user.email for user in _recipient_users()]


def _recipient_users() -> list[User]:
    return list(User.select().where(User.role == Role.ADMIN, User.active, User.email != "")
                .order_by(User.id))


def _by_language(users: list[User]) -> dict[str, list[str]]:
    """The recipients' addresses grouped by the language each reads (one mail per group)."""
    groups: dict[str, list[str]] = {}
    for user in users:
        groups.setdefault(i18n.language_of(user), []).append(user.email)
    return groups


def public_url(config) -> str:
    """Where people reach Bookbridge: PUBLIC_URL, else the origin of the Zoho redirect URI."""
    explicit = str(config.get("PUBLIC_URL") or "").strip().rstrip("/")
    if explicit:
        return explicit
    redirect = urlsplit(str(config.get("ZOHO_REDIRECT_URI") or ""))
    return f"{redirect.scheme}://{redirect.netloc}" if redirect.netloc else ""


def link(config, path: str) -> str:
    base = public_url(config)
    return f"{base}{path}" if base else gettext("%(path)s on your Bookbridge", path=path)


def mail_text(config, alert: Alert) -> str:
    """The mail of an alert, in the language in force (`i18n.in_language`)."""
    text = i18n.in_words(alert.body)
    if alert.path:
        text += "\n\n" + gettext("Open: %(link)s", link=link(config, alert.path))
    return text + "\n\n-- \n" + gettext(
        "Bookbridge sends one mail when a problem starts, none while it lasts. Admins turn "
        "each kind of alert off under Connections, Settings, E-mail alerts: %(link)s",
        link=link(config, SETTINGS_PAGE)) + "\n"


class NotSentYet(Exception):
    """The mail server failed; the queued task tries again after `retry_in` seconds."""

    def __init__(self, reason: str, attempts: int):
        super().__init__(reason)
        # 1, 2, 4, 8 then 16 minutes: a server back within half an hour loses nothing.
        self.retry_in = 60 * 2 ** (attempts - 1)


def deliver(config, alert_id: int) -> str:
    """Send the mail of one alert, unless another process has it, it went already, or its
    problem closed meanwhile. Returns the state it left; raises NotSentYet to be retried."""
    alert = _claim(alert_id)
    if alert is None:
        return "skipped"
    if alert.closed_at is not None:
        return _finish(alert, "closed", error=stored_message(
            "The problem cleared before the mail went out."))
    if not mail.is_configured(config):
        return _finish(alert, "no_smtp", error=stored_message(
            "No mail server is set (BOOKBRIDGE_SMTP_HOST)."))
    users = _recipient_users()
    to = [user.email for user in users]
    if not to:
        return _finish(alert, "failed", error=stored_message(
            "No active admin has an e-mail address."))
    try:
        with i18n.writing_outside_requests(config):
            for language, addresses in _by_language(users).items():
                with i18n.in_language(language):
                    mail.send(config, addresses, i18n.in_words(alert.subject),
                              mail_text(config, alert))
    except mail.MailError as error:
        attempts = alert.attempts + 1
        gave_up = attempts >= MAX_ATTEMPTS
        log.warning("alert %s (%s) not sent, attempt %s%s: %s", alert.id, alert.kind, attempts,
                    ", giving up" if gave_up else ", will retry", error.reason)
        _finish(alert, "failed" if gave_up else "pending", error=error.reason,
                attempts=attempts)
        if gave_up:
            return "failed"
        raise NotSentYet(error.reason, attempts) from None
    log.info("alert %s (%s) mailed to %s admin(s)", alert.id, alert.kind, len(to))
    return _finish(alert, "sent", error="", attempts=alert.attempts + 1, sent_to=", ".join(to),
                   sent_at=utcnow())


def left_behind() -> list[int]:
    """Alerts whose mail was never tried (the process died before queueing it, or the queue
    was down) or whose sender died mid-send: the periodic sweep queues them again."""
    now = utcnow()
    never_tried = ((Alert.mail_state == "pending") & (Alert.attempts == 0)
                   & (Alert.opened_at < now - LEFT_BEHIND_AFTER))
    sender_died = (Alert.mail_state == "sending") & (Alert.claimed_until < now)
    return [alert.id for alert in Alert.select(Alert.id).where(never_tried | sender_died)]


def _claim(alert_id: int) -> Alert | None:
    """Take the alert for sending; a claim left by a dead process runs out after CLAIM."""
    now = utcnow()
    taken = (Alert.update(mail_state="sending", claimed_until=now + CLAIM)
             .where(Alert.id == alert_id,
                    (Alert.mail_state == "pending")
                    | ((Alert.mail_state == "sending") & (Alert.claimed_until < now)))
             .execute())
    return Alert.get_by_id(alert_id) if taken else None


def _finish(alert: Alert, state: str, **fields) -> str:
    Alert.update(mail_state=state, claimed_until=None, **fields).where(
        Alert.id == alert.id).execute()
    return state


def send_test(config) -> list[str]:
    """Send a test mail to every admin now; returns the addresses or raises MailError."""
    users = _recipient_users()
    if not users:
        raise mail.MailError(stored_message("No active admin has an e-mail address."))
    with i18n.writing_outside_requests(config):
        for language, addresses in _by_language(users).items():
            with i18n.in_language(language):
                mail.send(config, addresses, gettext("Bookbridge: test e-mail"),
                          gettext("This is a test from Bookbridge: e-mail alerts reach you.")
                          + "\n\n" + gettext("Settings: %(link)s",
                                               link=link(config, SETTINGS_PAGE)) + "\n")
    log.info("test mail sent to %s admin(s)", len(users))
    return [user.email for user in users]
