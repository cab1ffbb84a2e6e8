"""The SLA facts kpi applies: each SLA becomes a target with source `sla`."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.messaging import Handler
from handover_kpi.targets.repository import TargetRepository
from handover_shared.engagements import SLA_REMOVED, SLA_SET, SlaRemoved, SlaSet
from handover_shared.messages import Envelope


async def record_sla_set(session: AsyncSession, envelope: Envelope[SlaSet]) -> None:
    await TargetRepository(session).set_sla(envelope.payload)


async def record_sla_removed(session: AsyncSession, envelope: Envelope[SlaRemoved]) -> None:
    await TargetRepository(session).end_sla(envelope.payload)


HANDLERS: list[Handler[Any]] = [
    Handler(SLA_SET, record_sla_set),
    Handler(SLA_REMOVED, record_sla_removed),
]
