from handover_kit.errors import Conflict, NotFound, UnprocessableContent


class MetricNotFound(NotFound):
    title = "Metric Not Found"
    type = "/problems/metric-not-found"


class MetricExists(Conflict):
    title = "Metric Exists"
    type = "/problems/metric-exists"


class TargetNotFound(NotFound):
    title = "Target Not Found"
    type = "/problems/target-not-found"


class EngagementNotFound(NotFound):
    title = "Engagement Not Found"
    type = "/problems/engagement-not-found"


class UnknownEngagement(UnprocessableContent):
    title = "Unknown Engagement"
    type = "/problems/unknown-engagement"


class UnknownMetric(UnprocessableContent):
    title = "Unknown Metric"
    type = "/problems/unknown-metric"


class SlaTargetReadOnly(Conflict):
    title = "SLA Target Is Read-Only"
    type = "/problems/sla-target-read-only"


class DataPointNotFound(NotFound):
    title = "Data Point Not Found"
    type = "/problems/data-point-not-found"


class MalformedUpload(UnprocessableContent):
    """An upload that names no data points at all (an empty body, a CSV header that is not
    one); single bad lines are rejected in the answer instead."""

    title = "Malformed Upload"
    type = "/problems/malformed-upload"


class PointsRejected(UnprocessableContent):
    """Every line of an ingestion was rejected: nothing was written. The problem carries the
    counts of an ingestion answer, and its per-line errors as `line_errors`."""

    title = "Every Data Point Rejected"
    type = "/problems/points-rejected"
