"""User accounts: creation, password checks and the slow-down after failed sign-ins."""

import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import IntegrityError

from models import LoginThrottle, Role, User, db, utcnow
from services import audit

_hasher = PasswordHasher()

FREE_ATTEMPTS = 5
MAX_LOCK = datetime.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10


class AccountError(Exception):
    """A user-facing reason why an account action was refused."""


class SignInThrottled(AccountError):
    def __init__(self, seconds: int):
        self.seconds = seconds
        super().__init__(
            f"Too many failed sign-ins for this address. Wait {seconds} seconds and try again."
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")


def create_user(email: str, password: str, role: Role, *, name: str = "", by=None) -> User:
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError("Enter a valid e-mail address.")
    check_password_rules(password)
    try:
        with db.atomic():
            user = User.create(email=email, name=name.strip(), role=role,
                               password_hash=hash_password(password))
    except IntegrityError:
        raise AccountError(f"A user with the address {email} already exists.") from None
    audit.record("user.create", user=by, actor=None if by else "cli", subject=email,
                 after={"role": role.value})
    return user


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(email: str, password: str) -> User | None:
    """Return the user when the password matches; slow down repeated failures.

    Raises SignInThrottled while the address is locked, whether or not the password is
    right, so a guesser learns nothing during the wait.
    """
    email = normalise_email(email)
    throttle = LoginThrottle.get_or_none(LoginThrottle.email == email)
    now = utcnow()
    if throttle and throttle.locked_until and throttle.locked_until > now:
        raise SignInThrottled(int((throttle.locked_until - now).total_seconds()) + 1)
    user = User.get_or_none(User.email == email)
    if user and user.active and _verify(user, password):
        if throttle:
            throttle.delete_instance()
        user.last_login_at = now
        user.save(only=[User.last_login_at])
        return user
    _note_failure(email, now)
    return None


def _verify(user: User, password: str) -> bool:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        user.save(only=[User.password_hash])
    return True


def _note_failure(email: str, now: datetime.datetime) -> None:
    with db.atomic():
        throttle, _ = LoginThrottle.get_or_create(email=email)
        throttle.failures += 1
        throttle.last_failure_at = now
        extra = throttle.failures - FREE_ATTEMPTS
        if extra >= 0:
            # 1 s, 2 s, 4 s ... up to 15 minutes.
            throttle.locked_until = now + min(datetime.timedelta(seconds=2**extra), MAX_LOCK)
        throttle.save()


def ensure_first_admin(email: str, password: str) -> User | None:
    """Create the first admin from the environment when there are no users yet."""
    if not email or not password or User.select().exists():
        return None
    return create_user(email, password, Role.ADMIN)


def admin_count() -> int:
    return User.select().where(User.role == Role.ADMIN, User.active).count()
