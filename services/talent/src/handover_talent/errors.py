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


class RoleNotFound(NotFound):
    title = "Role Not Found"
    type = "/problems/role-not-found"


class RoleNotReady(UnprocessableContent):
    """Clarity before hiring: a requisition opens only for a role that says what the person
    does and how their success is judged."""

    title = "Role Not Ready For Hiring"
    type = "/problems/role-not-ready"


class IllegalTransition(Conflict):
    title = "Transition Not Allowed"
    type = "/problems/illegal-transition"


class HiringClosed(Conflict):
    title = "Hiring Closed"
    type = "/problems/hiring-closed"


class ExternalJobTaken(Conflict):
    title = "External Job Already Named"
    type = "/problems/external-job-taken"


class CandidateNotFound(NotFound):
    title = "Candidate Not Found"
    type = "/problems/candidate-not-found"


class ApplicationNotFound(NotFound):
    title = "Application Not Found"
    type = "/problems/application-not-found"


class InvalidReference(UnprocessableContent):
    """A body names something that does not exist, or that belongs to another engagement."""

    title = "Invalid Reference"
    type = "/problems/invalid-reference"


class TeamMemberNotFound(NotFound):
    title = "Team Member Not Found"
    type = "/problems/team-member-not-found"


class TransferNotFound(NotFound):
    title = "Employment Transfer Not Found"
    type = "/problems/employment-transfer-not-found"


class NoEmployingEntity(Conflict):
    title = "No Employing Entity"
    type = "/problems/no-employing-entity"


class MemberStateConflict(Conflict):
    title = "Team Member State Conflict"
    type = "/problems/team-member-state"


class InvalidSalaryBand(UnprocessableContent):
    title = "Invalid Salary Band"
    type = "/problems/invalid-salary-band"
