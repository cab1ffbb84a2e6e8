"""Request parameters that talent's routers share."""

from typing import Annotated
from uuid import UUID

from fastapi import Query

EngagementFilter = Annotated[UUID | None, Query(description="Only this engagement's.")]
"""A list's filter to one engagement's items."""
