"""The vendors a source can be. Adding one is a module with an `Adapter` and a line here."""

from handover_talent.ingestion.adapters.ashby import Ashby
from handover_talent.ingestion.adapters.base import Adapter, Delivery
from handover_talent.ingestion.adapters.greenhouse import Greenhouse
from handover_talent.ingestion.adapters.standard_webhooks import StandardWebhooks

ADAPTERS: dict[str, Adapter] = {
    adapter.vendor: adapter for adapter in (StandardWebhooks(), Greenhouse(), Ashby())
}

__all__ = ["ADAPTERS", "Adapter", "Delivery"]
