"""The principal directory, held in memory and refreshed in the background.

Every service verifies people and API keys against this copy, so the hot path makes no call.
A change (a revoked key, a removed membership) takes effect everywhere within one refresh
interval. If the directory cannot be refreshed for longer than the staleness bound, the
service stops accepting those principals (503) rather than trust a copy that may still hold
revoked keys.
"""

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import httpx
import structlog

from handover_kit.errors import DependencyUnavailable
from handover_shared.auth import ApiKeyUsage, Directory, DirectoryApiKey, DirectoryMember

if TYPE_CHECKING:
    from handover_kit.db import Database

log = structlog.get_logger(__name__)

DIRECTORY_PATH = "/internal/v1/directory"
USAGE_PATH = "/internal/v1/api-keys/usage"


class DirectorySource(Protocol):
    """Where the directory comes from: the engagements service's database, or its API."""

    async def load(self) -> Directory: ...

    async def report_usage(self, usage: ApiKeyUsage) -> None: ...


DirectoryFactory = Callable[["Database", Mapping[str, httpx.AsyncClient]], DirectorySource]


class RemoteDirectory:
    """The directory as the engagements service serves it to the others."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def load(self) -> Directory:
        response = await self._http.get(DIRECTORY_PATH)
        response.raise_for_status()
        return Directory.model_validate_json(response.content)

    async def report_usage(self, usage: ApiKeyUsage) -> None:
        response = await self._http.post(
            USAGE_PATH,
            content=usage.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()


def remote_directory(upstream: str) -> DirectoryFactory:
    return lambda _, upstreams: RemoteDirectory(upstreams[upstream])


class PrincipalDirectory:
    def __init__(
        self,
        source: DirectorySource,
        *,
        refresh_seconds: float,
        max_staleness_seconds: float,
        miss_refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.max_staleness_seconds = max_staleness_seconds
        self.miss_refresh_seconds = miss_refresh_seconds
        self._last_miss_refresh = float("-inf")
        self._lock = asyncio.Lock()
        self._clock = clock
        self._members: dict[tuple[str, str], DirectoryMember] = {}
        self._keys: dict[str, DirectoryApiKey] = {}
        self._loaded_at: float | None = None
        self._usage: dict[UUID, datetime] = {}

    async def member(self, issuer: str, subject: str) -> DirectoryMember | None:
        member = self._members.get((issuer, subject))
        if member is None and await self._refreshed_on_miss():
            member = self._members.get((issuer, subject))
        self._require_fresh()
        return member

    async def api_key(self, digest: str) -> DirectoryApiKey | None:
        key = self._keys.get(digest)
        if key is None and await self._refreshed_on_miss():
            key = self._keys.get(digest)
        self._require_fresh()
        return key

    def record_use(self, key_id: UUID) -> None:
        self._usage[key_id] = datetime.now(UTC)

    async def refresh(self) -> None:
        directory = await self.source.load()
        self._members = {(m.issuer, m.subject): m for m in directory.members}
        self._keys = {k.secret_sha256: k for k in directory.api_keys}
        self._loaded_at = self._clock()
        if self._usage:
            usage, self._usage = self._usage, {}
            try:
                await self.source.report_usage(ApiKeyUsage(last_used=usage))
            except Exception:
                # Best effort; keep the newest reading for the next round.
                for key_id, seen in usage.items():
                    self._usage[key_id] = max(seen, self._usage.get(key_id, seen))
                raise

    async def try_refresh(self, within: float = 10.0) -> None:
        try:
            async with asyncio.timeout(within):
                await self.refresh()
        except Exception as exc:  # noqa: BLE001 - any failure means "try again later"
            log.warning("directory_refresh_failed", error=type(exc).__name__)

    async def run(self) -> None:
        """Refresh forever, after a first `try_refresh`; a failed round is logged and retried,
        soon if nothing is loaded yet (the source may still be starting)."""
        while True:
            loaded = self._loaded_at is not None
            await asyncio.sleep(self.refresh_seconds if loaded else min(self.refresh_seconds, 0.5))
            await self.try_refresh()

    async def _refreshed_on_miss(self) -> bool:
        """A credential made seconds ago works at once: an unknown one refreshes the directory,
        at most once per `miss_refresh_seconds`, so made-up keys cannot flood the source."""
        now = self._clock()
        if self._lock.locked():
            # A refresh is under way (a new member's first requests come together): its
            # answer costs the source nothing more, and is the one that may know them.
            async with self._lock:
                return True
        if now - self._last_miss_refresh < self.miss_refresh_seconds:
            return False
        self._last_miss_refresh = now
        async with self._lock:
            if self._loaded_at is not None and self._loaded_at >= now:
                return True  # another request refreshed while this one waited
            await self.try_refresh(within=2.0)
        return True

    def _require_fresh(self) -> None:
        if self._loaded_at is None or self._clock() - self._loaded_at > self.max_staleness_seconds:
            raise DependencyUnavailable(
                "Credentials cannot be checked right now: the principal directory is out of "
                "date. Try again shortly.",
                dependency="engagements",
            )
