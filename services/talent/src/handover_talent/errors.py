from handover_kit.errors import NotFound, ServiceUnavailable, UnprocessableContent


class RequisitionNotFound(NotFound):
    title = "Requisition Not Found"
    type = "/problems/requisition-not-found"


class UnknownEngagement(UnprocessableContent):
    title = "Unknown Engagement"
    type = "/problems/unknown-engagement"


class DependencyUnavailable(ServiceUnavailable):
    """Another service this one needs did not answer usefully; the `dependency` member names it."""

    title = "Dependency Unavailable"
    type = "/problems/dependency-unavailable"
