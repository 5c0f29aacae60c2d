"""What a platform engineer sees in GitHub as Flux works: a commit status per cluster and object on
the manifests commit, and the environment's Deployment moving from in_progress to success or failure."""

from __future__ import annotations

import json
from typing import Any

import github as pygithub

from fluxgate.sandbox.github import RunningEmulator
from tests.connector.conftest import VECTORS, ConnectorProcess, kustomization_event
from tests.github.conftest import TOKEN


def _repo(github: RunningEmulator, name: str) -> Any:
    return pygithub.Github(auth=pygithub.Auth.Token(TOKEN), base_url=github.url, lazy=True).get_repo(name)


def _head(github: RunningEmulator, repo: str) -> str:
    sha = github.emulator.git(github.emulator.state.repos[repo]).ref("refs/heads/main")
    assert sha
    return sha


def _statuses(github: RunningEmulator, repo: str, sha: str) -> dict[str, tuple[str, str]]:
    combined = _repo(github, repo).get_commit(sha).get_combined_status()
    return {s.context: (s.state, s.description) for s in combined.statuses}


def _deployments(github: RunningEmulator, repo: str, env: str) -> list[list[str]]:
    """Each deployment of `env`, newest first, with its status history, oldest first."""
    record = github.emulator.state.repos[repo]
    found = sorted((d for d in record.deployments.values() if d.environment == env), key=lambda d: -d.id)
    return [[s.state for s in d.statuses] for d in found]


def test_a_rollout_shows_progress_then_success(github: RunningEmulator, connector: ConnectorProcess) -> None:
    sha = _head(github, connector.repo)
    progressing = kustomization_event(
        sha,
        "Progressing",
        "Deployment/shop-dev/shop-web configured\n"
        "Service/shop-dev/shop-web configured\nConfigMap/shop-dev/shop-config created",
    )
    assert connector.flux(progressing).status_code == 202
    connector.settle()
    context = "fluxgate/dev/dev-eu"
    assert _statuses(github, connector.repo, sha)[context] == (
        "pending",
        "Progressing: 2 configured, 1 created",
    )
    assert _deployments(github, connector.repo, "dev") == [["in_progress"]]
    ready = kustomization_event(
        sha,
        "ReconciliationSucceeded",
        "Reconciliation finished in 15.4s, next run in 10m0s",
        timestamp="2026-01-01T10:00:20Z",
    )
    assert connector.flux(ready).status_code == 202
    connector.settle()
    state, description = _statuses(github, connector.repo, sha)[context]
    assert state == "success" and description.startswith("Ready: Reconciliation finished")
    assert _deployments(github, connector.repo, "dev") == [["in_progress", "success"]]


def test_flux_repeating_the_same_ready_state_posts_nothing_new(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    sha = _head(github, connector.repo)
    for minute in range(4):  # Flux re-sends ReconciliationSucceeded every interval
        event = kustomization_event(
            sha,
            "ReconciliationSucceeded",
            f"Reconciliation finished in {minute}.1s",
            timestamp=f"2026-01-01T10:0{minute}:00Z",
        )
        assert connector.flux(event).status_code == 202
    connector.settle()
    statuses = github.emulator.state.repos[connector.repo].statuses
    assert [s.state for s in statuses] == ["success"]


def test_the_same_event_twice_is_one_delivery(github: RunningEmulator, connector: ConnectorProcess) -> None:
    sha = _head(github, connector.repo)
    event = kustomization_event(sha, "Progressing", "Deployment/shop-dev/shop-web configured")
    first, second = connector.flux(event), connector.flux(event)
    assert first.json() == {"accepted": True, "duplicate": False}
    assert second.json() == {"accepted": True, "duplicate": True}
    listing = connector.settle()
    assert listing["counts"] == {"done": 1}


def test_a_failed_health_check_fails_the_status_and_the_deployment(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    sha = _head(github, connector.repo)
    connector.flux(
        kustomization_event(
            sha,
            "Progressing",
            "Deployment/shop-staging/shop-web configured",
            env="staging",
            cluster="staging-eu",
        )
    )
    connector.flux(
        kustomization_event(
            sha,
            "HealthCheckFailed",
            "Deployment/shop-staging/shop-web: timeout",
            env="staging",
            cluster="staging-eu",
            severity="error",
            timestamp="2026-01-01T10:05:00Z",
        )
    )
    connector.settle()
    state, description = _statuses(github, connector.repo, sha)[
        "fluxgate/staging/staging-eu"
    ]
    assert state == "failure" and description.startswith(
        "HealthCheckFailed: Deployment/shop-staging/shop-web"
    )
    # the two events came within the outbox's settle time: in_progress was replaced before it was sent
    assert _deployments(github, connector.repo, "staging") == [["failure"]]


def test_an_environment_is_ready_only_when_every_cluster_is_even_at_a_later_revision(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    ours = _head(github, connector.repo)
    later = github.emulator.commit_files(
        connector.repo, "main", {"prod/x.yaml": "x: 1\n"}, "later", author="bob"
    )
    applied = "Deployment/shop-prod/shop-web configured"
    connector.flux(kustomization_event(ours, "Progressing", applied, env="prod", cluster="prod-eu"))
    connector.flux(
        kustomization_event(
            ours, "ReconciliationSucceeded", "done", env="prod", cluster="prod-eu",
            timestamp="2026-01-01T10:00:30Z",
        )
    )  # fmt: skip
    connector.settle()
    assert _deployments(github, connector.repo, "prod") == [["in_progress"]]  # prod-us has not reported
    connector.flux(
        kustomization_event(
            later,
            "ReconciliationSucceeded",
            "done",
            env="prod",
            cluster="prod-us",
            timestamp="2026-01-01T10:01:00Z",
        )
    )
    connector.settle()
    connector.flux(
        kustomization_event(
            ours,
            "ReconciliationSucceeded",
            "done again",
            env="prod",
            cluster="prod-eu",
            timestamp="2026-01-01T10:02:00Z",
        )
    )
    connector.settle()
    history = _deployments(github, connector.repo, "prod")
    assert history[-1] == ["in_progress", "success"]  # the deployment of our commit: both clusters contain it


def test_every_flux_vector_is_accepted_and_none_breaks_the_connector(connector: ConnectorProcess) -> None:
    bodies: list[bytes] = []
    for path in sorted(VECTORS.iterdir()):
        if path.suffix == ".json" and not path.name.startswith("30_"):
            bodies.append(path.read_bytes())
        elif path.suffix == ".jsonl":
            bodies += [line.encode() for line in path.read_text().splitlines() if line.strip()]
    vector = json.loads((VECTORS / "30_generic_hmac_signature_vector.json").read_text())
    for body in bodies:
        assert connector.flux(body).status_code == 202, body[:200]
    listing = connector.settle()
    assert set(listing["counts"]) <= {"done", "ignored"}, listing
    # the vectors carry no env/cluster labels and name objects fluxgate.yaml does not list: kept, ignored
    notes = [d["note"] for d in listing["deliveries"]]
    assert all(note for note in notes)
    assert vector["x_signature"].startswith("sha256=")


def test_a_revision_that_changed_nothing_in_an_environment_moves_statuses_but_makes_no_deployment(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    """One branch, a folder per environment: a merge into dev is a new revision for prod's clusters
    too. Flux reconciles it with no change set; GitHub's prod environment must not list it."""
    sha = github.emulator.commit_files(connector.repo, "main", {"dev/x.yaml": "x: 2\n"}, "dev only", "bob")
    done = "Reconciliation finished in 1s, next run in 10m0s"
    event = kustomization_event(sha, "ReconciliationSucceeded", done, env="prod", cluster="prod-eu",
                                timestamp="2026-01-01T12:00:00Z")  # fmt: skip
    assert connector.flux(event).status_code == 202
    connector.settle()
    assert _statuses(github, connector.repo, sha)["fluxgate/prod/prod-eu"][0] == "success"
    record, _ = github.emulator.repo(*connector.repo.split("/", 1))
    assert not [d for d in record.deployments.values() if d.sha == sha]
