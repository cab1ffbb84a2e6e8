"""When a request is sent again, and after how long. Pure: both clients sleep as told."""

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

# Only requests that change nothing are repeated: a POST whose answer was lost may have worked.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Safe requests are retried on 429, 502, 503, 504 and on network errors and timeouts,
    waiting what `Retry-After` says or else backing off exponentially. Times are in seconds."""

    attempts: int = 3
    """Tries in all, the first included; 1 turns retrying off."""
    max_wait: float = 10.0
    """A longer wait is not waited for: the error is raised at once, for the caller to decide."""
    backoff: float = 0.5
    """The first wait when the answer names none; doubled on each retry."""

    def delay(
        self, request: httpx.Request, attempt: int, response: httpx.Response | None = None
    ) -> float | None:
        """How long to wait before trying `request` again after its `attempt`-th try got
        `response` (None: a network error or timeout); None means do not retry."""
        if request.method not in SAFE_METHODS or attempt >= self.attempts:
            return None
        if response is not None and response.status_code not in RETRYABLE_STATUSES:
            return None
        wait = retry_after(response) if response is not None else None
        if wait is None:
            wait = self.backoff * 2 ** (attempt - 1)
        return wait if wait <= self.max_wait else None


RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError)


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds, from either of its forms (delay-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
