from sqlmodel import SQLModel

from handover_kit.db import schema_registry
from handover_kit.migrations import Migrations

SCHEMA = "talent"
MIGRATIONS = Migrations(schema=SCHEMA, package="handover_talent.migrations")


class Table(SQLModel, registry=schema_registry(SCHEMA)):
    """Base of this service's tables: all of them live in its own schema."""
