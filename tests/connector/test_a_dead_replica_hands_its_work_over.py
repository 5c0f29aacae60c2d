"""Replicas on one PostgreSQL store: a replica killed with `kill -9` in the middle of a GitHub call (its
whole process group, as when its container or machine goes) stops beating, and another replica takes
its claims over after `orphan_after` seconds, not after the whole lease. The change whose answer was
lost is made once: the survivor finds the dead replica's effect claim, looks at GitHub, and does not
post a second status."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from fluxgate.sandbox.github import Fault, RunningEmulator, free_port
from tests.connector.conftest import ConnectorProcess, head, kustomization_event, posts

ROUTE = "/repos/{owner}/{repo}/statuses/{sha}"
LEASE = 120.0
ORPHAN_AFTER = 2.0


def _replica(connector: ConnectorProcess, name: str, database: str, tmp_path: Path) -> ConnectorProcess:
    port = free_port()
    env = {
        **connector.env,
        "FLUXGATE_DATABASE_URL": database,
        "FLUXGATE_LEASE": str(LEASE),
        "FLUXGATE_HEARTBEAT": "0.3",
        "FLUXGATE_ORPHAN_AFTER": str(ORPHAN_AFTER),
    }
    url = f"http://127.0.0.1:{port}"
    replica = ConnectorProcess(url, tmp_path / name, connector.config, connector.repo, env, port,
                               separate_process=True)  # fmt: skip
    replica.start()
    return replica


@pytest.mark.connector_process
def test_a_killed_replicas_claims_go_to_another_after_its_heartbeat_stops(
    github: RunningEmulator, connector: ConnectorProcess, postgres_url: str, tmp_path: Path
) -> None:
    connector.stop()  # this test's replicas share PostgreSQL instead
    sha = head(github, connector.repo)
    path = ROUTE.replace("{owner}/{repo}", connector.repo).replace("{sha}", ".*")
    github.emulator.inject(Fault(502, method="POST", path=f"^{path}$", swallow=60))
    first = _replica(connector, "a", postgres_url, tmp_path)
    second: ConnectorProcess | None = None
    try:
        assert first.flux(kustomization_event(sha, "Progressing", "reconciling")).status_code == 202
        deadline = time.monotonic() + 30
        while not any(r.swallowed for r in posts(github, connector.repo, ROUTE)):  # GitHub made it
            assert time.monotonic() < deadline, "no status call reached GitHub"
            time.sleep(0.02)
        second = _replica(connector, "b", postgres_url, tmp_path)
        assert first.proc is not None
        os.killpg(first.proc.pid, signal.SIGKILL)  # the whole replica, mid-call
        killed = time.monotonic()
        first.proc.communicate(timeout=10)  # reaped, its pipe closed

        listing = second.settle(timeout=30)
        taken_over = time.monotonic() - killed
        print(f"a killed replica's claims were taken over {taken_over:.1f} s after the kill")
        assert listing["counts"] == {"done": 1}, listing
        # counted from the kill, not from the dead replica's last heartbeat (a loaded machine may
        # have delayed that one): only the upper bound says something
        assert taken_over < LEASE / 4, f"{taken_over:.1f} s: the claims waited for the lease"
        made = posts(github, connector.repo, ROUTE)
        assert len(made) == 1, [(r.path, r.status, r.swallowed) for r in made]
    finally:
        github.emulator.faults.clear()
        log = second.stop() if second is not None else ""
        first.stop()
    assert "silent for 2 s: their claims are released" in log, log
