"""A `kill -9` of the processing process between a GitHub call and its record repeats nothing.

GitHub carries the call out and the answer never comes back (the emulator swallows it), the
processing process is killed while it waits, and its connector starts another. That one processes
the delivery again, finds the claim the dead one left, looks at GitHub, and makes no second change:
one commit status, one Deployment, one deployment status, one repository_dispatch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fluxgate.sandbox.github import Fault, RunningEmulator
from tests.connector.conftest import ConnectorProcess, head, kustomization_event, posts

CHANGE_SET = "Deployment/shop-dev/web configured"


def _kill_once_swallowed(github: RunningEmulator, connector: ConnectorProcess, repo: str, route: str) -> None:
    """Wait until GitHub has carried out the call whose answer it keeps, then kill the processing
    process that is waiting for that answer."""
    deadline = time.monotonic() + 30
    while not any(r.swallowed for r in posts(github, repo, route)):
        assert time.monotonic() < deadline, f"no {route} call reached GitHub"
        time.sleep(0.02)
    connector.kill_processing()


Case = tuple[str, Callable[[str], list[dict[str, Any]]]]
CASES: dict[str, Case] = {
    "commit status": (
        "/repos/{owner}/{repo}/statuses/{sha}",
        lambda sha: [kustomization_event(sha, "Progressing", "reconciling")],
    ),
    "deployment": (
        "/repos/{owner}/{repo}/deployments",
        lambda sha: [kustomization_event(sha, "Progressing", CHANGE_SET)],
    ),
    "deployment status": (
        "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
        lambda sha: [kustomization_event(sha, "Progressing", CHANGE_SET)],
    ),
    "repository_dispatch": (
        "/repos/{owner}/{repo}/dispatches",
        lambda sha: [kustomization_event(sha, "ReconciliationSucceeded", "Applied revision")],
    ),
}


@pytest.mark.connector_process  # kills the processing process of a real `fluxgate connector`
@pytest.mark.parametrize("kind", list(CASES))
def test_a_change_whose_record_was_lost_in_a_crash_is_made_once(
    github: RunningEmulator, connector: ConnectorProcess, kind: str
) -> None:
    route, events = CASES[kind]
    repo = connector.opt_in_dispatch(github) if kind == "repository_dispatch" else connector.repo
    sha = head(github, connector.repo)
    path = route.replace("{owner}/{repo}", repo).replace("{sha}", ".*").replace("{deployment_id}", r"\d+")
    github.emulator.inject(Fault(502, method="POST", path=f"^{path}$", swallow=60))
    for event in events(sha):
        assert connector.flux(event).status_code == 202
    _kill_once_swallowed(github, connector, repo, route)
    listing = connector.settle(timeout=30)
    assert listing["counts"] == {"done": len(events(sha))}, listing
    made = posts(github, repo, route)
    assert len(made) == 1, [(r.path, r.status, r.swallowed) for r in made]
    github.emulator.faults.clear()
    log = connector.stop()
    assert "exited with -9; starting another" in log


def test_a_merge_whose_answer_was_lost_is_found_and_not_tried_again(
    github: RunningEmulator, connector: ConnectorProcess, tmp_path: Path
) -> None:
    from fluxgate.connector.automerge import AutoMerger
    from fluxgate.connector.facts import Facts
    from fluxgate.connector.metrics import Metrics
    from fluxgate.connector.store import Store, sqlite_url
    from fluxgate.stage import AutoMerge, PullRef

    gw, number = connector.open_promotion(github, tmp_path, "dev", "2.0.0")
    head = gw.pull_request(connector.repo, number).head_sha
    store = Store(sqlite_url(tmp_path))
    merger = AutoMerger(store, lambda: gw, Metrics(), retry_every=0)
    pr, how = PullRef(repo=connector.repo, number=number), AutoMerge(method="merge", head_sha=head)
    github.emulator.inject(Fault(502, method="PUT", path=f"/pulls/{number}/merge$", swallow=0.05))
    first = merger.attempt("run-1", pr, how)  # merged at GitHub; the answer never came
    second = merger.attempt("run-1", pr, how)
    github.emulator.faults.clear()
    path = f"/repos/{connector.repo}/pulls/{number}/merge"
    merges = [r for r in github.emulator.calls() if r.method == "PUT" and r.path == path]
    assert [r.status for r in merges if r.status == 200] == [200], [(r.status, r.swallowed) for r in merges]
    fact = Facts(store).merge(connector.repo, number)
    assert fact is not None and fact.merged and fact.version == "2.0.0"
    assert any("found merged as" in line for line in first + second), (first, second)
    store.close()
