"""A real SMTP server for the tests (aiosmtpd) on a free loopback port, plain TCP.

It keeps every mail it accepts as an `email.message.EmailMessage` with its envelope
recipients. With `password` set it advertises AUTH (LOGIN, PLAIN) and accepts only
`user` with that password, as a mail provider would.
"""

import email
import email.policy
import socket
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class ReceivedMail:
    envelope_to: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        return self.message.get_content()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Keeper:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.server.lock:
            self.server.mails.append(ReceivedMail(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, user: str = "alerts@example.com", password: str | None = None,
                 port: int | None = None):
        self.user, self.password = user, password
        self.mails: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self.port = port or free_port()
        extra = {}
        if password is not None:
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port,
                                      **extra)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        good = (isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == self.user
                and auth_data.password.decode() == self.password)
        return AuthResult(success=good, handled=False)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def config(self) -> dict:
        """The BOOKBRIDGE_SMTP_* settings that reach this server."""
        values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_SECURITY": "none",
                  "SMTP_FROM": "bookbridge@example.com"}
        if self.password is not None:
            values.update(SMTP_USERNAME=self.user, SMTP_PASSWORD=self.password)
        return values
