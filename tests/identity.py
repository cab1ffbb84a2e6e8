"""A made-up OIDC identity provider: our own keys, our own JWKS, tokens on demand."""

import json
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://idp.test/"
JWKS_URL = "https://idp.test/.well-known/jwks.json"
AUDIENCE = "handover"


class IdentityProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.jwks_requests = 0

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def transport(self) -> httpx.MockTransport:
        def serve(request: httpx.Request) -> httpx.Response:
            if str(request.url) != JWKS_URL:
                return httpx.Response(404)
            self.jwks_requests += 1
            return httpx.Response(200, json=self.jwks())

        return httpx.MockTransport(serve)

    def token(
        self,
        subject: str,
        *,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        expires_in: int = 300,
        key: Any = None,
        algorithm: str = "RS256",
        kid: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + expires_in,
        }
        return jwt.encode(
            claims,
            key if key is not None else self.key,
            algorithm=algorithm,
            headers={"kid": kid or self.kid},
        )


# What a service is told about the provider; and a directory that looks up every unknown
# credential at once, so a key or membership a test has just made is usable, and refreshes
# often, so revocations land within a fraction of a second.
SERVICE_SETTINGS: dict[str, Any] = {
    "HANDOVER_OIDC_ISSUER": ISSUER,
    "HANDOVER_OIDC_JWKS_URL": JWKS_URL,
    "HANDOVER_OIDC_AUDIENCE": AUDIENCE,
    "directory_miss_refresh_seconds": 0,
    "directory_refresh_seconds": 0.2,
}
