"""GitHub's secondary rate limits on content-creating requests, as docs.github.com documents them
("Rate limits for the REST API", "About secondary rate limits"): no more than 80 a minute and 500
an hour per user or App installation. The connector's write budget keeps to them by default; the
sandbox's GitHub enforces them when asked."""

from __future__ import annotations

__all__ = ["SECONDARY_LIMITS", "Window"]

Window = tuple[int, float]  # at most `count` writes in any `seconds`

SECONDARY_LIMITS: tuple[Window, ...] = ((80, 60.0), (500, 3600.0))
