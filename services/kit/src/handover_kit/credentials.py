"""Credentials that are ours: API keys for machines, and signed tokens between services.

API keys are 256 random bits behind a recognisable prefix, so a leaked one is easy to spot
and to scan for. Only their SHA-256 is stored: a key that random needs no slow hash.

A service proves who it is with a short-lived EdDSA JWT, signed with its own private key and
addressed to one service (`aud`). Callees hold public keys only, so no service can sign for
another, and nothing is trusted for having come through the gateway.
"""

import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Generator
from dataclasses import dataclass

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from handover_shared.auth import API_KEY_PREFIX

SERVICE_ISSUER_PREFIX = "handover-service:"
SERVICE_TOKEN_LIFETIME = 60
_ALGORITHM = "EdDSA"
VERIFIED_TOKEN_SECONDS = 10.0
"""How long a verified service token is taken on trust when it comes again (never past its
expiry): a caller reuses one token for many calls, and each would otherwise be parsed twice and
its signature checked."""
_VERIFIED_TOKENS_MAX = 256


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("an Ed25519 key is 32 bytes, base64url-encoded") from None


def private_key_from_seed(seed: str) -> Ed25519PrivateKey:
    """A key from its 32-byte seed, base64url-encoded (what settings hold)."""
    raw = _unb64(seed)
    if len(raw) != 32:
        raise ValueError("an Ed25519 key is 32 bytes, base64url-encoded")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    raw = _unb64(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 key is 32 bytes, base64url-encoded")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PrivateKey) -> str:
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def new_service_seed() -> str:
    return _b64(secrets.token_bytes(32))


def development_seed(service: str) -> str:
    """A fixed seed per service name, so a development stack needs no key configuration.
    Anyone can derive it: settings refuse it in production."""
    return _b64(hashlib.sha256(f"handover-development-service-key:{service}".encode()).digest())


def mint_service_token(service: str, key: Ed25519PrivateKey, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": SERVICE_ISSUER_PREFIX + service,
        "sub": service,
        "aud": audience,
        "iat": now,
        "exp": now + SERVICE_TOKEN_LIFETIME,
    }
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


@dataclass(frozen=True)
class _Verified:
    caller: str
    audience: str
    key: bytes
    subject: str
    until: float


_verified: dict[str, _Verified] = {}


def _recently_verified(token: str) -> _Verified | None:
    verified = _verified.get(token)
    if verified is None or time.time() >= verified.until:
        return None
    return verified


def service_token_issuer(token: str) -> str | None:
    """The calling service a token claims to come from, unverified; None if not a service
    token. Only chooses which key to verify with."""
    if (verified := _recently_verified(token)) is not None:
        return verified.caller
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError:
        return None
    if isinstance(issuer, str) and issuer.startswith(SERVICE_ISSUER_PREFIX):
        return issuer.removeprefix(SERVICE_ISSUER_PREFIX)
    return None


def verify_service_token(
    token: str, caller: str, key: Ed25519PublicKey | None, audience: str
) -> str:
    """The verified calling service, or jwt.InvalidTokenError."""
    if key is None:
        raise jwt.InvalidTokenError(f"no key is trusted for service {caller!r}")
    raw_key = key.public_bytes_raw()
    verified = _recently_verified(token)
    if verified is not None and (verified.caller, verified.audience, verified.key) == (
        caller,
        audience,
        raw_key,
    ):
        return verified.subject
    claims = jwt.decode(
        token,
        key,
        algorithms=[_ALGORITHM],
        audience=audience,
        issuer=SERVICE_ISSUER_PREFIX + caller,
        options={"require": ["iss", "aud", "exp", "iat"]},
        leeway=5,
    )
    subject = str(claims["sub"])
    if len(_verified) >= _VERIFIED_TOKENS_MAX:
        _verified.clear()  # a handful of callers each reuse a token: this is rare
    until = min(float(claims["exp"]), time.time() + VERIFIED_TOKEN_SECONDS)
    _verified[token] = _Verified(caller, audience, raw_key, subject, until)
    return subject


@dataclass
class ServiceAuth(httpx.Auth):
    """Signs each outgoing request as `service`, for `audience`; reuses a token for half its
    lifetime."""

    service: str
    key: Ed25519PrivateKey
    audience: str
    _token: str = ""
    _renew_at: float = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        now = time.monotonic()
        if now >= self._renew_at:
            self._token = mint_service_token(self.service, self.key, self.audience)
            self._renew_at = now + SERVICE_TOKEN_LIFETIME / 2
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request
