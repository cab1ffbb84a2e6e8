"""Reading PostgreSQL directly, as its administrator: what tests check behind the API."""

import asyncpg
from sqlalchemy.engine import URL

from handover_kit.db import dsn


async def fetch(url: URL, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn(url))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()
