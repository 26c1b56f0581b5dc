"""User accounts: creation, password rules, sign-in with its slow-down, sessions that end,
and one-time password-reset links."""

import datetime
import functools
import hashlib
import ipaddress
import secrets
import string
from pathlib import Path

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from flask_babel import ngettext
from peewee import IntegrityError

from models import LoginThrottle, PasswordReset, Role, User, db, utcnow
from services import audit

# argon2-cffi's defaults (RFC 9106's low-memory profile): about 0.1 s per hash on purpose.
STANDARD_HASHER = PasswordHasher()
# argon2-cffi's profile made for tests, microseconds per hash: the suite makes and checks
# over a thousand passwords. Only an app built with TESTING and FAST_PASSWORD_HASHING uses
# it (see `use_fast_hashing`); a password hashed with it is rehashed at the next sign-in of
# an app that does not.
FAST_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
_hasher = STANDARD_HASHER

# Failed sign-ins allowed before the waits start; each further failure doubles the wait.
FREE_ATTEMPTS = 5
FIRST_LOCK = datetime.timedelta(seconds=30)
MAX_LOCK = datetime.timedelta(minutes=15)
# Throttle rows older than this are purged, and the table never holds more than THROTTLE_CAP.
THROTTLE_KEEP = datetime.timedelta(days=1)
THROTTLE_CAP = 10_000

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a whole address
MAX_NAME_LENGTH = 100
RESET_LIFETIME = datetime.timedelta(hours=24)
APP_NAME = "bookbridge"
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
_EDGE_CHARACTERS = string.digits + string.punctuation


class AccountError(Exception):
    """A user-facing reason why an account action was refused.

    Made where a person asked and shown to them at once (a flash), so it is translated when
    raised (gettext: the reader's language; English on the command line)."""


class SignInThrottled(AccountError):
    def __init__(self, seconds: int):
        self.seconds = seconds
        super().__init__(ngettext(
            "Too many wrong passwords. Wait %(num)s second and try again.",
            "Too many wrong passwords. Wait %(num)s seconds and try again.", seconds))


# -- Passwords ---------------------------------------------------------------------------------


def use_fast_hashing(fast: bool) -> None:
    """Hash with FAST_HASHER (tests) or STANDARD_HASHER. Process-wide, like the database
    connection: set by create_app, and a process serves one app."""
    global _hasher
    _hasher = FAST_HASHER if fast else STANDARD_HASHER


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def _looks_common(password: str) -> bool:
    """Whether the password is a listed one, ignoring case, spaces and digits or symbols
    added at either end ("Password2024!" is "password")."""
    compact = "".join(password.lower().split())
    candidates = {compact, compact.rstrip(_EDGE_CHARACTERS), compact.strip(_EDGE_CHARACTERS)}
    return any(candidate in _common_passwords() for candidate in candidates if candidate)


def check_password_rules(password: str, *, email: str = "", name: str = "") -> None:
    """Raise AccountError with the reason when the password is too weak or too long."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_("Use a password of at least %(num)s characters.",
                             num=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(_("Use a password of at most %(num)s characters.",
                             num=MAX_PASSWORD_LENGTH))
    if len(set(password)) < 4:
        raise AccountError(_("That password repeats too few characters; choose a passphrase "
                             "of several words."))
    # The e-mail, its name part, the person's name or the app's name, give or take digits
    # and symbols at the ends, is the next thing an attacker tries.
    core = "".join(password.lower().split()).strip(_EDGE_CHARACTERS)
    email = normalise_email(email)
    personal = {email, email.split("@")[0], "".join((name or "").lower().split())} - {""}
    if core in personal:
        raise AccountError(_("The password must not be your e-mail address or name."))
    if core == APP_NAME or core.startswith(APP_NAME) and len(core) < 2 * len(APP_NAME):
        raise AccountError(_("The password must not be the name of the app."))
    if _looks_common(password):
        raise AccountError(_("That password is on the list of common passwords attackers try "
                             "first; choose another (a few unrelated words work well)."))


# -- Users -------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_email_and_name(email: str, name: str) -> None:
    if "@" not in email or len(email) < 3:
        raise AccountError(_("Enter a valid e-mail address."))
    if len(email) > MAX_EMAIL_LENGTH:
        raise AccountError(_("An e-mail address has at most %(num)s characters.",
                             num=MAX_EMAIL_LENGTH))
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(_("Keep the name to %(num)s characters.", num=MAX_NAME_LENGTH))


def create_user(email: str, password: str, role: Role, *, name: str = "", by=None) -> User:
    email, name = normalise_email(email), (name or "").strip()
    _check_email_and_name(email, name)
    check_password_rules(password, email=email, name=name)
    try:
        with db.atomic():
            user = User.create(email=email, name=name, role=role,
                               password_hash=hash_password(password))
    except IntegrityError:
        raise AccountError(_("A user with the address %(email)s already exists.",
                             email=email)) from None
    audit.record("user.create", user=by, actor=None if by else "cli", subject=email,
                 after={"role": role.value}, link=user)
    return user


def ensure_first_admin(email: str, password: str) -> User | None:
    """Create the first admin from the environment when there are no users yet."""
    if not email or not password or User.select().exists():
        return None
    return create_user(email, password, Role.ADMIN)


def admin_count() -> int:
    return User.select().where(User.role == Role.ADMIN, User.active).count()


# -- Sessions ----------------------------------------------------------------------------------


def user_for_session(session_id: str) -> User | None:
    """The active user a session's id ("<user id>:<session version>") still belongs to.

    Sessions from before a sign-out, a password change or a deactivation carry an older
    version and find nobody."""
    user_id, _, version = (session_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(session_id) > 40:
        return None
    return User.get_or_none(User.id == int(user_id), User.active == True,  # noqa: E712
                            User.session_version == int(version))


def end_sessions(user: User) -> None:
    """End every session of this user, on every device."""
    User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
    user.session_version = User.get_by_id(user.id).session_version


def set_language(user: User, language: str) -> None:
    """The user's language for every page and message: "en", "fr", or "" for the browser's."""
    User.update(language=language).where(User.id == user.id).execute()
    user.language = language


def change_password(user: User, current: str, new: str) -> None:
    """A user's own change: the current password must match. Ends the other sessions.

    Wrong current passwords count against the account like failed sign-ins, so a borrowed
    session cannot be used to guess the password."""
    now, key = utcnow(), account_key(user.email)
    _refuse_while_locked(_recent(key, now), now)
    if not _verify(user, current or ""):
        _note_failure(key, now)
        raise AccountError(_("The current password is not right; nothing was changed."))
    if current == new:
        raise AccountError(_("Choose a password different from the current one."))
    _set_password(user, new)
    audit.record("user.password_change", user=user, subject=user.email)


def _set_password(user: User, new: str) -> None:
    check_password_rules(new, email=user.email, name=user.name)
    with db.atomic():
        user.password_hash = hash_password(new)
        user.save(only=[User.password_hash])
        end_sessions(user)


# -- Password-reset links ------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_reset(user: User, *, by: User | None) -> str:
    """A new one-time token for `user` (earlier unused ones stop working); only its hash is
    stored, so the token is shown once, to the admin who asked (`by`; None from the CLI)."""
    token = secrets.token_urlsafe(32)
    with db.atomic():
        PasswordReset.delete().where(PasswordReset.user == user,
                                     PasswordReset.used_at.is_null()).execute()
        PasswordReset.create(user=user, token_hash=_token_hash(token), created_by=by,
                             expires_at=utcnow() + RESET_LIFETIME)
    audit.record("user.password_reset_link", user=by, actor=None if by else "cli",
                 subject=user.email, link=user)
    return token


def reset_for(token: str) -> PasswordReset | None:
    """The unused, unexpired reset of this token, or None."""
    if not token or len(token) > 100:
        return None
    return PasswordReset.get_or_none(PasswordReset.token_hash == _token_hash(token),
                                     PasswordReset.used_at.is_null(),
                                     PasswordReset.expires_at > utcnow())


def use_reset(token: str, new: str) -> User:
    """Set the password through a reset link, once; ends every session of the user."""
    reset = reset_for(token)
    if reset is None or not reset.user.active:
        raise AccountError(_("This reset link has expired or was already used. Ask an admin "
                             "for a new one."))
    user = reset.user
    with db.atomic():
        _set_password(user, new)
        # Claim the link in the same transaction; a second use finds it used.
        claimed = (PasswordReset.update(used_at=utcnow())
                   .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_null())
                   .execute())
        if not claimed:
            raise AccountError(_("This reset link was already used. Ask an admin for a new "
                                 "one."))
    audit.record("user.password_reset", user=user, subject=user.email)
    return user


# -- Signing in ----------------------------------------------------------------------------------


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the e-mail is unknown, so both answers take as long."""
    return hasher.hash(secrets.token_hex(16))


def address_key(address: str | None) -> str:
    """The throttle key of a client address; IPv6 counts per /64 (one subscriber's range)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "address:unknown"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def account_key(email: str) -> str:
    """The throttle key of an e-mail, hashed: the table never holds what people typed, and
    known and unknown addresses are counted alike (no row reveals an account)."""
    return "account:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


def authenticate(email: str, password: str, address: str | None = None) -> User | None:
    """Return the user when the password matches; slow down repeated failures.

    An address that failed too often waits, whatever it sends. An account that failed too
    often waits only from addresses that have failed recently, so the real user, signing in
    from an address that has not failed, is never locked out. Known and unknown e-mails take
    the same time (a password hash is always checked).
    """
    email, now = normalise_email(email), utcnow()
    by_address = _recent(address_key(address), now)
    by_account = _recent(account_key(email), now)
    _refuse_while_locked(by_address, now)
    if by_address is not None:
        _refuse_while_locked(by_account, now)
    user = User.get_or_none(User.email == email) if len(email) <= MAX_EMAIL_LENGTH else None
    matches = _verify(user, password or "")
    if user is not None and user.active and matches:
        _forget(by_address, by_account)
        user.last_login_at = now
        user.save(only=[User.last_login_at])
        return user
    _note_failure(address_key(address), now)
    _note_failure(account_key(email), now)
    _purge(now)
    return None


def _verify(user: User | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # never matches; still hashed below, for the same timing
    stored = user.password_hash if user is not None else _dummy_hash(_hasher)
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        user.save(only=[User.password_hash])
    return True


def _recent(key: str, now: datetime.datetime) -> LoginThrottle | None:
    """The key's throttle row when it failed within THROTTLE_KEEP."""
    return LoginThrottle.get_or_none(LoginThrottle.key == key,
                                     LoginThrottle.last_failure_at > now - THROTTLE_KEEP)


def _refuse_while_locked(throttle: LoginThrottle | None, now: datetime.datetime) -> None:
    if throttle is not None and throttle.locked_until and throttle.locked_until > now:
        raise SignInThrottled(int((throttle.locked_until - now).total_seconds()) + 1)


def _forget(*throttles: LoginThrottle | None) -> None:
    for throttle in throttles:
        if throttle is not None:
            throttle.delete_instance()


def _note_failure(key: str, now: datetime.datetime) -> None:
    with db.atomic():
        throttle = LoginThrottle.get_or_none(LoginThrottle.key == key)
        if throttle is None or throttle.last_failure_at is None \
                or throttle.last_failure_at <= now - THROTTLE_KEEP:
            throttle = throttle or LoginThrottle(key=key)
            throttle.failures, throttle.locked_until = 0, None
        throttle.failures += 1
        throttle.last_failure_at = now
        extra = throttle.failures - FREE_ATTEMPTS
        if extra >= 0:
            # 30 s, 1 min, 2 min ... up to 15 minutes.
            throttle.locked_until = now + min(FIRST_LOCK * 2**min(extra, 10), MAX_LOCK)
        throttle.save()


def _purge(now: datetime.datetime) -> None:
    """Keep the throttle table small: drop stale rows, then the oldest past the cap."""
    LoginThrottle.delete().where(
        LoginThrottle.last_failure_at <= now - THROTTLE_KEEP,
        (LoginThrottle.locked_until.is_null()) | (LoginThrottle.locked_until <= now),
    ).execute()
    excess = LoginThrottle.select().count() - THROTTLE_CAP
    if excess > 0:
        oldest = (LoginThrottle.select(LoginThrottle.id)
                  .order_by(LoginThrottle.last_failure_at).limit(excess))
        LoginThrottle.delete().where(LoginThrottle.id.in_(oldest)).execute()
