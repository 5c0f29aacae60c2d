"""An accepted event survives anything: GitHub being down, and a `kill -9` of the connector."""

from __future__ import annotations

import httpx
import pytest

from fluxgate.sandbox.github import Fault, RunningEmulator
from tests.connector.conftest import ConnectorProcess, kustomization_event


def _head(github: RunningEmulator, repo: str) -> str:
    sha = github.emulator.git(github.emulator.state.repos[repo]).ref("refs/heads/main")
    assert sha
    return sha


@pytest.mark.connector_process  # a kill -9 needs a process to kill
def test_events_accepted_before_a_kill_9_are_processed_after_restart(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    sha = _head(github, connector.repo)
    github.emulator.inject(Fault(status=503, path=f"/repos/{connector.repo}/", times=10_000))
    clusters = [("dev", "dev-eu"), ("staging", "staging-eu"), ("prod", "prod-eu"), ("prod", "prod-us")]
    for env, cluster in clusters:
        answer = connector.flux(
            kustomization_event(sha, "ReconciliationSucceeded", "done", env=env, cluster=cluster)
        )
        assert answer.status_code == 202
    connector.kill()
    github.emulator.faults.clear()
    assert github.emulator.state.repos[connector.repo].statuses == []
    connector.start()
    connector.settle(timeout=60)
    posted = {s.context for s in github.emulator.state.repos[connector.repo].statuses}
    assert posted == {f"fluxgate/{env}/{cluster}" for env, cluster in clusters}


@pytest.mark.connector_process  # the worker process's retries, counted at the HTTP process's /metrics
def test_github_outages_are_retried_until_the_status_lands(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    sha = _head(github, connector.repo)
    github.emulator.inject(
        Fault(status=502, method="POST", path=f"/repos/{connector.repo}/statuses/", times=2)
    )
    connector.flux(kustomization_event(sha, "Progressing", "Deployment/shop-dev/shop-web configured"))
    connector.settle(timeout=60)
    assert [s.state for s in github.emulator.state.repos[connector.repo].statuses] == ["pending"]
    metrics = httpx.get(f"{connector.url}/metrics", timeout=5).text
    assert 'fluxgate_connector_github_write_retries_total{kind="status"} 2.0' in metrics
    assert (
        'fluxgate_connector_events_total{kind="Kustomization",reason="Progressing",source="flux"} 1.0'
        in metrics
    )
    assert "ghp_" not in metrics


def test_readiness_says_which_dependency_is_missing(connector: ConnectorProcess) -> None:
    assert httpx.get(f"{connector.url}/readyz", timeout=5).json() == {
        "ready": True,
        "checks": {"store": True, "github": True},
        "problems": {},
    }
    connector.stop()
    connector.env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"  # nothing listens there
    connector.start()
    answer = httpx.get(f"{connector.url}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"store": True, "github": True, "prefect": False}
    assert answer.json()["problems"]["prefect"].startswith("http://127.0.0.1:9/api: ")
    # a Kubernetes readinessProbe leaves out what only delays deliveries; it is still reported
    traffic = httpx.get(f"{connector.url}/readyz?exclude=prefect&exclude=processing", timeout=10)
    assert traffic.status_code == 200
    assert traffic.json()["checks"]["prefect"] is False and traffic.json()["ready"] is True
    typo = httpx.get(f"{connector.url}/readyz?exclude=prefetc", timeout=10)
    assert typo.status_code == 400
    assert typo.json()["error"] == "exclude=prefetc: no such check; one of store, github, processing, prefect"


def _wait_for(condition: object, timeout: float, what: str) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.05)


@pytest.mark.connector_process
def test_a_killed_processing_process_is_noticed_reaped_and_restarted(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    import os
    import signal
    import time

    assert connector.proc is not None
    sha = _head(github, connector.repo)
    _wait_for(lambda: httpx.get(f"{connector.url}/readyz", timeout=5).status_code == 200, 30, "ready")
    (child,) = connector.processing_pids()
    os.kill(child, signal.SIGKILL)
    killed = time.monotonic()
    _wait_for(lambda: httpx.get(f"{connector.url}/readyz", timeout=5).status_code == 503, 5, "unready")
    unready = httpx.get(f"{connector.url}/readyz", timeout=5).json()
    assert unready["checks"]["processing"] is False and "processing" in unready["problems"]
    # acknowledged while no process works the inbox, processed once the new one is up
    answer = connector.flux(kustomization_event(sha, "Progressing", "Deployment/shop/web configured"))
    assert answer.status_code == 202
    _wait_for(lambda: httpx.get(f"{connector.url}/readyz", timeout=5).status_code == 200, 15, "ready again")
    assert not os.path.exists(f"/proc/{child}")  # reaped: not even a defunct entry left
    listing = connector.settle(timeout=15)
    assert listing["counts"] == {"done": 1}, listing
    assert time.monotonic() - killed < 15
    statuses = github.emulator.state.repos[connector.repo].statuses
    assert [s.state for s in statuses if s.sha == sha] == ["pending"]
    assert "exited with -9; starting another" in connector.stop()
