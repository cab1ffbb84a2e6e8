"""The hiring facts kpi applies; each runs in the transaction that records the fact received."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from handover_kit.messaging import Handler
from handover_kpi.hiring.models import OpenedRequisition
from handover_shared.messages import Envelope
from handover_shared.talent import REQUISITION_OPENED, RequisitionOpened


async def record_requisition_opened(
    session: AsyncSession, envelope: Envelope[RequisitionOpened]
) -> None:
    # The inbox already drops redeliveries; a second fact about one opening changes nothing.
    statement = (
        insert(OpenedRequisition)
        .values(**envelope.payload.model_dump())
        .on_conflict_do_nothing(index_elements=["requisition_id"])
    )
    await session.execute(statement)


HANDLERS = [Handler(REQUISITION_OPENED, record_requisition_opened)]
