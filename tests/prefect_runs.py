"""Driving a suspending flow without a worker (docs/architecture.md, "Testing the flows"): save it as a
deployment, create a run, execute it in-process until it suspends; after a resume, execute it again."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["cancel_waiting", "run_again", "start_until_paused"]



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
    return run


def cancel_waiting(api_url: str) -> None:
    """End every stage run left waiting on the session's server: a later test's connector would
    otherwise find them too (and resume them, or have its watchdog look at them)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Cancelled

    from fluxgate.prefect_api import connect
    from fluxgate.stage import RunState

    with temporary_settings({PREFECT_API_URL: api_url}), connect(check=False) as api:
        for run in api.stage_runs(states=[RunState.PAUSED], limit=None):
            api.client.set_flow_run_state(run.id, Cancelled(), force=True)


def run_again(flow: Any, run: Any) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        again = client.read_flow_run(run.id)
    return run_flow(flow, flow_run=again, return_type="state")
