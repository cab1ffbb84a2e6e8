"""What every vendor adapter does: verify a delivery's raw bytes, then read it as a canonical event.

A vendor is one module with one `Adapter` subclass, listed in `ADAPTERS` (this package's
`__init__`). Verification sees the bytes exactly as they arrived and nothing else has parsed
them yet; reading happens only after it passed.
"""

import hmac
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from handover_shared.hiring_events import HiringEvent
from handover_shared.problems import FieldError
from handover_talent.errors import InvalidSignature, UnreadableDelivery

ModelT = TypeVar("ModelT", bound=BaseModel)

# The columns that keep them: `hris_events.event_id` and `.action`.
MAX_EVENT_ID = 200
MAX_ACTION = 100


class Lenient(BaseModel):
    """The base of a vendor's payload models: vendors add fields; only what is read is required."""

    model_config = ConfigDict(extra="ignore")


@dataclass(frozen=True)
class Delivery:
    """One verified delivery, read."""

    event_id: str
    """The source's id of it, the same on every retry: what a redelivery is known by."""
    action: str
    """The vendor's own name for what happened (`hire_candidate`, `candidateHire`, a kind)."""
    event: HiringEvent | None
    """The canonical event; None for an action that changes nothing talent keeps."""
    ping: bool = False
    """A vendor's check that the endpoint answers: acknowledged, not stored."""


class Adapter(ABC):
    vendor: ClassVar[str]
    issues_secrets: ClassVar[bool] = False
    """True when the scheme lets us draw the secret; otherwise the admin copies the one the
    vendor's UI set."""
    audit_headers: ClassVar[frozenset[str]] = frozenset()
    """Headers kept with the raw body, lowercased: what an audit of a delivery needs."""

    def new_secret(self) -> str:
        raise NotImplementedError(f"{self.vendor} secrets are set in the vendor's UI")

    @abstractmethod
    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: datetime
    ) -> None:
        """Raise `InvalidSignature` (or `StaleDelivery`) unless one of `secrets` signed `body`."""

    def read(self, headers: Mapping[str, str], body: bytes, received_at: datetime) -> Delivery:
        """The delivery, or `UnreadableDelivery`. Runs again when the processor applies it, so a
        fixed adapter applies a replayed event as it reads it now."""
        try:
            delivery = self.interpret(headers, body, received_at)
        except ValidationError as exc:  # a value the canonical event refuses
            raise unreadable(exc) from None
        for name, value, limit in (
            ("event id", delivery.event_id, MAX_EVENT_ID),
            ("action", delivery.action, MAX_ACTION),
        ):
            if len(value) > limit or "\x00" in value:
                raise UnreadableDelivery(
                    f"The delivery's {name} is not one this service keeps: at most {limit} "
                    "characters, no NUL."
                )
        return delivery

    @abstractmethod
    def interpret(
        self, headers: Mapping[str, str], body: bytes, received_at: datetime
    ) -> Delivery: ...


def require_hex_signature(
    signature: str, separator: str, body: bytes, secrets: Sequence[str]
) -> None:
    """`signature` is `sha256`, `separator`, then the HMAC-SHA256 of the raw body as hex, keyed
    with one of `secrets`; compared in constant time."""
    scheme, _, digest = signature.partition(separator)
    given = digest if scheme.lower() == "sha256" else None
    if not any(_hex_signature_matches(s, body, given) for s in secrets):
        raise InvalidSignature("The signature does not match the body with this source's secret.")


def _hex_signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    if not given:
        return False
    expected = hmac.new(secret.encode(), body, "sha256").hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def parse(model: type[ModelT], body: bytes) -> ModelT:
    """The body as `model`: not JSON, or not its shape, is an `UnreadableDelivery`. Parsed
    and validated in one pass, by pydantic's own JSON parser."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
            raise UnreadableDelivery(
                "The body is not JSON.",
                errors=[FieldError(loc=["body"], msg="JSON decode error", type="json_invalid")],
            ) from None
        raise unreadable(exc) from None


def validate(model: type[ModelT], data: Any, loc: Sequence[str | int] = ("body",)) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise unreadable(exc, loc) from None


def unreadable(exc: ValidationError, loc: Sequence[str | int] = ("body",)) -> UnreadableDelivery:
    # Locations and messages only: the input is a candidate's data.
    errors = [
        FieldError(loc=[*loc, *error["loc"]], msg=error["msg"], type=error["type"])
        for error in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    return UnreadableDelivery(
        f"The delivery does not have the shape this vendor's deliveries have "
        f"({len(errors)} problem(s)).",
        errors=errors,
    )


def missing(detail: str, loc: Sequence[str | int]) -> UnreadableDelivery:
    return UnreadableDelivery(
        detail, errors=[FieldError(loc=list(loc), msg="Field required", type="missing")]
    )
