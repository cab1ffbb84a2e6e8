from handover_kit.errors import Conflict, Forbidden, NotFound, UnprocessableContent
from handover_shared.engagements import ENGAGEMENT_NOT_FOUND


class OrganizationNotFound(NotFound):
    title = "Organization Not Found"
    type = "/problems/organization-not-found"


class EngagementNotFound(NotFound):
    title = "Engagement Not Found"
    type = ENGAGEMENT_NOT_FOUND


class InvalidEngagementParties(UnprocessableContent):
    title = "Invalid Engagement Parties"
    type = "/problems/invalid-engagement-parties"


class OrganizationNameTaken(Conflict):
    title = "Organization Name Taken"
    type = "/problems/organization-name-taken"


class MembershipNotFound(NotFound):
    title = "Membership Not Found"
    type = "/problems/membership-not-found"


class MembershipExists(Conflict):
    title = "Membership Exists"
    type = "/problems/membership-exists"


class ApiKeyNotFound(NotFound):
    title = "API Key Not Found"
    type = "/problems/api-key-not-found"


class InvalidGrant(UnprocessableContent):
    title = "Invalid Grant"
    type = "/problems/invalid-grant"


class IllegalTransition(Conflict):
    title = "Illegal Transition"
    type = "/problems/illegal-transition"


class GateNotPassed(Conflict):
    title = "Gate Not Passed"
    type = "/problems/gate-not-passed"


class GateOverrideRefused(Forbidden):
    title = "Gate Override Refused"
    type = "/problems/gate-override-refused"


class InvalidLegalEntity(UnprocessableContent):
    title = "Invalid Legal Entity"
    type = "/problems/invalid-legal-entity"


class InvalidTransitions(UnprocessableContent):
    title = "Invalid Transitions"
    type = "/problems/invalid-transitions"


class TransferPlanItemNotFound(NotFound):
    title = "Transfer Plan Item Not Found"
    type = "/problems/transfer-plan-item-not-found"


class TransferPlanApproved(Conflict):
    title = "Transfer Plan Approved"
    type = "/problems/transfer-plan-approved"


class LegalEntityNotFound(NotFound):
    title = "Legal Entity Not Found"
    type = "/problems/legal-entity-not-found"


class LegalEntityExists(Conflict):
    title = "Legal Entity Exists"
    type = "/problems/legal-entity-exists"


class MilestoneNotFound(NotFound):
    title = "Milestone Not Found"
    type = "/problems/milestone-not-found"


class MilestoneEvidenceRequired(UnprocessableContent):
    title = "Milestone Evidence Required"
    type = "/problems/milestone-evidence-required"


class InvalidMilestoneCompletion(UnprocessableContent):
    title = "Invalid Milestone Completion"
    type = "/problems/invalid-milestone-completion"


class SlaNotFound(NotFound):
    title = "SLA Not Found"
    type = "/problems/sla-not-found"


class SlaExists(Conflict):
    title = "SLA Exists"
    type = "/problems/sla-exists"


class RiskNotFound(NotFound):
    title = "Risk Not Found"
    type = "/problems/risk-not-found"
