"""Driving a suspending flow without a worker (docs/architecture.md, "Testing the flows"): save it as a
deployment, create a run, execute it in-process until it suspends; after a resume, execute it again."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["cancel_started", "run_again", "start_until_paused", "started_any"]

_started: list[Any] = []  # runs this test left paused, for `cancel_started`


def start_until_paused(flow: Any, tags: list[str]) -> Any:
    """Save the flow as a deployment, create a run with `tags`, and run it until it suspends."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    deployment_id = flow.to_deployment(name="test").apply()
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(deployment_id, tags=tags)
    with pytest.raises(Pause):
        run_flow(flow, flow_run=run, return_type="state")
    _started.append(run)
    return run


def cancel_started(api_url: str) -> None:
    """End the runs `start_until_paused` left waiting: they are stage runs on the session's server, and
    a later test's connector would otherwise find them waiting too (and its watchdog look at them)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Cancelled

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        while _started:
            run = _started.pop()
            if client.read_flow_run(run.id).state_type.value == "PAUSED":
                client.set_flow_run_state(run.id, Cancelled(), force=True)


def started_any() -> bool:
    return bool(_started)


def run_again(flow: Any, run: Any) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        again = client.read_flow_run(run.id)
    return run_flow(flow, flow_run=again, return_type="state")
