"""Signing secrets at rest: encrypted, never hashed, because verifying an HMAC needs the secret.

A `MultiFernet` of the configured keys: the first key encrypts, every key decrypts, so the keys
themselves rotate by putting a new one first.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; a token no configured key opens raises `UnknownSecretKey`."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise UnknownSecretKey from None


class UnknownSecretKey(Exception):
    """A secret sealed with a key that is no longer configured: the source needs a new secret."""
