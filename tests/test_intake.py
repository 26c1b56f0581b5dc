"""The watched folder and the mailbox: real files in a real folder, a real IMAP server."""

import logging
import os
import time
from email.message import EmailMessage

import pytest

from jobs.intake import take_in_folder, take_in_mail
from models import AuditEvent, Document, DocumentStatus, StoredFile
from services import document_intake, i18n
from tests import documents as samples
from tests.conftest import csrf_token
from tests.imap_server import ImapServer

PASSWORD = "s3cret pass"


def _drop(folder, name, content, age=60):
    """A file as a scanner leaves it, written `age` seconds ago."""
    path = folder / name
    path.write_bytes(content)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


@pytest.fixture
def inbox(app, tmp_path):
    folder = tmp_path / "scanner"
    app.config["INBOX_DIR"] = str(folder)
    return folder


@pytest.fixture
def imap(app):
    server = ImapServer(password=PASSWORD).start()
    app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=server.port, IMAP_SSL="none",
                      IMAP_USER=server.user, IMAP_PASSWORD=PASSWORD, IMAP_FOLDER="INBOX")
    yield server
    server.stop()


def _mail(*attachments, sender="Billing <billing@ovh.test>", subject="Your invoice"):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "books@example.com", subject
    message["Message-ID"] = f"<{time.monotonic_ns()}@ovh.test>"
    message.set_content("Please find your documents attached.")
    for name, content, media_type in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


# -- The folder -------------------------------------------------------------------------------


def test_dropped_file_becomes_a_document_and_moves_to_done(app, inbox):
    inbox.mkdir()
    pdf = samples.text_pdf()
    _drop(inbox, "scan-0001.pdf", pdf)

    report = document_intake.scan_folder(app.config)

    assert report == document_intake.IntakeReport(added=1, rejected=[])
    document = Document.get()
    assert (document.source, document.source_detail) == ("folder", "scan-0001.pdf")
    assert document.status is DocumentStatus.PROCESSING
    assert not (inbox / "scan-0001.pdf").exists()
    assert (inbox / "done" / "scan-0001.pdf").read_bytes() == pdf
    # The same name again later: kept apart, not overwritten.
    _drop(inbox, "scan-0001.pdf", samples.ubl_xml())
    assert document_intake.scan_folder(app.config).added == 1
    assert (inbox / "done" / "scan-0001-1.pdf").exists()


def test_text_named_pdf_is_rejected_with_its_reason(app, inbox):
    inbox.mkdir()
    _drop(inbox, "invoice.pdf", b"just some text, not a PDF")

    report = document_intake.scan_folder(app.config)

    assert report.added == 0 and len(report.rejected) == 1
    assert "not a PDF, JPEG, PNG or e-invoice XML" in report.rejected[0]
    assert not (inbox / "invoice.pdf").exists()
    assert (inbox / "rejected" / "invoice.pdf").exists()
    reason = (inbox / "rejected" / "invoice.pdf.reason.txt").read_text()
    assert "invoice.pdf is not a PDF" in reason and "content, not the name" in reason
    assert Document.select().count() == 0 and StoredFile.select().count() == 0
    assert AuditEvent.get(AuditEvent.action == "intake.rejected").actor == "folder"


def test_file_still_being_written_hidden_files_and_subfolders_are_left_alone(app, inbox):
    inbox.mkdir()
    (inbox / "being-scanned.pdf").write_bytes(samples.text_pdf())  # modified just now
    _drop(inbox, ".partial.pdf", samples.text_pdf())
    (inbox / "later").mkdir()
    _drop(inbox / "later", "nested.pdf", samples.text_pdf())

    assert document_intake.scan_folder(app.config) == document_intake.IntakeReport()

    assert (inbox / "being-scanned.pdf").exists() and (inbox / ".partial.pdf").exists()
    assert (inbox / "later" / "nested.pdf").exists()
    assert Document.select().count() == 0


def test_oversized_file_is_rejected_without_being_read_whole(app, inbox):
    inbox.mkdir()
    big = _drop(inbox, "huge-scan.pdf", b"%PDF-1.7\n")
    with open(big, "r+b") as handle:
        handle.truncate(document_intake.document_store.MAX_BYTES + 10)  # sparse: quick
    os.utime(big, (time.time() - 60, time.time() - 60))

    report = document_intake.scan_folder(app.config)

    assert report.added == 0 and "larger than 20 MB" in i18n.in_words(report.rejected[0])
    assert (inbox / "rejected" / "huge-scan.pdf.reason.txt").exists()


def test_folder_tick_reads_the_new_documents(app, inbox):
    (inbox).mkdir()
    _drop(inbox, "ovh.pdf", samples.text_pdf())

    take_in_folder.call_local()

    document = Document.get()
    assert document.source == "folder" and document.status is not DocumentStatus.PROCESSING
    assert document.supplier_name.startswith("OVH")


def test_default_inbox_is_created_under_the_data_dir(app):
    report = document_intake.scan_folder(app.config)
    assert report.added == 0
    assert (document_intake.inbox_dir(app.config)).is_dir()
    assert document_intake.inbox_dir(app.config).parent.name == "data"


# -- The mailbox ------------------------------------------------------------------------------


def test_attachments_of_unread_mail_become_documents_then_the_mail_is_marked_read(app, imap):
    stored = imap.deliver(_mail(("ovh.pdf", samples.text_pdf(), "application/pdf"),
                                ("order.xml", samples.ubl_xml(), "application/xml")))

    report = document_intake.read_mailbox(app.config)

    assert report == document_intake.IntakeReport(added=2, rejected=[])
    documents = list(Document.select().order_by(Document.id))
    assert [d.filename for d in documents] == ["ovh.pdf", "order.xml"]
    assert {(d.source, d.source_detail) for d in documents} == {
        ("mail", "billing@ovh.test · Your invoice")}
    assert stored.seen
    assert "UID STORE" in imap.commands and "FETCH" not in imap.commands  # by UID, peeked
    # Read mail is not read again.
    assert document_intake.read_mailbox(app.config).added == 0
    assert Document.select().count() == 2


def test_dropped_connection_before_marking_read_leaves_the_mail_unread_without_duplicates(
        app, imap):
    stored = imap.deliver(_mail(("ovh.pdf", samples.text_pdf(), "application/pdf"),
                                ("order.xml", samples.ubl_xml(), "application/xml")))
    # CAPABILITY, LOGIN, SELECT, UID SEARCH, UID FETCH (size), UID FETCH (body): the line
    # drops as the 7th command, UID STORE, arrives.
    imap.drop_after = 6

    with pytest.raises(document_intake.MailboxError) as failure:
        document_intake.read_mailbox(app.config)

    assert imap.commands[-1] == "UID STORE"
    assert "dropped" in failure.value.reason and failure.value.report.added == 2
    assert not stored.seen
    assert Document.select().count() == 2

    report = document_intake.read_mailbox(app.config)

    assert report.added == 0 and stored.seen
    assert Document.select().count() == 2 and StoredFile.select().count() == 2


def test_mail_tick_after_a_drop_records_it_and_reads_what_was_stored(app, imap):
    imap.deliver(_mail(("ovh.pdf", samples.text_pdf(), "application/pdf")))
    imap.drop_after = 6

    take_in_mail.call_local()

    failed = AuditEvent.get(AuditEvent.action == "intake.mail_failed")
    assert failed.actor == "mail" and "dropped" in failed.detail
    assert Document.get().status is not DocumentStatus.PROCESSING  # read anyway

    take_in_mail.call_local()
    assert imap.messages[0].seen and Document.select().count() == 1


def test_wrong_password_is_recorded_in_plain_words_without_the_secret(app, imap, caplog):
    imap.deliver(_mail(("ovh.pdf", samples.text_pdf(), "application/pdf")))
    app.config["IMAP_PASSWORD"] = "not the password"

    with caplog.at_level(logging.DEBUG):
        take_in_mail.call_local()  # no exception
        take_in_mail.call_local()

    events = list(AuditEvent.select().where(AuditEvent.action == "intake.mail_failed"))
    assert len(events) == 1  # the same failure is not recorded every five minutes
    assert "refused the login" in events[0].detail
    assert "BOOKBRIDGE_IMAP_PASSWORD" in events[0].detail
    assert "not the password" not in events[0].detail + caplog.text
    assert "Traceback" not in caplog.text
    assert Document.select().count() == 0 and not imap.messages[0].seen


def test_unreachable_server_is_recorded_not_raised(app):
    app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=1, IMAP_SSL="none",
                      IMAP_USER="x", IMAP_PASSWORD="y")
    take_in_mail.call_local()
    assert "refused the connection" in AuditEvent.get(
        AuditEvent.action == "intake.mail_failed").detail


def test_starttls_refused_by_the_server_is_explained(app, imap):
    app.config["IMAP_SSL"] = "starttls"
    take_in_mail.call_local()
    assert "does not offer STARTTLS" in AuditEvent.get(
        AuditEvent.action == "intake.mail_failed").detail


def test_mail_without_attachment_is_marked_read_and_reported(app, imap):
    stored = imap.deliver(_mail(subject="Lunch on Friday?"))

    report = document_intake.read_mailbox(app.config)

    assert report.added == 0 and len(report.rejected) == 1
    assert "billing@ovh.test" in report.rejected[0] and "Lunch on Friday?" in report.rejected[0]
    assert "no PDF, JPEG, PNG or XML attachment" in report.rejected[0]
    assert stored.seen and Document.select().count() == 0
    assert AuditEvent.get(AuditEvent.action == "intake.rejected").actor == "mail"


def test_mail_attachment_is_checked_by_content(app, imap):
    stored = imap.deliver(_mail(("fake.pdf", b"not a pdf at all", "application/pdf"),
                                ("receipt.png", samples.scanned_png(), "image/png"),
                                ("notes.docx", b"PK\x03\x04", "application/octet-stream")))

    report = document_intake.read_mailbox(app.config)

    assert report.added == 1 and len(report.rejected) == 1
    assert "fake.pdf is not a PDF" in i18n.in_words(report.rejected[0])
    assert Document.get().filename == "receipt.png" and stored.seen


def test_without_imap_host_nothing_happens(app):
    assert not app.config["IMAP_HOST"]
    assert document_intake.read_mailbox(app.config) == document_intake.IntakeReport()
    take_in_mail.call_local()
    assert AuditEvent.select().where(AuditEvent.action.startswith("intake.")).count() == 0


# -- The Intake page --------------------------------------------------------------------------


def test_the_intake_page_shows_each_source_and_check_now_updates_it(app, client, auth, admin,
                                                                    inbox, imap):
    auth.login()
    page = client.get("/intake/").text
    assert str(inbox) in page and f"at 127.0.0.1:{imap.port}, folder INBOX" in page
    assert page.count("Not checked yet") == 2

    inbox.mkdir()
    _drop(inbox, "ovh.pdf", samples.text_pdf())
    _drop(inbox, "notes.pdf", b"not a pdf")
    response = client.post("/intake/folder/check", data={"csrf_token": csrf_token(client)},
                           follow_redirects=True)
    folder = _section(response.text, "intake-folder")
    assert "Watched folder: checking now" in response.text
    assert "Working" in folder and "1 document" in folder
    assert "1 file" in folder and "notes.pdf is not a PDF" in folder

    app.config["IMAP_PASSWORD"] = "not the password"
    client.post("/intake/mail/check", data={"csrf_token": csrf_token(client)})
    mailbox = _section(client.get("/intake/").text, "intake-mail")
    assert "Failing" in mailbox and "refused the login" in mailbox
    assert "not the password" not in mailbox

    app.config["IMAP_PASSWORD"] = PASSWORD
    imap.deliver(_mail(("ovh.pdf", samples.ubl_xml(), "application/xml")))
    client.post("/intake/mail/check", data={"csrf_token": csrf_token(client)})
    mailbox = _section(client.get("/intake/").text, "intake-mail")
    assert "Working" in mailbox and "refused the login" not in mailbox
    assert "1 document" in mailbox


def test_the_intake_page_is_for_admins_and_says_how_to_turn_the_mailbox_on(app, client, auth,
                                                                           admin, bookkeeper):
    auth.login("books@example.com")
    assert client.get("/intake/").status_code == 403
    assert client.post("/intake/folder/check",
                       data={"csrf_token": csrf_token(client)}).status_code == 403
    auth.logout()

    auth.login()
    mailbox = _section(client.get("/intake/").text, "intake-mail")
    assert "Off" in mailbox and "BOOKBRIDGE_IMAP_HOST" in mailbox and "Check now" not in mailbox
    assert client.post("/intake/mail/check",
                       data={"csrf_token": csrf_token(client)}).status_code == 409
    assert client.post("/intake/folder/check").status_code == 400  # no CSRF token


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]
