from http import HTTPStatus

from handover_kit.errors import Conflict, NotFound, ProblemError, UnprocessableContent


class RequisitionNotFound(NotFound):
    title = "Requisition Not Found"
    type = "/problems/requisition-not-found"


class UnknownEngagement(UnprocessableContent):
    title = "Unknown Engagement"
    type = "/problems/unknown-engagement"


class SourceNotFound(NotFound):
    title = "HRIS Source Not Found"
    type = "/problems/hris-source-not-found"


class HrisEventNotFound(NotFound):
    title = "HRIS Event Not Found"
    type = "/problems/hris-event-not-found"


class NotDeadLettered(Conflict):
    title = "Not a Dead Letter"
    type = "/problems/hris-event-not-dead"


class SecretRequired(UnprocessableContent):
    title = "Signing Secret Required"
    type = "/problems/hris-secret-required"


class InvalidSignature(ProblemError):
    """A delivery whose signature does not verify; nothing of it is stored as accepted."""

    status = HTTPStatus.UNAUTHORIZED
    title = "Invalid Signature"
    type = "/problems/invalid-webhook-signature"


class StaleDelivery(InvalidSignature):
    title = "Stale Delivery"
    type = "/problems/stale-webhook-timestamp"


class UnreadableDelivery(ProblemError):
    status = HTTPStatus.BAD_REQUEST
    title = "Unreadable Delivery"
    type = "/problems/unreadable-webhook"
