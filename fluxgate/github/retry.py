"""The retry policy for every GitHub request: PyGithub's `GithubRetry` (which understands secondary
rate limits on 403) widened to 429 and PATCH, with jitter, `Retry-After` honoured on every
retryable status, and a cap on how long we sleep for it.

A wait longer than `max_wait` raises `RateLimitWait` instead of blocking a worker for an hour: the
caller turns it into a `RetryableError` with `retry_after`, and the task is retried later.

Inside `sent_once()` a POST is never re-sent: GitHub may have done what a POST asked and still
answered 502 or timed out, and a Deployment or a repository_dispatch sent twice is visible twice.
The caller then looks at GitHub before it tries again (see the connector's `effects`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from github import GithubRetry
from urllib3.response import BaseHTTPResponse

from fluxgate.github.errors import RateLimitWait

__all__ = ["FluxgateRetry", "sent_once"]

_RETRY_STATUSES = [429, *range(500, 600)]
_once = threading.local()


@contextmanager
def sent_once() -> Iterator[None]:
    """POSTs made by this thread inside the block are sent once, whatever the answer or error."""
    before = getattr(_once, "active", False)
    _once.active = True
    try:
        yield
    finally:
        _once.active = before


class FluxgateRetry(GithubRetry):
    RETRY_AFTER_STATUS_CODES = frozenset({403, 413, *_RETRY_STATUSES})

    def __init__(self, max_wait: float = 120.0, **kwargs: Any) -> None:
        kwargs.setdefault("status_forcelist", list(_RETRY_STATUSES))
        kwargs.setdefault("allowed_methods", {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
        kwargs.setdefault("backoff_jitter", 0.5)
        kwargs.setdefault("raise_on_status", False)
        kwargs.setdefault("max_rate_limit_wait", max_wait)
        self.max_wait = max_wait
        super().__init__(**kwargs)

    def _is_method_retryable(self, method: str) -> bool:
        if getattr(_once, "active", False) and method.upper() == "POST":
            return False
        return bool(super()._is_method_retryable(method))

    def new(self, **kw: Any) -> FluxgateRetry:
        kw.setdefault("max_wait", self.max_wait)
        return super().new(**kw)

    def _requested_wait(self, response: BaseHTTPResponse) -> float | None:
        after = self.get_retry_after(response)
        if after is not None:
            return after
        headers = response.headers
        if (
            headers.get("X-RateLimit-Remaining") == "0"
            and str(headers.get("X-RateLimit-Reset", "")).isdigit()
        ):
            return max(0.0, int(headers["X-RateLimit-Reset"]) - time.time()) + 1
        return None

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        wait = self._requested_wait(response)
        if wait is None:
            return False
        if wait > self.max_wait:
            raise RateLimitWait(wait)
        time.sleep(wait)
        return True
