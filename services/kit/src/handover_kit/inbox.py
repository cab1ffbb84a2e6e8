"""The receiving end of the outbox: a message is applied once, however often it is delivered.

A handler records the message id and applies the fact in the same transaction:

    if await INBOX.accept_once(session, envelope.message_id, message_type=..., source=...):
        ...apply the fact...
    return 200  # a redelivery is answered the same way, and changes nothing

Two deliveries of one message at once are serialised by the primary key: the second insert
waits for the first transaction and then finds the id taken (or, if that one rolled back,
takes it itself).
"""

from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Column,
    CursorResult,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    bindparam,
    delete,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import conv

TABLE_NAME = "inbox"


def _inbox_table(metadata: MetaData) -> Table:
    return Table(
        TABLE_NAME,
        metadata,
        Column("message_id", Uuid(), nullable=False),
        Column("message_type", String(200), nullable=False),
        Column("source", String(63), nullable=False),
        Column(
            "received_at", DateTime(timezone=True), server_default=text("now()"), nullable=False
        ),
        PrimaryKeyConstraint("message_id", name=conv(f"pk_{TABLE_NAME}")),
        Index(conv(f"ix_{TABLE_NAME}_received_at"), "received_at"),
    )


class Inbox:
    """The inbox table of one service, defined in its schema-bound metadata. Create one per
    service, next to its `Table` base, so that autogenerate sees the table."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = _inbox_table(metadata)

    async def accept_once(
        self, session: AsyncSession, message_id: UUID, *, message_type: str, source: str
    ) -> bool:
        """Record the message in the caller's transaction; True if it is new, so the caller
        applies it now; False if it was applied before."""
        t = self.table
        statement = (
            insert(t)
            .values(message_id=message_id, message_type=message_type, source=source)
            .on_conflict_do_nothing(index_elements=[t.c.message_id])
            .returning(t.c.message_id)
        )
        return (await session.execute(statement)).first() is not None

    async def purge(self, session: AsyncSession, older_than: timedelta) -> int:
        """Forget messages received longer ago than `older_than`; how many went. Keep them
        longer than a sender can still redeliver: its whole retry schedule, plus the time a
        dead letter may wait for replay."""
        t = self.table
        result = await session.execute(
            delete(t).where(t.c.received_at < func.now() - bindparam("age", older_than))
        )
        return cast(CursorResult[Any], result).rowcount
