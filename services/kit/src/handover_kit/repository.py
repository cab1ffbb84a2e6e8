"""The base of every repository: insert, fetch by key, and filtered keyset pages of one table.

Domain repositories subclass it, set `model`, and add the queries that are theirs.
"""

from collections.abc import Mapping
from enum import Enum
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, configure_mappers
from sqlmodel import SQLModel, select

from handover_kit.db import flush_unique
from handover_kit.pagination import PageRequest, paginate

ModelT = TypeVar("ModelT", bound=SQLModel)


class Repository(Generic[ModelT]):
    model: type[ModelT]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: ModelT) -> ModelT:
        """Insert and read back what the database drew (ids, timestamps).
        A unique constraint violated raises UniqueViolation, naming the constraint."""
        self.session.add(row)
        await flush_unique(self.session)
        await self.session.refresh(row)
        return row

    async def get(self, key: object) -> ModelT | None:
        return await self.session.get(self.model, key)

    async def page(
        self,
        page: PageRequest,
        *,
        key: Mapped[Any],
        after: object | None,
        equal: Mapping[Mapped[Any], object | None] | None = None,
    ) -> tuple[list[ModelT], str | None]:
        """A page in `key` order; `equal` filters by column, skipping those given None."""
        statement = select(self.model)
        for column, value in (equal or {}).items():
            if value is not None:
                statement = statement.where(column == value)
        return await paginate(self.session, statement, key, page, after)


class Rows(Generic[ModelT]):
    """`model` instances made from the driver's rows (`Database.raw`), as the ORM makes
    them: every column, enums as their members. The rows come from the database, which
    checked them on the way in, so they are not validated again."""

    def __init__(self, model: type[ModelT]) -> None:
        table = model.__table__  # type: ignore[attr-defined]
        assert isinstance(table, Table)
        self.model = model
        self.table = f"{table.schema}.{table.name}"
        self.columns = ", ".join(table.columns.keys())
        """For `SELECT`: every column the model maps."""
        self._enums: dict[str, type[Enum]] = {
            name: column.type.enum_class
            for name, column in table.columns.items()
            if isinstance(column.type, SAEnum) and column.type.enum_class is not None
        }

    def __call__(self, row: asyncpg.Record) -> ModelT:
        if self.model.__mapper__.configured is False:  # type: ignore[attr-defined]
            # Attributes work once every mapper is configured, which the ORM's first query
            # does; these rows may come first.
            configure_mappers()
        values = dict(row)
        for name, enum in self._enums.items():
            if values[name] is not None:
                values[name] = enum(values[name])
        # What `model_construct` leaves behind, without its per-field pass: a page of rows
        # spent more here than in reading them. Mapped attributes read from `__dict__`.
        instance: ModelT = self.model.__new__(self.model)
        object.__setattr__(instance, "__dict__", values)
        object.__setattr__(instance, "__pydantic_fields_set__", set(values))
        object.__setattr__(instance, "__pydantic_extra__", None)
        object.__setattr__(instance, "__pydantic_private__", None)
        return instance
