"""The Intake page's facts: where files come in, and what each source last did.

The worker's ticks report here after each check (`checked`, `failed`); counts are added
in the UPDATE itself, so two workers checking at once lose nothing.
"""

from dataclasses import dataclass

from flask_babel import gettext

from models import IntakeSource, utcnow
from services import audit, document_intake

SOURCES = ("folder", "mail")


@dataclass
class SourceView:
    name: str
    title: str
    where: str  # the folder's path or the mailbox's address
    configured: bool
    how_to: str  # what a self-hoster sets to turn it on, shown when it is off
    status: IntakeSource


def _row(name: str) -> IntakeSource:
    IntakeSource.insert(name=name).on_conflict_ignore().execute()
    return IntakeSource.get(IntakeSource.name == name)


def checked(name: str, report: document_intake.IntakeReport) -> None:
    """A check ended: count what it took in and refused; an old error no longer holds."""
    _row(name)
    now = utcnow()
    values = {IntakeSource.last_checked_at: now,
              IntakeSource.added_total: IntakeSource.added_total + report.added,
              IntakeSource.rejected_total: IntakeSource.rejected_total + len(report.rejected),
              IntakeSource.last_error: "", IntakeSource.last_error_at: None,
              IntakeSource.check_requested_at: None}
    if report.added:
        values[IntakeSource.last_added_at] = now
    if report.rejected:
        values[IntakeSource.last_rejected] = report.rejected[-1]
    IntakeSource.update(values).where(IntakeSource.name == name).execute()


def failed(name: str, reason: str, report: document_intake.IntakeReport | None = None) -> None:
    """A check stopped on an error: keep what it took in before, and the reason in words."""
    checked(name, report or document_intake.IntakeReport())
    IntakeSource.update(last_error=reason, last_error_at=utcnow()).where(
        IntakeSource.name == name).execute()


def request_check(name: str, user) -> None:
    """Mark a "Check now" (the page says it is on its way until the check ends)."""
    _row(name)
    IntakeSource.update(check_requested_at=utcnow()).where(IntakeSource.name == name).execute()
    audit.record("intake.check_requested", user=user, subject=name)


def overview(config) -> list[SourceView]:
    rows = {row.name: row for row in IntakeSource.select()}
    mailbox = ""
    if config.get("IMAP_HOST"):
        mailbox = gettext("%(user)s at %(host)s:%(port)s, folder %(folder)s",
                          user=config.get("IMAP_USER", ""), host=config["IMAP_HOST"],
                          port=config.get("IMAP_PORT"), folder=config.get("IMAP_FOLDER") or "INBOX")
    return [
        SourceView("folder", gettext("Watched folder"), str(document_intake.inbox_dir(config)),
                   True, gettext("Set BOOKBRIDGE_INBOX_DIR to watch another folder."),
                   rows.get("folder") or IntakeSource(name="folder")),
        SourceView("mail", gettext("Mailbox"), mailbox, bool(mailbox),
                   gettext("Set BOOKBRIDGE_IMAP_HOST, BOOKBRIDGE_IMAP_USER and "
                           "BOOKBRIDGE_IMAP_PASSWORD to read invoices sent by e-mail."),
                   rows.get("mail") or IntakeSource(name="mail")),
    ]
