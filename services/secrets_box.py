"""Encryption at rest for tokens and keys (Fernet: AES-128-CBC with an HMAC)."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.i18n import stored_message


class SecretUnreadable(Exception):
    """A stored secret could not be decrypted (the encryption key changed)."""


class SecretBox:
    """Encrypts with the first key; decrypts with any, so keys can be rotated.

    `keys` is the configured ENCRYPTION_KEY: one key, or several separated by commas with
    the newest first.
    """

    def __init__(self, keys: str):
        self._fernet = MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])

    def seal(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str | None) -> str | None:
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadable(stored_message(
                "A stored secret cannot be decrypted: the encryption key has changed. "
                "Restore BOOKBRIDGE_ENCRYPTION_KEY (or data/encryption.key), or reconnect."
            )) from error
