"""People's bearer tokens: OIDC JWTs, verified against the identity provider's JWKS.

The key set is cached. A token signed with a key we do not know triggers one refetch (key
rotation), at most every `UNKNOWN_KEY_REFETCH` seconds, so made-up `kid`s cannot turn us into
a load generator against the provider.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import jwt
import structlog

from handover_kit.errors import DependencyUnavailable

# Asymmetric only: with HS* the "public" JWKS would be the signing secret.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"})
KEYS_TTL = 600.0
UNKNOWN_KEY_REFETCH = 30.0
CLOCK_LEEWAY = 30

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str


class OidcVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        algorithms: Sequence[str],
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unsupported = set(algorithms) - ALLOWED_ALGORITHMS
        if unsupported:
            raise ValueError(f"algorithms not allowed: {sorted(unsupported)}")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.algorithms = list(algorithms)
        self._http = http
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._next_fetch = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> Identity:
        """The token's issuer and subject, or a jwt.PyJWTError."""
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
        key = await self._key(str(header.get("kid", "")))
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            leeway=CLOCK_LEEWAY,
        )
        return Identity(issuer=claims["iss"], subject=str(claims["sub"]))

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = self._fetched_at is None or self._clock() - self._fetched_at >= KEYS_TTL
        if stale or kid not in self._keys:
            await self._refresh()
        if kid not in self._keys:
            raise jwt.InvalidKeyError("the token's key is not in the provider's key set")
        return self._keys[kid]

    async def _refresh(self) -> None:
        async with self._lock:
            if self._clock() < self._next_fetch:
                if not self._keys:
                    raise _provider_unavailable()
                return
            self._next_fetch = self._clock() + UNKNOWN_KEY_REFETCH
            try:
                response = await self._http.get(self.jwks_url)
                response.raise_for_status()
                document = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks_unavailable", url=self.jwks_url, error=type(exc).__name__)
                if not self._keys:
                    raise _provider_unavailable() from exc
                return  # keep verifying with the keys we have
            self._keys = _usable_keys(document)
            self._fetched_at = self._clock()


def _provider_unavailable() -> DependencyUnavailable:
    return DependencyUnavailable(
        "The identity provider's keys could not be fetched; try again later.",
        dependency="identity-provider",
    )


def _usable_keys(document: object) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    entries = document.get("keys", []) if isinstance(document, dict) else []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry)
        except jwt.PyJWKError:
            continue  # a key type we cannot use: skip it, not the whole set
    return keys
