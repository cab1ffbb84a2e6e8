from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic.json_schema import SkipJsonSchema

from handover_shared.pagination import Page
from handover_shared.text import Text

Line = Annotated[Text, Field(min_length=1, max_length=500)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. `PHP`.")]
Amount = Annotated[int, Field(ge=0, le=10**12, description="A yearly amount in the currency.")]

_ROLE_EXAMPLE: dict[str, JsonValue] = {
    "engagement_id": "01936f0f-2b7d-7e41-8c55-6a0e4f3b2d10",
    "title": "Senior claims analyst",
    "function": "Claims operations",
    "seniority": "senior",
    "location": "Manila",
    "salary_currency": "PHP",
    "salary_min": 900000,
    "salary_max": 1300000,
    "responsibilities": ["Adjudicate complex health claims", "Coach new analysts"],
    "success_criteria": ["98% adjudication accuracy", "Claims closed within 5 days"],
}


def band_error(currency: str | None, low: int | None, high: int | None) -> str | None:
    """Why a salary band is not one, or None if it is."""
    if low is not None and high is not None and low > high:
        return "salary_min must not exceed salary_max"
    if currency is None and (low is not None or high is not None):
        return "a salary amount needs salary_currency"
    return None


class _SalaryFields(BaseModel):
    salary_currency: Currency | None = None
    salary_min: Amount | None = None
    salary_max: Amount | None = None


class _SalaryBand(_SalaryFields):
    @model_validator(mode="after")
    def _band(self) -> Self:
        error = band_error(self.salary_currency, self.salary_min, self.salary_max)
        if error is not None:
            raise ValueError(error)
        return self


class RoleCreate(_SalaryBand):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ROLE_EXAMPLE]})

    engagement_id: UUID = Field(description="The engagement whose team the role is in.")
    title: Text = Field(min_length=1, max_length=200)
    function: Text = Field(min_length=1, max_length=100, description="The business function.")
    seniority: Text = Field(min_length=1, max_length=50, examples=["senior"])
    location: Text = Field(min_length=1, max_length=200)
    responsibilities: list[Line] = Field(
        default_factory=list,
        max_length=50,
        description="What the person does. Required before a requisition for it opens.",
    )
    success_criteria: list[Line] = Field(
        default_factory=list,
        max_length=50,
        description="How their success is judged. Required before a requisition for it opens.",
    )


class RoleUpdate(_SalaryFields):
    """Fields left out keep their value; the salary band is checked as a whole after the change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"success_criteria": ["98% adjudication accuracy"]}]},
    )

    title: Annotated[Text, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    function: Annotated[Text, Field(min_length=1, max_length=100)] | SkipJsonSchema[None] = None
    seniority: Annotated[Text, Field(min_length=1, max_length=50)] | SkipJsonSchema[None] = None
    location: Annotated[Text, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    responsibilities: Annotated[list[Line], Field(max_length=50)] | SkipJsonSchema[None] = None
    success_criteria: Annotated[list[Line], Field(max_length=50)] | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for name in REQUIRED_FIELDS:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


REQUIRED_FIELDS = (
    "title",
    "function",
    "seniority",
    "location",
    "responsibilities",
    "success_criteria",
)


class RoleRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01936f10-1a2b-7c3d-8e4f-5a6b7c8d9e01",
                    **_ROLE_EXAMPLE,
                    "ready_to_hire": True,
                    "version": 1,
                    "created_at": "2025-01-16T08:00:00Z",
                    "updated_at": "2025-01-16T08:00:00Z",
                }
            ]
        },
    )

    id: UUID
    engagement_id: UUID
    title: str
    function: str
    seniority: str
    location: str
    salary_currency: str | None
    salary_min: int | None
    salary_max: int | None
    responsibilities: list[str]
    success_criteria: list[str]
    ready_to_hire: bool = Field(
        description="Whether it has responsibilities and success criteria, as opening a "
        "requisition for it requires."
    )
    version: int = Field(description="Also the `ETag`; send it as `If-Match` to change the role.")
    created_at: datetime
    updated_at: datetime


class RolePage(Page[RoleRead]):
    """A page of role definitions."""
