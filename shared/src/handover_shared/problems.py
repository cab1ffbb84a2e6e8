"""RFC 9457 problem documents: the one error shape every Handover service answers with."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One invalid input, located precisely enough for a form to highlight it."""

    loc: list[str | int] = Field(examples=[["body", "name"]])
    msg: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class Problem(BaseModel):
    """An RFC 9457 problem document. Extension members are allowed, as the RFC says."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        default="about:blank",
        description="A URI reference that identifies the problem type.",
        examples=["https://handover.dev/problems/not-found"],
    )
    title: str = Field(description="A short, human-readable summary of the problem type.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(
        default=None, description="An explanation specific to this occurrence."
    )
    instance: str | None = Field(
        default=None, description="The path of the request that caused the problem."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Field errors, for validation problems."
    )

    def to_content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
