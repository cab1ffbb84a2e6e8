from datetime import datetime
from typing import Annotated
from uuid import UUID

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from handover_engagements.schemas import PartialUpdate
from handover_shared.pagination import Page
from handover_shared.text import Text

_Name = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=200,
        description="The registered company name.",
        examples=["Acme Health Philippines, Inc."],
    ),
]
COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)
"""ISO 3166-1 alpha-2, as pycountry keeps it current."""
_KNOWN = frozenset(COUNTRY_CODES)


def _known_country(code: str) -> str:
    if code not in _KNOWN:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


_Country = Annotated[
    str,
    AfterValidator(_known_country),
    Field(
        min_length=2,
        max_length=2,
        description="Where the entity is registered: an ISO 3166-1 alpha-2 code, upper case.",
        examples=["PH"],
        json_schema_extra={"enum": COUNTRY_CODES},
    ),
]
_RegistrationNumber = Annotated[
    Text,
    Field(
        min_length=1,
        max_length=100,
        description="The number the country's company registry gives it; unique per country "
        "within an organization.",
        examples=["CS201912345"],
    ),
]
_Address = Annotated[
    Text | None,
    Field(
        max_length=1000,
        description="The registered address.",
        examples=["25th Floor, One Ayala, Makati City, Metro Manila 1226"],
    ),
]

_ENTITY: JsonDict = {
    "id": "01936f0e-8b4d-7a11-8e2f-4c6d8e0f1a23",
    "organization_id": "01936f0e-8a3c-7c2a-9f1e-3b5d7a9c1e20",
    "name": "Acme Health Philippines, Inc.",
    "country": "PH",
    "registration_number": "CS201912345",
    "address": "25th Floor, One Ayala, Makati City, Metro Manila 1226",
    "version": 1,
    "created_at": "2025-01-15T09:40:00Z",
    "updated_at": "2025-01-15T09:40:00Z",
}


class LegalEntityCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Acme Health Philippines, Inc.",
                    "country": "PH",
                    "registration_number": "CS201912345",
                    "address": "25th Floor, One Ayala, Makati City, Metro Manila 1226",
                }
            ]
        },
    )

    name: _Name
    country: _Country
    registration_number: _RegistrationNumber
    address: _Address = None


class LegalEntityUpdate(PartialUpdate):
    """Only the fields sent change; `null` clears the address."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"address": "12th Floor, Ayala Triangle Gardens, Makati City 1226"}]
        },
    )
    required_fields = ("name", "country", "registration_number")

    name: _Name | SkipJsonSchema[None] = None
    country: _Country | SkipJsonSchema[None] = None
    registration_number: _RegistrationNumber | SkipJsonSchema[None] = None
    address: _Address = None


class LegalEntityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ENTITY]})

    id: UUID
    organization_id: UUID = Field(description="The organization the entity belongs to.")
    name: str = Field(description="The registered company name.")
    country: str = Field(description="ISO 3166-1 alpha-2 code.", examples=["PH"])
    registration_number: str = Field(description="The company registry's number.")
    address: str | None = Field(description="The registered address.")
    version: int = Field(ge=1, description="Grows by one with every change; the `ETag`.")
    created_at: datetime
    updated_at: datetime


class LegalEntityPage(Page[LegalEntityRead]):
    """A page of an organization's legal entities, oldest first."""
