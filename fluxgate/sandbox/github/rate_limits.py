"""GitHub's rate limits as the emulator plays them, so a benchmark can see whether a client keeps to them.

Primary limit (always on, never enforced): every REST answer has GitHub's `X-RateLimit-*` headers
(`Limit`, `Remaining`, `Used`, `Reset` in epoch seconds, `Resource: core`), counted per credential over
a fixed hour that starts with its first request: 5000 for a token, 60 for a caller without a valid one
(keyed by its host), as "Rate limits for the REST API" documents. `GET /rate_limit` is not counted, as
on GitHub. Past the limit `Remaining` stays 0 and requests are still answered. An injected fault's
answer carries only the headers the fault was given (it plays a failure in front of the API).

Secondary limits (off unless configured): GitHub allows "no more than 80 content-generating requests per
minute and no more than 500 content-generating requests per hour". Each (count, seconds) window slides
per token. Every POST, PATCH, PUT or DELETE the limiter lets through counts, whatever the endpoint then
answers: GitHub does not say whether failed writes count, and a client that stays under the limit
counting its attempts is safe either way. A write that would exceed a window is refused with 403 (or
429), GitHub's message and `Retry-After`: whole seconds until the oldest write of the full window leaves
it. Refusals count towards the primary hour but not the secondary windows (they create nothing).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fluxgate.github.limits import SECONDARY_LIMITS, Window

__all__ = [
    "GITHUB_SECONDARY_LIMITS",
    "SECONDARY_DOCS",
    "Admission",
    "Clock",
    "RateLimits",
    "parse_secondary_limit",
    "quota_key",
]

Clock = Callable[[], float]
GITHUB_SECONDARY_LIMITS = SECONDARY_LIMITS
SECONDARY_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
SECONDARY_STATUSES = (403, 429)  # the docs: "you will receive a 403 or 429 response"
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
TOKEN_LIMIT, ANONYMOUS_LIMIT, HOUR = 5000, 60, 3600.0


def parse_secondary_limit(text: str) -> list[Window]:
    """`COUNT/SECONDS` (e.g. `80/60`) as one window, or `github` for GitHub's documented pair: what
    `--secondary-limit` takes. A ValueError says what was expected."""
    if text.strip().lower() == "github":
        return list(GITHUB_SECONDARY_LIMITS)
    count, sep, seconds = text.partition("/")
    try:
        window = (int(count), float(seconds))
    except ValueError:
        window = (0, 0.0)
    if not sep or window[0] < 1 or not (0 < window[1] < math.inf):
        raise ValueError("expected COUNT/SECONDS with COUNT >= 1 and SECONDS > 0 (e.g. 80/60), or github")
    return [window]


def quota_key(credential: str | None, client_host: str) -> str:
    """Whose primary quota a request draws on: the token's, or the caller's address without one."""
    return f"token:{credential}" if credential else f"host:{client_host}"


def request_id() -> str:
    """An id shaped like GitHub's `X-GitHub-Request-Id` (e.g. `D5E6:3A0B:1F2C3D:2A3B4C:670800AA`), which
    its secondary-limit message asks users to quote to Support."""
    return ":".join(secrets.token_hex(n).upper() for n in (2, 2, 3, 3, 4))


@dataclass
class _Hour:
    """One credential's current primary window: from its first request for an hour."""

    started: float
    used: int = 0


@dataclass
class Admission:
    """What the limiter decided for one request: the headers every answer carries, and for a refused
    write the status, GitHub's body and `Retry-After`."""

    headers: dict[str, str]
    refusal: tuple[int, dict[str, Any]] | None = None


class RateLimits:
    """The primary quota and the secondary windows of one emulator, behind one small lock (the ASGI
    middleware calls it from the event loop; tests may read it from theirs)."""

    def __init__(
        self, secondary: Sequence[Window] | None = None, status: int = 403, clock: Clock | None = None
    ) -> None:
        if status not in SECONDARY_STATUSES:
            raise ValueError(f"secondary_limit_status {status}: must be 403 or 429, as GitHub answers")
        for count, seconds in secondary or ():
            if count < 1 or not seconds > 0:
                raise ValueError(f"secondary limit {count}/{seconds}: need a count >= 1 and seconds > 0")
        self.secondary: tuple[Window, ...] = tuple(secondary or ())
        self.status = status
        self.clock: Clock = clock or time.time
        self._hours: dict[str, _Hour] = {}
        self._writes: dict[str, list[deque[float]]] = {}  # per token, admission times per window
        self._lock = threading.Lock()

    # -- primary --------------------------------------------------------------------------------
    def _hour(self, key: str, now: float) -> _Hour:
        hour = self._hours.get(key)
        if hour is None or now >= hour.started + HOUR:
            hour = self._hours[key] = _Hour(now)
        return hour

    def primary(self, key: str) -> dict[str, int]:
        """The quota of `key` as `GET /rate_limit` shows it (`limit`, `used`, `remaining`, `reset`),
        without counting."""
        with self._lock:
            hour = self._hour(key, self.clock())
            return _quota(key, hour)

    # -- secondary ------------------------------------------------------------------------------
    def _retry_after(self, credential: str, now: float) -> int | None:
        """Whole seconds until a write fits every window again (at least 1), or None when it fits now.
        Forgets the writes that have left their window."""
        windows = self._writes.setdefault(credential, [deque() for _ in self.secondary])
        waits: list[float] = []
        for (count, seconds), times in zip(self.secondary, windows, strict=True):
            while times and times[0] <= now - seconds:
                times.popleft()
            if len(times) >= count:  # full: room comes when the count-th newest write leaves
                waits.append(times[-count] + seconds - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def _note_write(self, credential: str, now: float) -> None:
        for times in self._writes[credential]:
            times.append(now)

    # -- both, per request ----------------------------------------------------------------------
    def admit(self, method: str, credential: str | None, client_host: str, counted: bool = True) -> Admission:
        """Count one REST request and decide on it. `credential` is a token the emulator accepts (None
        for anonymous or wrong credentials: those have no secondary windows); `counted` is False for
        `GET /rate_limit`, which GitHub does not count."""
        key = quota_key(credential, client_host)
        with self._lock:
            now = self.clock()
            hour = self._hour(key, now)
            if counted:
                hour.used += 1
            headers = _headers(key, hour)
            if not (self.secondary and credential and method.upper() in WRITES):
                return Admission(headers)
            wait = self._retry_after(credential, now)
            if wait is None:
                self._note_write(credential, now)
                return Admission(headers)
        return _refusal(self.status, wait, headers)


def _limit(key: str) -> int:
    return TOKEN_LIMIT if key.startswith("token:") else ANONYMOUS_LIMIT


def _quota(key: str, hour: _Hour) -> dict[str, int]:
    limit = _limit(key)
    reset = math.ceil(hour.started + HOUR)
    return {"limit": limit, "used": hour.used, "remaining": max(0, limit - hour.used), "reset": reset}


def _headers(key: str, hour: _Hour) -> dict[str, str]:
    """GitHub's primary rate-limit headers, as on every REST answer."""
    quota = _quota(key, hour)
    return {
        "X-RateLimit-Limit": str(quota["limit"]),
        "X-RateLimit-Remaining": str(quota["remaining"]),
        "X-RateLimit-Used": str(quota["used"]),
        "X-RateLimit-Reset": str(quota["reset"]),
        "X-RateLimit-Resource": "core",
    }


def _refusal(status: int, wait: int, headers: dict[str, str]) -> Admission:
    """GitHub's answer to a write past a secondary limit: its wording (PyGithub and Octokit recognise a
    secondary limit by the message's start), `Retry-After`, and a request id to quote."""
    ident = request_id()
    message = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
        f"If you reach out to GitHub Support for help, please include the request ID {ident}."
    )
    body = {"message": message, "documentation_url": SECONDARY_DOCS, "status": str(status)}
    return Admission({**headers, "Retry-After": str(wait), "X-GitHub-Request-Id": ident}, (status, body))
