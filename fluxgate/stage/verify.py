"""Post-deploy HTTP checks: each retried with backoff until it passes or its deadline passes.

A check passes on the expected status and, when asked, a body containing the expected text and a
JSON body holding the expected value at a path. A service that needs a moment after Flux reports
ready (a slow start, a cache warming) passes on a later attempt; one that stays wrong fails with
what it last answered, in one line. Headers and bodies may carry `${secret:NAME}` references,
resolved when the check runs; what a check reports never holds a secret's value.

Called through `run_checks` (fluxgate.stage.checks) by the stage flow's verify task.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from fluxgate.config import HttpCheck, JsonExpectation, TlsSettings
from fluxgate.errors import one_line
from fluxgate.stage.result import CheckResult
from fluxgate.stage.secrets import SecretMissing, SecretResolver, Secrets, env_secrets

__all__ = ["CheckResult", "run_http_check", "run_http_checks"]

_MISSING = object()


def _verify(tls: TlsSettings) -> ssl.SSLContext | bool:
    """What httpx should trust; a CA bundle becomes an SSL context (httpx deprecates paths)."""
    if tls.ca_file is None:
        return tls.verify
    try:
        return ssl.create_default_context(cafile=tls.ca_file)
    except (OSError, ssl.SSLError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        name = Path(tls.ca_file).name
        raise ValueError(f"TLS: cannot load ca_file {name}: {one_line(reason, 160)}") from error


def _at(document: Any, path: str) -> Any:
    """The value at a dotted path (`items.0.name`), or `_MISSING`."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _same(got: Any, expected: Any) -> bool:
    """JSON equality: `true` is not `1`, `1` is `1.0`."""
    if isinstance(got, bool) or isinstance(expected, bool):
        return isinstance(got, bool) and isinstance(expected, bool) and got is expected
    return bool(got == expected)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _json_problem(text: str, expectation: JsonExpectation) -> str | None:
    try:
        document = json.loads(text)
    except ValueError:
        return "the body is not JSON"
    got = _at(document, expectation.path)
    expected = _shown(expectation.equals)
    if got is _MISSING:
        return f"JSON {expectation.path} is missing, expected {expected}"
    if not _same(got, expectation.equals):
        return f"JSON {expectation.path} is {_shown(got)}, expected {expected}"
    return None


def _attempt(client: httpx.Client, check: HttpCheck, headers: dict[str, str], body: Any) -> tuple[bool, str]:
    content = body if isinstance(body, str) else None
    payload = body if isinstance(body, (dict, list)) else None
    try:
        answer = client.request(
            check.method,
            check.url,
            headers=headers,
            content=content,
            json=payload,
            timeout=check.timeout.total_seconds(),
        )
    except httpx.HTTPError as error:
        return False, f"{type(error).__name__}: {one_line(str(error), 160) or 'no answer'}"
    if answer.status_code != check.expect_status:
        return False, f"HTTP {answer.status_code}, expected {check.expect_status}"
    if check.contains is not None and check.contains not in answer.text:
        return False, f"HTTP {answer.status_code} but the body does not contain {check.contains!r}"
    if check.expect_json is not None:
        problem = _json_problem(answer.text, check.expect_json)
        if problem:
            return False, f"HTTP {answer.status_code} but {problem}"
    found = f", body contains {check.contains!r}" if check.contains else ""
    if check.expect_json is not None:
        found += f", JSON {check.expect_json.path} is {_shown(check.expect_json.equals)}"
    return True, f"HTTP {answer.status_code}{found}"


def run_http_check(
    check: HttpCheck,
    *,
    secrets: SecretResolver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_delay: float = 0.5,
) -> CheckResult:
    """One HTTP check, retried (0.5 s, 1 s, 2 s ... at most 15 s apart) until it passes or its deadline.

    A missing secret or an unreadable CA bundle fails it at once, without a request (attempts 0).
    """
    started = clock()
    used = Secrets(secrets or env_secrets())

    def result(passed: bool, detail: str, attempts: int) -> CheckResult:
        return CheckResult(
            name=check.label,
            kind="http",
            passed=passed,
            detail=used.redact(detail),
            attempts=attempts,
            duration=round(clock() - started, 3),
        )

    try:
        headers = used.fill(check.headers)
        body = used.fill(check.body)
        verify = _verify(check.tls)
    except (SecretMissing, ValueError) as error:
        return result(False, str(error), 0)
    deadline = started + check.deadline.total_seconds()
    delay, attempts = first_delay, 0
    with httpx.Client(follow_redirects=True, verify=verify) as client:
        while True:
            attempts += 1
            passed, detail = _attempt(client, check, headers, body)
            if passed or clock() + delay > deadline:
                return result(passed, detail, attempts)
            sleep(delay)
            delay = min(delay * 2, 15.0)


def run_http_checks(
    checks: list[HttpCheck],
    *,
    secrets: SecretResolver | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_delay: float = 0.5,
) -> list[CheckResult]:
    """Each HTTP check in order (see `run_http_check`); `run_checks` runs every kind."""
    return [
        run_http_check(check, secrets=secrets, sleep=sleep, clock=clock, first_delay=first_delay)
        for check in checks
    ]
