"""The hiring facts kpi applies; each runs in the transaction that records the fact received.

Each fact is stored once by talent's id of what it is about (the inbox already drops
redeliveries; a second fact about the same thing changes nothing), then the derived metrics it
feeds are recomputed for its engagement (see `derive`)."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from handover_kit.messaging import Handler
from handover_kpi.hiring.derive import Derivations
from handover_kpi.hiring.models import (
    CompletedOnboarding,
    FilledRequisition,
    HeadcountReading,
    Hire,
    Offer,
    OpenedRequisition,
    Termination,
)
from handover_kpi.hiring.repository import HiringRepository
from handover_shared.messages import Envelope
from handover_shared.talent import (
    HEADCOUNT_CHANGED,
    MEMBER_HIRED,
    MEMBER_TERMINATED,
    OFFER_DECIDED,
    OFFER_MADE,
    ONBOARDING_COMPLETED,
    REQUISITION_FILLED,
    REQUISITION_OPENED,
    OfferDecided,
    OfferMade,
    RequisitionFilled,
    RequisitionOpened,
)


async def record_requisition_opened(
    session: AsyncSession, envelope: Envelope[RequisitionOpened]
) -> None:
    fact = envelope.payload
    facts = HiringRepository(session)
    await facts.lock_engagement(fact.engagement_id)
    await facts.keep_first(OpenedRequisition, fact.model_dump())
    # Hires may have been told before the opening of their requisition.
    derive = Derivations(session)
    for engagement_id in {
        fact.engagement_id,
        *await facts.engagements_hiring_from(fact.requisition_id),
    }:
        await derive.time_to_hire(engagement_id)


async def record_requisition_filled(
    session: AsyncSession, envelope: Envelope[RequisitionFilled]
) -> None:
    await HiringRepository(session).keep_first(FilledRequisition, envelope.payload.model_dump())


async def record_offer_made(session: AsyncSession, envelope: Envelope[OfferMade]) -> None:
    await HiringRepository(session).keep_first(Offer, envelope.payload.model_dump())


async def record_offer_decided(session: AsyncSession, envelope: Envelope[OfferDecided]) -> None:
    fact = envelope.payload
    facts = HiringRepository(session)
    await facts.lock_engagement(fact.engagement_id)
    await facts.decide_offer(fact.model_dump())
    await Derivations(session).offer_acceptance(fact.engagement_id)


Derivation = Callable[[Derivations, UUID], Awaitable[None]]


def _keep_then_derive(
    model: type[SQLModel], *derivations: Derivation
) -> Callable[[AsyncSession, Envelope[Any]], Awaitable[None]]:
    """A handler that stores a fact about an engagement's team once, then recomputes the
    metrics it feeds."""

    async def record(session: AsyncSession, envelope: Envelope[Any]) -> None:
        fact = envelope.payload
        facts = HiringRepository(session)
        await facts.lock_engagement(fact.engagement_id)
        await facts.keep_first(model, fact.model_dump())
        derive = Derivations(session)
        for derivation in derivations:
            await derivation(derive, fact.engagement_id)

    return record


HANDLERS: list[Handler[Any]] = [
    Handler(REQUISITION_OPENED, record_requisition_opened),
    Handler(REQUISITION_FILLED, record_requisition_filled),
    Handler(OFFER_MADE, record_offer_made),
    Handler(OFFER_DECIDED, record_offer_decided),
    Handler(MEMBER_HIRED, _keep_then_derive(Hire, Derivations.time_to_hire, Derivations.team)),
    Handler(
        ONBOARDING_COMPLETED,
        _keep_then_derive(CompletedOnboarding, Derivations.onboarding_time),
    ),
    Handler(MEMBER_TERMINATED, _keep_then_derive(Termination, Derivations.team)),
    Handler(HEADCOUNT_CHANGED, _keep_then_derive(HeadcountReading, Derivations.team)),
]
