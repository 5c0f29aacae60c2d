"""A stage task that fails for a reason that may heal (GitHub or Prefect briefly away) is tried again;
one that fails for a reason that will not (a 404, a refused merge) fails at once, with its one line.
Real tasks, with the stage tasks' own retry policy, on the session's Prefect server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect import flow, task

from fluxgate.errors import PermanentError, RetryableError
from fluxgate.github import GitHubNotFound, GitHubUnavailable
from tasks.policy import TRANSIENT


@pytest.fixture(autouse=True)
def _server(prefect_api: str) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        yield


def _attempts(failures: list[Exception]) -> tuple[int, BaseException | None]:
    """Run a task with the stage policy (no delays) that raises `failures` one per attempt, then succeeds."""
    tried: list[int] = []

    @task(name="flaky", **{**TRANSIENT, "retry_delay_seconds": 0})
    def flaky() -> str:
        tried.append(1)
        if len(tried) <= len(failures):
            raise failures[len(tried) - 1]
        return "done"

    @flow(name="retry-policy")
    def run() -> str:
        return flaky()

    try:
        run()
    except (PermanentError, RetryableError) as error:
        return len(tried), error
    return len(tried), None


def test_a_transient_failure_is_tried_again_until_it_heals() -> None:
    blip = GitHubUnavailable("GitHub read pull request #3 on acme/m failed: 502 after retries")
    assert _attempts([blip, blip]) == (3, None)


def test_a_transient_failure_that_never_heals_gives_up_after_the_retries() -> None:
    tried, error = _attempts([GitHubUnavailable("GitHub is down")] * 10)
    assert tried == 1 + TRANSIENT["retries"] and isinstance(error, GitHubUnavailable)


def test_a_permanent_failure_fails_at_once_with_its_message() -> None:
    tried, error = _attempts([GitHubNotFound("GitHub read pull request #3 on acme/m failed: 404")])
    assert tried == 1 and str(error) == "GitHub read pull request #3 on acme/m failed: 404"
