"""Standard Webhooks (standardwebhooks.com): our own canonical format, signed as the spec says.

Headers `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`; any one valid
signature passes. The body is the spec's envelope around one canonical event:

    {"type": "candidate.hired", "timestamp": "2025-03-01T09:00:00Z", "data": {...}}

`type` is the event's `kind`, `data` its other fields; `webhook-id` is its `event_id`, and
`timestamp` its `occurred_at` unless `data` says otherwise.
"""

import base64
import binascii
import functools
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from handover_shared.hiring_events import HiringEvent
from handover_talent.errors import InvalidSignature, StaleDelivery
from handover_talent.ingestion.adapters.base import (
    Adapter,
    Delivery,
    missing,
    parse,
    unreadable,
)

TOLERANCE = timedelta(minutes=5)
SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's marker, not a secret
SECRET_BYTES = 32

_EVENT: TypeAdapter[HiringEvent] = TypeAdapter(HiringEvent)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    timestamp: AwareDatetime
    data: dict[str, Any]


class StandardWebhooks(Adapter):
    vendor = "standard_webhooks"
    issues_secrets = True
    audit_headers = frozenset({"webhook-id", "webhook-timestamp", "user-agent", "content-type"})

    def new_secret(self) -> str:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: datetime
    ) -> None:
        if not all(
            headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
        ):
            raise InvalidSignature(
                "Standard Webhooks deliveries carry webhook-id, webhook-timestamp and "
                "webhook-signature headers."
            )
        _check_timestamp(headers["webhook-timestamp"], now)
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise InvalidSignature("The body is not UTF-8, so no signature can match it.") from None
        wanted = {h: headers[h] for h in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        for secret in secrets:
            try:
                _verifier(secret).verify(text, wanted, json_parse=False)
            except (WebhookVerificationError, ValueError, binascii.Error):
                # ValueError, binascii.Error: a malformed signature list, which matches nothing.
                continue
            return
        raise InvalidSignature("No signature in webhook-signature matches this source's secret.")

    def interpret(self, headers: Mapping[str, str], body: bytes, received_at: datetime) -> Delivery:
        event_id = headers.get("webhook-id")
        if not event_id:
            raise missing("The webhook-id header names the event.", ["header", "webhook-id"])
        envelope = parse(_Envelope, body)
        fields = {"occurred_at": envelope.timestamp, **envelope.data}
        try:
            event = _EVENT.validate_python({**fields, "kind": envelope.type, "event_id": event_id})
        except ValidationError as exc:
            raise unreadable(exc, ["body", "data"]) from None
        return Delivery(event_id=event_id, action=envelope.type, event=event)


@functools.lru_cache(maxsize=1024)
def _verifier(secret: str) -> Webhook:
    """A secret's verifier, made once: making one decodes the secret."""
    return Webhook(secret)


def _check_timestamp(value: str, now: datetime) -> None:
    try:
        sent = datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidSignature("webhook-timestamp is not a Unix time in seconds.") from None
    if abs(now - sent) > TOLERANCE:
        raise StaleDelivery(
            "webhook-timestamp is more than 5 minutes from now: a replayed or delayed delivery, "
            "or a clock out of step. Sign it again with the current time."
        )
