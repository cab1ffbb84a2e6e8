"""Idempotent creates: a client that sends `Idempotency-Key` may retry a create safely.

The first request with a key claims it, for its principal, and stores its answer (status,
body, `Location`) in the same transaction as what it created: both commit, or neither does.
The same key with the same body later replays the stored answer, and creates nothing; the
same key with another body is refused with 422. A duplicate arriving while the first is still
running waits on the first's row lock, then replays its answer. Keys are kept 24 hours:
a principal's expired keys are forgotten when it next claims one.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import conv

from handover_kit.auth import Principal
from handover_kit.concurrency import ETAG_HEADER, etag
from handover_kit.errors import UnprocessableContent

TABLE_NAME = "idempotency_keys"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A key of the client's choosing (a UUID is a good one) that makes the "
        "create safe to retry for 24 hours: the same key and body replay the first answer "
        "and create nothing more; the same key with another body is refused with 422.",
        examples=["5f0c3a52-7b1e-4d0a-9c8e-2f6b1d3e4a70"],
    ),
]


class IdempotencyKeyReused(UnprocessableContent):
    title = "Idempotency Key Reused"
    type = "/problems/idempotency-key-reused"


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        TABLE_NAME,
        metadata,
        Column("principal", String(100), nullable=False),
        Column("key", String(200), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("status", Integer(), nullable=True),
        Column("location", String(500), nullable=True),
        Column("body", JSONB(), nullable=True),
        Column("created_at", DateTime(timezone=True), server_default=text("now()"), nullable=False),
        PrimaryKeyConstraint("principal", "key", name=conv(f"pk_{TABLE_NAME}")),
    )


def fingerprint(body: Any) -> str:
    """The same for bodies that mean the same: key order and spacing do not count."""
    canonical = json.dumps(to_jsonable_python(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    location: str | None
    body: Any

    def response(self) -> JSONResponse:
        headers = {REPLAYED_HEADER: "true"}
        if self.location:
            headers["Location"] = self.location
        return JSONResponse(self.body, status_code=self.status, headers=headers)


@dataclass(frozen=True)
class Created:
    """What a create made: its representation, where it lives, and its version."""

    body: BaseModel
    location: str
    version: int


class Idempotency:
    """One service's idempotency keys, in its schema."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = idempotency_table(metadata)

    async def claim(
        self, session: AsyncSession, principal: Principal, key: str, body: Any
    ) -> StoredAnswer | None:
        """Claim `key` for this request; or, if a request with the same body claimed it
        already, its stored answer to replay."""
        table = self.table
        print_ = fingerprint(body)
        # Claims older than the retention are forgotten (this principal's, found by the
        # primary key's prefix), so their keys are free again.
        await session.execute(
            delete(table).where(
                table.c.principal == principal.id,
                table.c.created_at < text(f"now() - interval '{int(RETENTION.total_seconds())} s'"),
            )
        )
        claimed = await session.execute(
            insert(table)
            .values(principal=principal.id, key=key, fingerprint=print_)
            .on_conflict_do_nothing()
            .returning(table.c.key)
        )
        if claimed.first() is not None:
            return None
        row = (
            await session.execute(
                select(table.c.fingerprint, table.c.status, table.c.location, table.c.body).where(
                    table.c.principal == principal.id, table.c.key == key
                )
            )
        ).one()
        if row.fingerprint != print_:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with another request body; use a new key for a "
                "new request.",
                errors=[
                    {
                        "loc": ["header", IDEMPOTENCY_KEY_HEADER],
                        "msg": "Key reused",
                        "type": "reused",
                    }
                ],
            )
        assert row.status is not None, "a claim commits only with its answer"
        return StoredAnswer(status=row.status, location=row.location, body=row.body)

    async def store(
        self,
        session: AsyncSession,
        principal: Principal,
        key: str,
        *,
        status: int,
        body: Any,
        location: str | None = None,
    ) -> None:
        """Keep the answer to the request that claimed `key`, to replay it."""
        table = self.table
        await session.execute(
            table.update()
            .where(table.c.principal == principal.id, table.c.key == key)
            .values(status=status, location=location, body=to_jsonable_python(body))
        )

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        key: str | None,
        request: Any,
        make: Callable[[], Awaitable[Created]],
    ) -> JSONResponse:
        """Answer a create with 201, `Location` and `ETag`. With a key, the answer is kept with
        what `make` created; a retry with the same `request` (what the client sent, path ids
        included) replays it, and `make` does not run again."""
        if key is not None:
            stored = await self.claim(session, principal, key, request)
            if stored is not None:
                return stored.response()
        created = await make()
        body = created.body.model_dump(mode="json")
        if key is not None:
            await self.store(
                session, principal, key, status=201, body=body, location=created.location
            )
        return JSONResponse(
            body,
            status_code=status.HTTP_201_CREATED,
            headers={"Location": created.location, ETAG_HEADER: etag(created.version)},
        )
