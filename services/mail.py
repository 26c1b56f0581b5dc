"""Sending plain-text e-mail through the SMTP server of the environment (BOOKBRIDGE_SMTP_*).

Failures come back as `MailError` with a reason in plain words and no secret in it, for
the settings page and the logs alike: a stored message (services.i18n), read in the reader's
language (`i18n.in_words(error.reason)` outside a template).
"""

import json
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from services.i18n import stored_message

SECURITY_MODES = ("starttls", "ssl", "none")
TIMEOUT = 15  # seconds: a mail server that answers slower than this counts as unreachable


class MailError(Exception):
    """The mail was not sent; `reason` says why in plain words, without any secret."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def is_configured(config) -> bool:
    return bool(str(config.get("SMTP_HOST") or "").strip())


def sender_address(config) -> str:
    return (config.get("SMTP_FROM") or config.get("SMTP_USERNAME") or "bookbridge@localhost")


def server_label(config) -> str:
    """"smtp.example.com:587 (starttls)", for the settings page; no login, no password."""
    return f"{config.get('SMTP_HOST')}:{_port(config)} ({_security(config)})"


def send(config, recipients: list[str], subject: str, body: str) -> None:
    """Send one plain-text mail to every recipient; raises MailError."""
    if not is_configured(config):
        raise MailError(stored_message(
            "No mail server is set: set BOOKBRIDGE_SMTP_HOST (and the other BOOKBRIDGE_SMTP_ "
            "settings) and restart Bookbridge."))
    message = EmailMessage()
    message["From"] = sender_address(config)
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="bookbridge")
    message.set_content(body)
    password = config.get("SMTP_PASSWORD") or ""
    try:
        with _connect(config) as server:
            if config.get("SMTP_USERNAME"):
                server.login(config["SMTP_USERNAME"], password)
            server.send_message(message)
    except MailError:
        raise
    except Exception as error:  # every failure becomes words: the caller never sees a trace
        raise MailError(_scrub(_reason(config, error), password)) from None


def _security(config) -> str:
    mode = str(config.get("SMTP_SECURITY") or "starttls").strip().lower()
    if mode not in SECURITY_MODES:
        raise MailError(stored_message(
            "BOOKBRIDGE_SMTP_SECURITY is “%(mode)s”; it must be starttls, ssl or none.",
            mode=mode))
    return mode


def _port(config) -> int:
    return int(config.get("SMTP_PORT") or 587)


def _connect(config) -> smtplib.SMTP:
    host, port, mode = config["SMTP_HOST"].strip(), _port(config), _security(config)
    if mode == "ssl":
        return smtplib.SMTP_SSL(host, port, timeout=TIMEOUT,
                                context=ssl.create_default_context())
    server = smtplib.SMTP(host, port, timeout=TIMEOUT)
    if mode == "starttls":
        try:
            server.starttls(context=ssl.create_default_context())
        except Exception:
            server.close()
            raise
    return server


def _reason(config, error: Exception) -> str:
    where = f"{config.get('SMTP_HOST')}:{_port(config)}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return stored_message(
            "The mail server %(server)s refused the login (BOOKBRIDGE_SMTP_USERNAME and "
            "BOOKBRIDGE_SMTP_PASSWORD); check them, often an app password is needed.",
            server=where)
    if isinstance(error, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(error):
        return stored_message(
            "The mail server %(server)s does not offer STARTTLS: set BOOKBRIDGE_SMTP_SECURITY "
            "to ssl (usually port 465) or, for a local server only, none.", server=where)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return stored_message("The mail server %(server)s refused the recipients "
                              "%(recipients)s.", server=where,
                              recipients=", ".join(error.recipients))
    if isinstance(error, smtplib.SMTPSenderRefused):
        return stored_message(
            "The mail server %(server)s refused the sender %(sender)s: set "
            "BOOKBRIDGE_SMTP_FROM to an address it accepts.", server=where,
            sender=str(error.sender))
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)
        # The server's own words are data: kept as it wrote them.
        return stored_message("The mail server %(server)s answered %(code)s: %(answer)s",
                              server=where, code=error.smtp_code, answer=text)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return stored_message(
            "The mail server %(server)s closed the connection unexpectedly; check "
            "BOOKBRIDGE_SMTP_SECURITY and the port (ssl usually on 465, starttls on 587).",
            server=where)
    if isinstance(error, ssl.SSLError):
        return stored_message(
            "The secure connection to the mail server %(server)s failed (%(detail)s); check "
            "BOOKBRIDGE_SMTP_SECURITY and the port.", server=where, detail=str(error.reason))
    if isinstance(error, socket.timeout | TimeoutError):
        return stored_message("The mail server %(server)s did not answer within %(seconds)s "
                              "seconds.", server=where, seconds=TIMEOUT)
    if isinstance(error, OSError):
        return stored_message(
            "The mail server %(server)s could not be reached (%(detail)s); check "
            "BOOKBRIDGE_SMTP_HOST and BOOKBRIDGE_SMTP_PORT.", server=where,
            detail=error.strerror or type(error).__name__)
    if isinstance(error, smtplib.SMTPException):
        return stored_message("The mail server %(server)s failed: %(detail)s", server=where,
                              detail=str(error))
    return stored_message("Sending through %(server)s failed unexpectedly (%(detail)s).",
                          server=where, detail=type(error).__name__)


def _scrub(text: str, secret: str) -> str:
    """`text` without `secret`, as written and as the stored message's JSON escapes it."""
    if not secret:
        return text
    return text.replace(secret, "***").replace(json.dumps(secret, ensure_ascii=False)[1:-1],
                                               "***")
