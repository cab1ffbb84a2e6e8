from handover_kit.errors import Conflict, NotFound, UnprocessableContent
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
