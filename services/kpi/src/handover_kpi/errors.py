from handover_kit.errors import NotFound


class MetricNotFound(NotFound):
    title = "Metric Not Found"
    type = "/problems/metric-not-found"
