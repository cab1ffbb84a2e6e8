from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

import pycountry
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema
from pydantic_extra_types.country import CountryAlpha2
from pydantic_extra_types.currency_code import ISO4217

from handover_shared.engagements import DeliveryModel, Owner, Phase
from handover_shared.engagements import EngagementRead as EngagementSummary
from handover_shared.pagination import Page
from handover_shared.text import Text

_CLIENT_ID = "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20"
_PARTNER_ID = "01936f0e-9b41-7d10-a2c4-5e6f7a8b9c01"
_PARTNER_ENTITY_ID = "01936f0e-9c02-7e55-b1d3-6f7a8b9c0d12"
_CLIENT_ENTITY_ID = "01936f0e-8b4d-7a11-8e2f-4c6d8e0f1a23"
_PHASE_TIMELINE: JsonDict = {
    "phase": "build",
    "planned_start": "2025-02-01",
    "planned_end": "2025-04-30",
    "actual_start": "2025-02-01",
    "actual_end": "2025-05-12",
    "start_slippage_days": 0,
    "end_slippage_days": 12,
}
_PLANNED_PHASES: JsonDict = {
    "build": {"start": "2025-02-01", "end": "2025-04-30"},
    "operate": {"start": "2025-05-01", "end": "2026-10-31"},
    "transfer": {"start": "2026-11-01", "end": "2027-01-31"},
}
_TRANSFER_OPTION: JsonDict = {
    "exercise_window": {"start": "2026-05-01", "end": "2026-10-31"},
    "notice_period_days": 90,
    "fee": {"amount": "250000.00", "currency": "USD"},
}


class BusinessFunction(StrEnum):
    SOFTWARE_ENGINEERING = "software_engineering"
    IT_SUPPORT = "it_support"
    FINANCE_OPERATIONS = "finance_operations"
    HEALTHCARE_BILLING = "healthcare_billing"
    CUSTOMER_EXPERIENCE = "customer_experience"
    BACK_OFFICE = "back_office"
    DATA_AI = "data_ai"
    OTHER = "other"


class DateWindow(BaseModel):
    """A span of days, both ends included."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"start": "2025-02-01", "end": "2025-04-30"}]},
    )

    start: date = Field(description="The first day.")
    end: date = Field(description="The last day; not before `start`.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class PlannedPhases(BaseModel):
    """The planned window of each phase. Typical lengths (build 1-3 months, operate 12-24,
    transfer 2-3) are warned about when not kept, never refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_PLANNED_PHASES]})

    build: DateWindow | None = None
    operate: DateWindow | None = None
    transfer: DateWindow | None = None


AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"


class Money(BaseModel):
    # One schema for requests and answers alike: the amount is a decimal string either way.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_mode_override="validation",
        json_schema_extra={"examples": [{"amount": "250000.00", "currency": "USD"}]},
    )

    # Documented as the decimal string it is answered as, with the digits it may have: a bare
    # "number" would promise values (0.001, 1e20) that are refused. A number is still read.
    amount: Annotated[
        Decimal,
        Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
        WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN}),
    ] = Field(
        description="In the currency's major unit: up to 12 digits, and 2 after the point.",
        examples=["250000.00"],
    )
    currency: ISO4217 = Field(description="ISO 4217 code.", examples=["USD"])


class TransferOption(BaseModel):
    """The client's option to take the team over: when it may be exercised, with how much
    notice, and at what fee."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_TRANSFER_OPTION]})

    exercise_window: DateWindow | None = Field(
        default=None, description="When the client may exercise the option."
    )
    notice_period_days: int | None = Field(
        default=None, ge=0, le=3650, description="Notice the client gives, in days.", examples=[90]
    )
    fee: Money | None = Field(default=None, description="The transfer fee.")


class PhaseMove(BaseModel):
    """One allowed move between phases."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"from_phase": "build", "to_phase": "operate"}]},
    )

    from_phase: Phase
    to_phase: Phase


_BusinessFunctions = Annotated[
    list[BusinessFunction],
    Field(max_length=8, description="The kinds of work the team does.", examples=[["back_office"]]),
]
_Site = Annotated[
    Text | None, Field(max_length=200, description="City or site of the team.", examples=["Manila"])
]
_Headcount = Annotated[
    int | None, Field(ge=1, le=100_000, description="How many people the team is planned to have.")
]
COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)
# The codes themselves in the schema: a client learns from it which ones are taken.
_CountryCode = Annotated[CountryAlpha2, WithJsonSchema({"type": "string", "enum": COUNTRY_CODES})]
_Country = Annotated[
    _CountryCode | None,
    Field(description="ISO 3166-1 alpha-2 code of the country the team works in.", examples=["PH"]),
]


class EngagementCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme claims operations, Manila",
                    "client_id": _CLIENT_ID,
                    "partner_id": _PARTNER_ID,
                    "delivery_model": "bot",
                    "business_functions": ["healthcare_billing", "back_office"],
                    "destination_country": "PH",
                    "site": "Manila",
                    "planned_headcount": 40,
                    "contract_signed_on": "2025-01-15",
                    "planned_phases": _PLANNED_PHASES,
                    "transfer_option": _TRANSFER_OPTION,
                    "partner_entity_id": _PARTNER_ENTITY_ID,
                    "client_entity_id": _CLIENT_ENTITY_ID,
                }
            ]
        },
    )

    name: Text = Field(min_length=1, max_length=200, examples=["Acme claims operations, Manila"])
    client_id: UUID = Field(description="The organization the team is built for (kind `client`).")
    partner_id: UUID = Field(
        description="The provider that builds and operates it (kind `partner`)."
    )
    delivery_model: DeliveryModel
    business_functions: _BusinessFunctions = []
    destination_country: _Country = None
    site: _Site = None
    planned_headcount: _Headcount = None
    contract_signed_on: date | None = Field(
        default=None, description="When the contract was signed."
    )
    planned_phases: PlannedPhases | None = None
    transfer_option: TransferOption | None = None
    partner_entity_id: UUID | None = Field(
        default=None, description="The partner's legal entity that employs the team until transfer."
    )
    client_entity_id: UUID | None = Field(
        default=None,
        description="The client's legal entity in the destination country, which a transfer "
        "moves the team into.",
    )
    transitions: list[PhaseMove] | None = Field(
        default=None,
        max_length=16,
        description="Hybrid engagements only: the moves between phases this engagement allows, "
        "drawn from those of BOT and BTO; all of them when left out. Termination is always "
        "allowed. BOT and BTO engagements follow their model.",
    )


class EngagementUpdate(BaseModel):
    """Only the fields sent change; `null` clears an optional one, and an object sent
    (`planned_phases`, `transfer_option`) replaces the one held, whole. The phase changes
    through transitions only; client, partner and model never change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"planned_headcount": 48, "site": "Cebu"}]},
    )

    # Left out, they stay; they cannot be null.
    name: Annotated[Text, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    business_functions: _BusinessFunctions | SkipJsonSchema[None] = None
    destination_country: _Country = None
    site: _Site = None
    planned_headcount: _Headcount = None
    contract_signed_on: date | None = None
    planned_phases: PlannedPhases | None = None
    transfer_option: TransferOption | None = None
    partner_entity_id: UUID | None = None
    client_entity_id: UUID | None = None

    @model_validator(mode="after")
    def _name_not_cleared(self) -> Self:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be cleared")
        if "business_functions" in self.model_fields_set and self.business_functions is None:
            raise ValueError("business_functions cannot be null; send [] to clear them")
        return self


class EngagementRead(EngagementSummary):
    """An engagement, in full."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "name": "Acme claims operations, Manila",
                    "client_id": _CLIENT_ID,
                    "partner_id": _PARTNER_ID,
                    "delivery_model": "bot",
                    "phase": "build",
                    "owner": "partner",
                    "hiring_open": True,
                    "partner_entity_id": _PARTNER_ENTITY_ID,
                    "client_entity_id": _CLIENT_ENTITY_ID,
                    "business_functions": ["healthcare_billing", "back_office"],
                    "destination_country": "PH",
                    "site": "Manila",
                    "planned_headcount": 40,
                    "contract_signed_on": "2025-01-15",
                    "planned_phases": _PLANNED_PHASES,
                    "transfer_option": _TRANSFER_OPTION,
                    "transitions": [
                        {"from_phase": "build", "to_phase": "operate"},
                        {"from_phase": "operate", "to_phase": "managed"},
                        {"from_phase": "operate", "to_phase": "transfer"},
                        {"from_phase": "transfer", "to_phase": "transferred"},
                    ],
                    "next_phases": ["operate", "terminated"],
                    "transfer_plan_approved_at": None,
                    "version": 1,
                    "warnings": [],
                    "created_at": "2025-01-15T09:45:00Z",
                    "updated_at": "2025-01-15T09:45:00Z",
                }
            ]
        },
    )

    business_functions: list[BusinessFunction] = Field(
        description="The kinds of work the team does."
    )
    destination_country: str | None = Field(
        description="ISO 3166-1 alpha-2 code of the country the team works in.", examples=["PH"]
    )
    site: str | None = Field(description="City or site of the team.", examples=["Manila"])
    planned_headcount: int | None = Field(
        description="How many people the team is planned to have: the hiring gate's target.",
        examples=[40],
    )
    contract_signed_on: date | None = Field(description="When the contract was signed.")
    planned_phases: PlannedPhases = Field(description="The planned window of each phase.")
    transfer_option: TransferOption | None = Field(
        description="The client's option to take the team over."
    )
    transitions: list[PhaseMove] = Field(
        description="The moves between phases this engagement allows (terminations aside)."
    )
    next_phases: list[Phase] = Field(
        description="Where a transition may take the engagement from its current phase."
    )
    transfer_plan_approved_at: datetime | None = Field(
        description="When the transfer plan was approved; null until it is."
    )
    version: int = Field(ge=1, description="Grows by one with every change; the `ETag`.")
    warnings: list[str] = Field(
        description="What looks unusual without being wrong, such as a phase planned outside "
        "its typical length, or no destination country yet.",
        examples=[["build is planned for 5.0 months; typically 1-3"]],
    )


class EngagementPage(Page[EngagementRead]):
    """A page of engagements."""


class TransitionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # An override states its reason.
            "if": {"properties": {"override": {"const": True}}, "required": ["override"]},
            "then": {
                "properties": {"reason": {"type": "string", "minLength": 1}},
                "required": ["reason"],
            },
            "examples": [
                {"to_phase": "operate", "reason": "Team hired and onboarded; build signed off."}
            ],
        },
    )

    to_phase: Phase = Field(description="The phase to move to.")
    reason: Text | None = Field(
        default=None, max_length=2000, description="Why; kept in the audit trail."
    )
    override: bool = Field(
        default=False,
        description="Platform administrators only: move even though the gate's criteria are "
        "not all met. Needs a `reason`; the unmet criteria are kept in the audit trail.",
    )

    @model_validator(mode="after")
    def _override_has_reason(self) -> Self:
        if self.override and not self.reason:
            raise ValueError("an override needs a reason")
        return self


class GateCriterion(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "hiring_plan_fulfilled",
                    "met": False,
                    "detail": "31 of 40 planned members are active; 2 requisitions are open.",
                }
            ]
        }
    )

    key: str = Field(description="Which criterion.", examples=["hiring_plan_fulfilled"])
    met: bool
    detail: str = Field(description="What was found.")


class GateResult(BaseModel):
    """Whether an engagement may move from its phase to `to_phase`, criterion by criterion."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "from_phase": "build",
                    "to_phase": "operate",
                    "passed": False,
                    "criteria": [
                        {
                            "key": "hiring_plan_fulfilled",
                            "met": False,
                            "detail": "31 of 40 planned members are active; 2 requisitions "
                            "are open.",
                        },
                        {
                            "key": "build_milestones_done",
                            "met": True,
                            "detail": "Every build milestone is done.",
                        },
                    ],
                }
            ]
        }
    )

    engagement_id: UUID
    from_phase: Phase
    to_phase: Phase
    passed: bool = Field(description="Whether every criterion is met.")
    criteria: list[GateCriterion] = Field(description="Every criterion, met or not.")


class PhaseTimeline(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PHASE_TIMELINE]})

    phase: Phase
    planned_start: date | None
    planned_end: date | None
    actual_start: date | None
    actual_end: date | None = Field(description="Null while the phase runs, or if it never ran.")
    start_slippage_days: int | None = Field(
        description="Actual start minus planned start, in days: positive is late. Null unless "
        "both are known."
    )
    end_slippage_days: int | None = Field(
        description="Actual (or, while the phase runs, today's) end minus planned end, in days, "
        "once that is positive or the phase has ended."
    )


class Timeline(BaseModel):
    """Planned against actual dates of every phase."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
                    "phase": "operate",
                    "phases": [_PHASE_TIMELINE],
                }
            ]
        }
    )

    engagement_id: UUID
    phase: Phase = Field(description="The current phase.")
    phases: list[PhaseTimeline] = Field(
        description="Each phase with a plan or a start, in the order of the phases."
    )


__all__ = [
    "BusinessFunction",
    "DeliveryModel",
    "EngagementCreate",
    "EngagementPage",
    "EngagementRead",
    "EngagementSummary",
    "EngagementUpdate",
    "Owner",
    "Phase",
]
