"""What the engagements service's request models share across its domains."""

from typing import ClassVar, Self

from pydantic import BaseModel, model_validator


class PartialUpdate(BaseModel):
    """A change that sends only the fields it changes. A field named in `required_fields`
    always has a value: it may be left out, never sent as null."""

    required_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _required_not_cleared(self) -> Self:
        for name in self.required_fields:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self
