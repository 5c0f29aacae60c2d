"""Every change the connector makes on GitHub happens once: with many worker threads, with two
replicas on one PostgreSQL, and when GitHub did what was asked but the answer never came back."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from fluxgate.sandbox.github import Fault, RunningEmulator, free_port
from tests.connector.conftest import ConnectorProcess, head, kustomization_event, posts

CHANGE_SET = "Deployment/shop-prod/web configured\nService/shop-prod/web unchanged"


def _prod_deployments(github: RunningEmulator, repo: str, sha: str) -> list[Any]:
    record = github.emulator.state.repos[repo]
    return [d for d in record.deployments.values() if d.environment == "prod" and d.sha == sha]


def _change_sets(sha: str, count: int) -> list[dict[str, Any]]:
    """`count` Kustomizations of prod (two clusters), each applying `sha`: one group each, so the
    worker handles them on as many threads at once."""
    return [
        kustomization_event(sha, "Progressing", CHANGE_SET, env="prod",
                            cluster=("prod-eu", "prod-us")[n % 2], name=f"shop-{n}")
        for n in range(count)
    ]  # fmt: skip


def _store_deliveries(connector: ConnectorProcess, events: list[dict[str, Any]]) -> None:
    """Put events in the connector's inbox as its intake would."""
    from fluxgate.connector.flux_events import parse_flux_event
    from fluxgate.connector.store import Source, Store, sqlite_url

    store = Store(sqlite_url(connector.data))
    for event in events:
        body = json.dumps(event).encode()
        store.accept(Source.FLUX, parse_flux_event(body).fingerprint(), "Kustomization", body)
    store.close()


@pytest.fixture
def slow_github(github: RunningEmulator) -> Iterator[RunningEmulator]:
    """GitHub answering after 50 ms, as github.com does: long enough for every worker thread to be
    inside the same check-then-create at once."""
    github.emulator.latency = 0.05
    yield github
    github.emulator.latency = 0.0


@pytest.fixture
def replicas(postgres_url: str, connector: ConnectorProcess) -> Iterator[list[ConnectorProcess]]:
    """Two connectors sharing one PostgreSQL store, as two replicas behind one Service."""
    connector.stop()
    connector.env["FLUXGATE_DATABASE_URL"] = postgres_url
    connector.start()
    port = free_port()
    second = replace(connector, url=f"http://127.0.0.1:{port}", port=port,
                     data=connector.data.parent / "data-2", proc=None, serving=None)  # fmt: skip
    second.start()
    yield [connector, second]
    assert "Traceback" not in second.stop()


def test_concurrent_change_sets_of_one_environment_make_one_deployment(
    slow_github: RunningEmulator, connector: ConnectorProcess
) -> None:
    github = slow_github
    sha = head(github, connector.repo)
    connector.stop()  # eight deliveries waiting when it starts: one batch, eight threads at once
    _store_deliveries(connector, _change_sets(sha, 8))
    connector.start()
    listing = connector.settle()
    assert listing["counts"] == {"done": 8}, listing
    (deployment,) = _prod_deployments(github, connector.repo, sha)
    assert [s.state for s in deployment.statuses] == ["in_progress"]


def test_two_replicas_make_one_deployment(
    slow_github: RunningEmulator, replicas: list[ConnectorProcess]
) -> None:
    github = slow_github
    sha = head(github, replicas[0].repo)
    with ThreadPoolExecutor(8) as senders:
        answers = list(senders.map(lambda n, e: replicas[n % 2].flux(e), range(8), _change_sets(sha, 8)))
    assert [a.status_code for a in answers] == [202] * 8
    listing = replicas[0].settle()
    assert listing["counts"] == {"done": 8}, listing
    (deployment,) = _prod_deployments(github, replicas[0].repo, sha)
    assert [s.state for s in deployment.statuses] == ["in_progress"]
    contexts = Counter(
        r.body["context"] for r in posts(github, replicas[0].repo, "/repos/{owner}/{repo}/statuses/{sha}")
    )
    assert set(contexts.values()) == {1}, contexts


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("/repos/{owner}/{repo}/deployments", r"/deployments$"),
        ("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", r"/deployments/\d+/statuses$"),
        ("/repos/{owner}/{repo}/statuses/{sha}", r"/statuses/"),
    ],
    ids=["deployment", "deployment status", "commit status"],
)
def test_a_change_github_made_but_whose_answer_was_lost_is_not_made_again(
    github: RunningEmulator, connector: ConnectorProcess, route: str, path: str
) -> None:
    sha = head(github, connector.repo)
    github.emulator.inject(Fault(502, method="POST", path=connector.repo + ".*" + path, swallow=0.05))
    assert connector.flux(_change_sets(sha, 1)[0]).status_code == 202
    listing = connector.settle(timeout=30)
    assert listing["counts"] == {"done": 1}, listing
    made = posts(github, connector.repo, route)
    assert len(made) == 1, [(r.path, r.status, r.swallowed) for r in made]
    assert made[0].swallowed  # GitHub did it; the connector never heard, looked, and found it
    (deployment,) = _prod_deployments(github, connector.repo, sha)
    assert [s.state for s in deployment.statuses] == ["in_progress"]
    deadline = time.monotonic() + 5
    while github.emulator.faults and github.emulator.faults[0].times and time.monotonic() < deadline:
        time.sleep(0.05)
    github.emulator.faults.clear()
