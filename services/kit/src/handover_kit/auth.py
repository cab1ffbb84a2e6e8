"""Who is calling, and may they: every request but the probes is authenticated here.

A bearer token is one of three things:
- an API key (`hov_live_...`): a machine, looked up by digest in the principal directory;
- a service token (an EdDSA JWT whose issuer is `handover-service:<name>`): another service;
- anything else is taken for an OIDC JWT: a person, mapped to an organization and a role by
  their membership in the directory.
Each principal is then held to a rate limit. Routes state the scopes they need with `require`;
which rows a principal sees is decided by PostgreSQL's row-level security (see `db.py`).
"""

import math
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from fastapi.security.base import SecurityBase
from limits import parse as parse_rate_limit

from handover_kit.credentials import (
    api_key_digest,
    looks_like_api_key,
    service_token_issuer,
    verify_service_token,
)
from handover_kit.directory import PrincipalDirectory
from handover_kit.errors import Forbidden, TooManyRequests, Unauthorized
from handover_kit.oidc import OidcVerifier
from handover_shared.auth import ROLE_SCOPES, Scope


class PrincipalKind(StrEnum):
    PERSON = "person"
    API_KEY = "api_key"
    SERVICE = "service"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str
    """Stable and free of secrets: what rate limits, logs and audit trails name."""
    organization_id: UUID | None
    scopes: frozenset[Scope]

    @property
    def all_tenants(self) -> bool:
        return self.kind is PrincipalKind.SERVICE or Scope.PLATFORM_ADMIN in self.scopes

    @property
    def tenant(self) -> UUID | None:
        """The one organization whose data this principal sees, unless it sees all."""
        return None if self.all_tenants else self.organization_id


class RateLimiter:
    """A moving window per principal, in this process's memory: at most the rate's amount of
    hits in any window of its length; a refused hit does not count.

    Kept here rather than taken from `limits`' memory storage, whose expiry pass hops to a
    worker thread for every principal while requests keep coming: a thread hand-off on almost
    every request. One event loop runs this, so no lock is needed."""

    def __init__(self, rate: str, clock: Callable[[], float] = time.monotonic) -> None:
        item = parse_rate_limit(rate)
        self._limit: int = item.amount
        self._window = float(item.get_expiry())
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = clock() + self._window

    async def hit(self, key: str) -> None:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        start = now - self._window
        while hits and hits[0] < start:
            hits.popleft()
        if len(hits) < self._limit:
            hits.append(now)
            return
        raise TooManyRequests(retry_after=max(1, math.ceil(hits[0] + self._window - now)))

    def _sweep(self, now: float) -> None:
        """Forget principals without a hit in the window: memory follows the active ones."""
        start = now - self._window
        self._hits = {key: hits for key, hits in self._hits.items() if hits and hits[-1] >= start}
        self._next_sweep = now + self._window


class Authenticator:
    def __init__(
        self,
        *,
        service: str,
        directory: PrincipalDirectory,
        oidc: OidcVerifier | None,
        service_keys: Callable[[str], Ed25519PublicKey | None],
        limiter: RateLimiter,
    ) -> None:
        self.service = service
        self.directory = directory
        self.oidc = oidc
        self.service_keys = service_keys
        self.limiter = limiter

    async def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("A bearer token is required: an OIDC access token or an API key.")
        if looks_like_api_key(token):
            principal = await self._api_key(token)
        elif (caller := service_token_issuer(token)) is not None:
            return self._service(token, caller)
        else:
            principal = await self._person(token)
        await self.limiter.hit(principal.id)
        return principal

    async def _api_key(self, token: str) -> Principal:
        key = await self.directory.api_key(api_key_digest(token))
        if key is None:
            raise Unauthorized("The API key is not valid: unknown, or revoked.")
        self.directory.record_use(key.id)
        return Principal(
            PrincipalKind.API_KEY, f"api_key:{key.id}", key.organization_id, key.scopes
        )

    def _service(self, token: str, caller: str) -> Principal:
        try:
            name = verify_service_token(
                token, caller, self.service_keys(caller), audience=self.service
            )
        except jwt.PyJWTError:
            raise Unauthorized("The service token is not valid.") from None
        return Principal(PrincipalKind.SERVICE, f"service:{name}", None, frozenset())

    async def _person(self, token: str) -> Principal:
        if self.oidc is None:
            raise Unauthorized("The bearer token is not valid here.")
        try:
            identity = await self.oidc.verify(token)
        except jwt.PyJWTError:
            raise Unauthorized(
                "The bearer token is not valid: signature, expiry or audience."
            ) from None
        member = await self.directory.member(identity.issuer, identity.subject)
        if member is None:
            raise Forbidden("You are signed in, but not a member of any organization here.")
        return Principal(
            PrincipalKind.PERSON,
            f"person:{member.id}",
            member.organization_id,
            ROLE_SCOPES[member.role],
        )


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="OIDC JWT, or an API key (hov_live_...)",
    description="People send their identity provider's access token; machines an API key.",
)


# Kept in the request's scope: its state may be shared between requests (asgi-lifespan's is).
_PRINCIPAL = "handover.principal"


async def principal_of(request: Request) -> Principal:
    """The caller, authenticated once per request whichever dependency asks first. The
    dependencies below call it rather than depend on one another: FastAPI solves a
    dependency's whole sub-graph each time it is asked for, even when its value is cached,
    at about 10 us a level."""
    principal = request.scope.get(_PRINCIPAL)
    if principal is None:
        authenticator = request.state.authenticator
        assert isinstance(authenticator, Authenticator)
        credentials = await _bearer(request)
        principal = await authenticator.authenticate(
            credentials.credentials if credentials else None
        )
        request.scope[_PRINCIPAL] = principal  # also for the access log
    assert isinstance(principal, Principal)
    return principal


def principal_id(scope: MutableMapping[str, Any]) -> str | None:
    """Who sent the request, once authenticated, for the access log; else None."""
    principal = scope.get(_PRINCIPAL)
    return principal.id if isinstance(principal, Principal) else None


# Every public route also has `require`, which puts the scheme on it in the OpenAPI document.
CurrentPrincipal = Annotated[Principal, Depends(principal_of)]


class RequiredScopes(SecurityBase):
    """The scopes a route needs: checked on each request, and listed on the operation's security
    requirement in the OpenAPI document. It is the bearer scheme itself to FastAPI, which so
    names the scheme on the route without a dependency of its own to solve per request."""

    def __init__(self, scopes: tuple[Scope, ...]) -> None:
        self.model = _bearer.model
        self.scheme_name = _bearer.scheme_name
        self.scopes = scopes

    async def __call__(self, request: Request) -> Principal:
        principal = await principal_of(request)
        missing = [scope for scope in self.scopes if scope not in principal.scopes]
        if missing:
            raise Forbidden(
                f"This needs the scope {', '.join(missing)}, which your credentials lack.",
                missing_scopes=missing,
            )
        return principal


def require(*scopes: Scope) -> Any:
    """A route dependency: the caller must hold every one of `scopes`."""
    return Depends(RequiredScopes(scopes))


async def _service_caller(request: Request) -> Principal:
    principal = await principal_of(request)
    if principal.kind is not PrincipalKind.SERVICE:
        raise Forbidden("Only Handover's own services may call this endpoint.")
    return principal


ServiceCaller = Depends(_service_caller)
