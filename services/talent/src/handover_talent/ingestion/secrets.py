"""Signing secrets at rest: encrypted, never hashed, because verifying an HMAC needs the secret.

A `MultiFernet` of the configured keys: the first key encrypts, every key decrypts, so the keys
themselves rotate by putting a new one first.
"""

import time

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

OPENED_TTL_SECONDS = 300.0
OPENED_MAX = 1024


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._first = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        # Opening a token costs an HMAC and an AES decryption, on every delivery: opened
        # secrets are kept a few minutes, keyed by the sealed text, which a rotation replaces.
        self._opened: dict[str, tuple[str, float]] = {}

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def reseal(self, sealed: str) -> str | None:
        """The secret sealed again under the first key; None if it already is. A token no
        configured key opens raises `UnknownSecretKey`."""
        token = sealed.encode()
        try:
            self._first.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return self._fernet.rotate(token).decode()
        except InvalidToken:
            raise UnknownSecretKey from None

    def open(self, sealed: str) -> str:
        """The secret; a token no configured key opens raises `UnknownSecretKey`."""
        now = time.monotonic()
        cached = self._opened.get(sealed)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            secret = self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise UnknownSecretKey from None
        if len(self._opened) >= OPENED_MAX:
            self._opened.clear()
        self._opened[sealed] = (secret, now + OPENED_TTL_SECONDS)
        return secret


class UnknownSecretKey(Exception):
    """A secret sealed with a key that is no longer configured: the source needs a new secret."""
