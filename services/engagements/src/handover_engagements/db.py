from sqlmodel import SQLModel

from handover_kit.db import schema_registry
from handover_kit.idempotency import Idempotency
from handover_kit.messaging import Messaging
from handover_kit.migrations import Migrations

SCHEMA = "engagements"
MIGRATIONS = Migrations(schema=SCHEMA, package="handover_engagements.migrations")


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of this service's tables: all of them live in its own schema."""


MESSAGING = Messaging(Table.metadata)
"""This service's outbox and inbox tables: facts it tells, and facts it was told."""

IDEMPOTENCY = Idempotency(Table.metadata)
"""This service's idempotency keys: the answers to creates that may be retried."""
