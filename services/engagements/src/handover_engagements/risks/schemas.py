from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from handover_engagements.schemas import PartialUpdate
from handover_shared.engagements import Owner
from handover_shared.pagination import Page
from handover_shared.text import Text

SEVERITY_MAX = 25


class RiskStatus(StrEnum):
    OPEN = "open"
    MITIGATED = "mitigated"
    ACCEPTED = "accepted"
    CLOSED = "closed"


_RISK: JsonDict = {
    "id": "01936f1e-6071-7c83-9d94-0e1f2a3b4c56",
    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
    "title": "Attrition of senior claims specialists before transfer",
    "description": "Competitors in Makati are hiring experienced billing staff at +20%.",
    "likelihood": 4,
    "impact": 4,
    "severity": 16,
    "mitigation": "Retention bonus vesting at transfer; second-line leads cross-trained.",
    "owner": "partner",
    "status": "open",
    "version": 2,
    "created_at": "2025-05-02T08:30:00Z",
    "updated_at": "2025-05-09T11:15:00Z",
}

_Title = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=200,
        description="The risk in a line.",
        examples=["Attrition of senior claims specialists before transfer"],
    ),
]
_Description = Annotated[
    Text | None,
    Field(
        max_length=4000,
        description="What could happen, and why.",
        examples=["Competitors in Makati are hiring experienced billing staff at +20%."],
    ),
]
_Likelihood = Annotated[
    int,
    Field(
        ge=1,
        le=5,
        description="How likely it is, from 1 (rare) to 5 (almost certain).",
        examples=[4],
    ),
]
_Impact = Annotated[
    int,
    Field(
        ge=1,
        le=5,
        description="How bad it would be, from 1 (negligible) to 5 (severe).",
        examples=[4],
    ),
]
_Mitigation = Annotated[
    Text | None,
    Field(
        max_length=4000,
        description="What is done to make it less likely or less bad.",
        examples=["Retention bonus vesting at transfer; second-line leads cross-trained."],
    ),
]
_Owner = Annotated[Owner, Field(description="Who manages the risk: the client or the partner.")]
_Status = Annotated[
    RiskStatus,
    Field(
        description="`open`; `mitigated` (reduced to an acceptable level); `accepted` (taken "
        "knowingly); `closed` (no longer applies)."
    ),
]


class RiskCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Attrition of senior claims specialists before transfer",
                    "likelihood": 4,
                    "impact": 4,
                    "mitigation": "Retention bonus vesting at transfer.",
                    "owner": "partner",
                }
            ]
        },
    )

    title: _Title
    description: _Description = None
    likelihood: _Likelihood
    impact: _Impact
    mitigation: _Mitigation = None
    owner: _Owner
    status: _Status = RiskStatus.OPEN


class RiskUpdate(PartialUpdate):
    """Only the fields sent change; `null` clears an optional one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"likelihood": 2, "status": "mitigated"}]},
    )
    required_fields = ("title", "likelihood", "impact", "owner", "status")

    title: _Title | SkipJsonSchema[None] = None
    description: _Description = None
    likelihood: _Likelihood | SkipJsonSchema[None] = None
    impact: _Impact | SkipJsonSchema[None] = None
    mitigation: _Mitigation = None
    owner: _Owner | SkipJsonSchema[None] = None
    status: _Status | SkipJsonSchema[None] = None


class RiskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_RISK]})

    id: UUID
    engagement_id: UUID
    title: str = Field(description="The risk in a line.")
    description: str | None = Field(description="What could happen, and why.")
    likelihood: int = Field(description="1 (rare) to 5 (almost certain).")
    impact: int = Field(description="1 (negligible) to 5 (severe).")
    severity: int = Field(
        ge=1,
        le=SEVERITY_MAX,
        description="Likelihood times impact, 1 to 25: 1-4 low, 5-9 medium, 10-16 high, "
        "20-25 critical.",
    )
    mitigation: str | None = Field(description="What is done about it.")
    owner: Owner = Field(description="Who manages the risk.")
    status: RiskStatus
    version: int = Field(ge=1, description="Grows by one with every change; the `ETag`.")
    created_at: datetime
    updated_at: datetime


class RiskPage(Page[RiskRead]):
    """A page of an engagement's risks, most severe first, newest first among equals."""
