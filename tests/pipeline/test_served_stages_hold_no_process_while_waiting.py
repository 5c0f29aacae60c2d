"""As a user runs it: `fluxgate serve` executes stage runs, `fluxgate deploy` starts one, and while the
stage waits for GitHub or Flux no flow process is alive, only the idle runner. The runner polls only
every ten minutes here: the stage starts and resumes because Prefect announces it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxgate.sandbox.stack import flow_processes
from tests.cli.conftest import FLUXGATE
from tests.pipeline.conftest import Stage


def _forget_scheduled_runs() -> None:
    """Runs other tests created and left scheduled (promotions, triggers) are not this runner's work."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    scheduled = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
    )
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=scheduled, limit=200):
            client.delete_flow_run(run.id)


@pytest.fixture
def runner(stage: Stage, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    _forget_scheduled_runs()
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [str(FLUXGATE), "serve", "--poll", "600"],
            env={**os.environ, "PREFECT_LOGGING_TO_API_ENABLED": "false"},
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        yield proc
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _wait_for(stage: Stage, find: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_deploy_runs_the_stage_on_the_runner_and_waits_without_a_process(
    stage: Stage, runner: subprocess.Popen[str]
) -> None:
    from fluxgate.github import GitHubGateway, GitHubSettings
    from fluxgate.runs import stage_runs
    from tests.conftest import TOKEN

    source = stage.publish()  # the project as pushed: deploy renders main's head
    started = subprocess.run(
        [str(FLUXGATE), "deploy", "--env", "dev", "--image", "web=1.5.0", "--image", "worker=1.5.0",
         "--config", str(stage.config)],
        capture_output=True, text=True, timeout=60,
    )
    assert started.returncode == 0, started.stderr
    first, second = started.stdout.splitlines()[:2]
    assert first.startswith(f"shop@1.5.0 renders code {source['repo']}@{source['commit']} (fluxgate.yaml); ")
    assert second.startswith("shop@1.5.0 -> dev: http://127.0.0.1:")

    from fluxgate.prefect_api import connect
    from fluxgate.stage import RunState

    def run_waiting(key: str) -> Any:
        with connect() as api:
            runs = stage_runs(api, "shop", "1.5.0", "dev")
        if runs and runs[0].state in (RunState.FAILED, RunState.CRASHED):
            pytest.fail(f"the stage ended: {runs[0].message}")
        idle = not flow_processes(runner.pid)
        return runs[0] if runs and stage.pause_key(runs[0]) == key and idle else None

    run = _wait_for(stage, lambda: run_waiting("await-merge"), "the stage to wait for its merge")
    assert flow_processes(runner.pid) == []  # nothing held while the reviewer thinks

    number = stage.tags(run).pr.number
    gw = GitHubGateway(GitHubSettings(api_url=stage.github.url, token=TOKEN, min_write_interval=0))
    sha = gw.merge(stage.repo, number, "merge")
    _wait_for(stage, lambda: run_waiting("await-flux"), "the stage to wait for Flux")
    assert flow_processes(runner.pid) == []

    stage.flux_ready(sha)
    _wait_for(stage, lambda: stage.read(run).state_type.value == "COMPLETED", "the stage to complete")
    assert stage.read(run).state.message == "promoting shop@1.5.0 to staging"

    shown = subprocess.run(
        [str(FLUXGATE), "status", "shop@1.5.0", "--config", str(stage.config)],
        capture_output=True, text=True, timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    dev = next(line for line in shown.stdout.splitlines() if " dev " in line)
    assert "shop@1.5.0" in dev and "Completed" in dev and sha[:12] in dev
    assert "not deployed" in next(line for line in shown.stdout.splitlines() if " prod " in line)

    again = subprocess.run(
        [str(FLUXGATE), "deploy", "--env", "dev", "--image", "web=1.5.0", "--image", "worker=1.5.0",
         "--config", str(stage.config)],
        capture_output=True, text=True, timeout=60,
    )
    assert again.returncode == 2
    assert "shop@1.5.0 is already deployed to dev" in again.stderr and "--force" in again.stderr
