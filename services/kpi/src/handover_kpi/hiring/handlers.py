"""The hiring facts kpi applies; each runs in the transaction that records the fact received.

Each fact is stored once by talent's id of what it is about (the inbox already drops
redeliveries; a second fact about the same thing changes nothing), then the derived metrics it
feeds are recomputed for its engagement (see `derive`). A hire is the exception: it is taken
back by `hire_reversed`, and then replaced by a hire of the member told with another
`hired_at`."""

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
    Offer,
    OpenedRequisition,
    Termination,
)
from handover_kpi.hiring.repository import HiringRepository
from handover_shared.messages import Envelope
from handover_shared.talent import (
    HEADCOUNT_CHANGED,
    HIRE_REVERSED,
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
Store = Callable[[HiringRepository, dict[str, Any]], Awaitable[None]]


def _first(model: type[SQLModel]) -> Store:
    async def store(facts: HiringRepository, values: dict[str, Any]) -> None:
        await facts.keep_first(model, values)

    return store


def _keep_then_derive(
    store: Store, *derivations: Derivation
) -> Callable[[AsyncSession, Envelope[Any]], Awaitable[None]]:
    """A handler that stores a fact about an engagement's team, then recomputes the metrics
    it feeds."""

    async def record(session: AsyncSession, envelope: Envelope[Any]) -> None:
        fact = envelope.payload
        facts = HiringRepository(session)
        await facts.lock_engagement(fact.engagement_id)
        await store(facts, fact.model_dump())
        derive = Derivations(session)
        for derivation in derivations:
            await derivation(derive, fact.engagement_id)

    return record


HANDLERS: list[Handler[Any]] = [
    Handler(REQUISITION_OPENED, record_requisition_opened),
    Handler(REQUISITION_FILLED, record_requisition_filled),
    Handler(OFFER_MADE, record_offer_made),
    Handler(OFFER_DECIDED, record_offer_decided),
    Handler(
        MEMBER_HIRED,
        _keep_then_derive(HiringRepository.keep_hire, Derivations.time_to_hire, Derivations.team),
    ),
    Handler(
        HIRE_REVERSED,
        _keep_then_derive(
            HiringRepository.reverse_hire, Derivations.time_to_hire, Derivations.team
        ),
    ),
    Handler(
        ONBOARDING_COMPLETED,
        _keep_then_derive(_first(CompletedOnboarding), Derivations.onboarding_time),
    ),
    Handler(MEMBER_TERMINATED, _keep_then_derive(_first(Termination), Derivations.team)),
    Handler(HEADCOUNT_CHANGED, _keep_then_derive(_first(HeadcountReading), Derivations.team)),
]
