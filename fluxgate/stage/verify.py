"""Post-deploy HTTP checks: each retried with backoff until it passes or its deadline passes.

A check passes on the expected status and, when asked, a body containing the expected text. A
service that needs a moment after Flux reports ready (a slow start, a cache warming) passes on a
later attempt; one that stays wrong fails with what it last answered, in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from pydantic import BaseModel

from fluxgate.config import HttpCheck

__all__ = ["CheckResult", "run_http_checks"]


class CheckResult(BaseModel):
    name: str
    passed: bool
    detail: str
    attempts: int


def _attempt(client: httpx.Client, check: HttpCheck) -> tuple[bool, str]:
    try:
        answer = client.request(check.method, check.url, timeout=check.timeout.total_seconds())
    except httpx.HTTPError as error:
        return False, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no answer'}"
    if answer.status_code != check.expect_status:
        return False, f"HTTP {answer.status_code}, expected {check.expect_status}"
    if check.contains is not None and check.contains not in answer.text:
        return False, f"HTTP {answer.status_code} but the body does not contain {check.contains!r}"
    found = f", body contains {check.contains!r}" if check.contains else ""
    return True, f"HTTP {answer.status_code}{found}"


def run_http_checks(
    checks: list[HttpCheck],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_delay: float = 0.5,
) -> list[CheckResult]:
    results = []
    with httpx.Client(follow_redirects=True) as client:
        for check in checks:
            deadline = clock() + check.deadline.total_seconds()
            delay, attempts = first_delay, 0
            while True:
                attempts += 1
                passed, detail = _attempt(client, check)
                if passed or clock() + delay > deadline:
                    break
                sleep(delay)
                delay = min(delay * 2, 15.0)
            results.append(CheckResult(name=check.label, passed=passed, detail=detail, attempts=attempts))
    return results
