"""When a stage task is tried again: only for a `RetryableError` (GitHub or Prefect briefly away, a
rate limit), never for a `PermanentError` (a 404, a refused merge, a bad config), which would fail
the same way three more times. The GitHub gateway already retries single calls with backoff; this
is the next level up, for a whole task (a fetch, a PR) that ran out of those."""

from __future__ import annotations

from typing import Any, TypedDict

from prefect import Task
from prefect.client.schemas.objects import State, TaskRun

from fluxgate.errors import RetryableError

__all__ = ["TRANSIENT", "is_transient"]


def is_transient(_task: Task[..., Any], _task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect's `retry_condition_fn`: the failed state carries the exception the task raised."""
    error = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return isinstance(error, RetryableError)


class _Retries(TypedDict):
    retries: int
    retry_delay_seconds: list[float]
    retry_jitter_factor: float
    retry_condition_fn: Any


# Spread over about a minute: long enough for a GitHub blip or a Prefect server restart.
TRANSIENT: _Retries = {
    "retries": 3,
    "retry_delay_seconds": [2, 10, 45],
    "retry_jitter_factor": 0.2,
    "retry_condition_fn": is_transient,
}
