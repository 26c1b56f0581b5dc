"""A small real IMAP4rev1 server for the tests: plain TCP on loopback, one mailbox.

It speaks enough of RFC 3501 for imaplib: CAPABILITY, NOOP, LOGIN, SELECT/EXAMINE,
SEARCH, FETCH, STORE (each also under UID) and LOGOUT. FETCH of BODY[] or RFC822 sets
\\Seen as a real server does; BODY.PEEK[] does not. `drop_after = n` makes the next
connection close without a word when its (n+1)th command arrives, as a dropped line would.
"""

import re
import socketserver
import threading
from dataclasses import dataclass, field

CAPABILITIES = "IMAP4rev1 LITERAL+ UIDPLUS"


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)

    @property
    def seen(self) -> bool:
        return "\\Seen" in self.flags


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, user: str = "books@example.com", password: str = "s3cret pass"):  # noqa: S107
        super().__init__(("127.0.0.1", 0), _Session)
        self.user, self.password = user, password
        self.folders: dict[str, list[StoredMessage]] = {"INBOX": []}
        self.lock = threading.Lock()
        self.next_uid = 1
        self.drop_after: int | None = None
        self.commands: list[str] = []  # every command received, without arguments
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def messages(self) -> list[StoredMessage]:
        return self.folders["INBOX"]

    def start(self) -> "ImapServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def deliver(self, message, folder: str = "INBOX") -> StoredMessage:
        """Add a mail (an EmailMessage or bytes) as unread."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        with self.lock:
            stored = StoredMessage(self.next_uid, raw.replace(b"\r\n", b"\n")
                                   .replace(b"\n", b"\r\n"))
            self.next_uid += 1
            self.folders.setdefault(folder, []).append(stored)
        return stored


class _Dropped(Exception):
    pass


class _Session(socketserver.StreamRequestHandler):
    server: ImapServer

    def handle(self) -> None:
        self.user = None
        self.folder: list[StoredMessage] | None = None
        self.drop_after, self.server.drop_after = self.server.drop_after, None
        self.count = 0
        self.send(b"* OK [CAPABILITY " + CAPABILITIES.encode() + b"] test IMAP ready")
        try:
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                if not self.command(line.rstrip(b"\r\n").decode("utf-8", "replace")):
                    return
        except (_Dropped, ConnectionError):
            return

    def send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def command(self, line: str) -> bool:
        tag, _, rest = line.partition(" ")
        name, _, arguments = rest.partition(" ")
        name = name.upper()
        uid = name == "UID"
        if uid:
            name, _, arguments = arguments.partition(" ")
            name = name.upper()
        self.server.commands.append(f"UID {name}" if uid else name)
        self.count += 1
        if self.drop_after is not None and self.count > self.drop_after:
            raise _Dropped
        handler = getattr(self, f"do_{name.lower()}", None)
        if handler is None or (name not in ("CAPABILITY", "NOOP", "LOGIN", "LOGOUT")
                               and self.user is None):
            self.send(f"{tag} BAD unknown command or not logged in".encode())
            return True
        if name in ("SEARCH", "FETCH", "STORE") and self.folder is None:
            self.send(f"{tag} BAD no folder selected".encode())
            return True
        args = _tokens(arguments)
        result = handler(args, uid) if name in ("SEARCH", "FETCH", "STORE") else handler(args)
        self.send(f"{tag} {result}".encode())
        return name != "LOGOUT"

    def do_capability(self, args) -> str:
        self.send(f"* CAPABILITY {CAPABILITIES}".encode())
        return "OK CAPABILITY completed"

    def do_noop(self, args) -> str:
        return "OK NOOP completed"

    def do_logout(self, args) -> str:
        self.send(b"* BYE see you")
        return "OK LOGOUT completed"

    def do_login(self, args) -> str:
        if len(args) == 2 and args == [self.server.user, self.server.password]:
            self.user = args[0]
            return "OK LOGIN completed"
        return "NO [AUTHENTICATIONFAILED] Invalid credentials"

    def do_select(self, args) -> str:
        name = args[0] if args else ""
        name = "INBOX" if name.upper() == "INBOX" else name
        if name not in self.server.folders:
            self.folder = None
            return "NO [NONEXISTENT] no such folder"
        self.folder = self.server.folders[name]
        unseen = sum(1 for message in self.folder if not message.seen)
        self.send(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        self.send(f"* {len(self.folder)} EXISTS".encode())
        self.send(b"* 0 RECENT")
        self.send(f"* OK [UNSEEN {unseen}] unread".encode())
        self.send(b"* OK [UIDVALIDITY 1] UIDs valid")
        self.send(f"* OK [UIDNEXT {self.server.next_uid}] next".encode())
        return "OK [READ-WRITE] SELECT completed"

    do_examine = do_select

    def do_search(self, args, uid: bool) -> str:
        wanted = [word.upper() for word in args]
        found = []
        for number, message in enumerate(self.folder, start=1):
            if "UNSEEN" in wanted and message.seen:
                continue
            if "SEEN" in wanted and not message.seen:
                continue
            found.append(message.uid if uid else number)
        self.send(("* SEARCH " + " ".join(map(str, found))).strip().encode())
        return "OK SEARCH completed"

    def do_fetch(self, args, uid: bool) -> str:
        items = args[1].strip("()").upper().split() if len(args) > 1 else []
        for number, message in self._selected(args[0] if args else "", uid):
            parts = [f"UID {message.uid}"]
            body = None
            for item in items:
                if item == "RFC822.SIZE":
                    parts.append(f"RFC822.SIZE {len(message.raw)}")
                elif item == "FLAGS":
                    parts.append(f"FLAGS ({' '.join(sorted(message.flags))})")
                elif item in ("RFC822", "BODY[]", "BODY.PEEK[]"):
                    body = "RFC822" if item == "RFC822" else "BODY[]"
                    if item != "BODY.PEEK[]":
                        message.flags.add("\\Seen")
            head = f"* {number} FETCH ({' '.join(parts)}"
            if body:
                self.wfile.write(f"{head} {body} {{{len(message.raw)}}}\r\n".encode()
                                 + message.raw + b")\r\n")
            else:
                self.send(f"{head})".encode())
        return "OK FETCH completed"

    def do_store(self, args, uid: bool) -> str:
        if len(args) < 3:
            return "BAD STORE needs a set, an item and flags"
        item, flags = args[1].upper(), set(args[2].strip("()").split())
        for number, message in self._selected(args[0], uid):
            if item.startswith("+FLAGS"):
                message.flags |= flags
            elif item.startswith("-FLAGS"):
                message.flags -= flags
            else:
                message.flags = flags
            if not item.endswith(".SILENT"):
                self.send(f"* {number} FETCH (UID {message.uid} FLAGS "
                          f"({' '.join(sorted(message.flags))}))".encode())
        return "OK STORE completed"

    def _selected(self, sequence: str, uid: bool):
        """(sequence number, message) for each message in an IMAP sequence set."""
        numbered = list(enumerate(self.folder, start=1))
        highest = (numbered[-1][1].uid if uid else numbered[-1][0]) if numbered else 0
        wanted: set[int] = set()
        for piece in sequence.split(","):
            low, _, high = piece.partition(":")
            low_n = highest if low == "*" else int(low)
            high_n = low_n if not high else (highest if high == "*" else int(high))
            wanted.update(range(min(low_n, high_n), max(low_n, high_n) + 1))
        for number, message in numbered:
            if (message.uid if uid else number) in wanted:
                yield number, message


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+)')


def _tokens(text: str) -> list[str]:
    """Atoms, quoted strings (unescaped) and parenthesised lists (kept whole)."""
    tokens = []
    for quoted, listed, atom in _TOKEN.findall(text):
        if listed:
            tokens.append(listed)
        elif atom:
            tokens.append(atom)
        else:
            tokens.append(re.sub(r"\\(.)", r"\1", quoted))
    return tokens
