from handover_kit.errors import NotFound, UnprocessableContent


class RequisitionNotFound(NotFound):
    title = "Requisition Not Found"
    type = "/problems/requisition-not-found"


class UnknownEngagement(UnprocessableContent):
    title = "Unknown Engagement"
    type = "/problems/unknown-engagement"
