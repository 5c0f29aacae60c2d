"""What a platform engineer sees in GitHub while a release moves: commit statuses on the manifests
commit, a Deployment per environment with its status history, a Check Run summary (GitHub App),
repository_dispatch events, and whether Flux's revision contains our commit."""

from __future__ import annotations

from pathlib import Path

import github as pygithub
import pytest

from fluxgate.github import GitHubForbidden, GitHubGateway, GitHubSettings
from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import TOKEN, Calls
from tests.github.gateway import gateway


def _head(github: RunningEmulator, repo: str) -> str:
    sha = github.emulator.git(github.emulator.state.repos[repo]).ref("refs/heads/main")
    assert sha is not None
    return sha


def _reader(github: RunningEmulator, repo: str):  # type: ignore[no-untyped-def]
    return pygithub.Github(auth=pygithub.Auth.Token(TOKEN), base_url=github.url, lazy=True).get_repo(repo)


def test_commit_statuses_show_the_latest_state_per_context(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    sha = _head(github, manifests_repo)
    gw.set_status(manifests_repo, sha, "pending", "fluxgate/dev", "Flux is applying shop 1.0.0")
    gw.set_status(
        manifests_repo,
        sha,
        "success",
        "fluxgate/dev",
        "healthy on dev-eu " + "x" * 300,
        target_url="http://prefect.local/runs/1",
    )
    gw.set_status(manifests_repo, sha, "pending", "fluxgate/staging", "waiting for review")
    combined = _reader(github, manifests_repo).get_commit(sha).get_combined_status()
    latest = {s.context: s for s in combined.statuses}
    assert combined.state == "pending"
    assert latest["fluxgate/dev"].state == "success"
    assert len(latest["fluxgate/dev"].description) == 140 and latest["fluxgate/dev"].description.endswith("…")
    assert latest["fluxgate/dev"].target_url == "http://prefect.local/runs/1"


def test_a_deployment_walks_from_queued_to_success_and_retires_the_previous_one(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    sha = _head(github, manifests_repo)
    first = gw.create_deployment(manifests_repo, sha, "dev", "shop 1.0.0", payload={"version": "1.0.0"})
    for state in ("queued", "in_progress", "success"):
        gw.set_deployment_status(
            manifests_repo,
            first,
            state,
            f"shop 1.0.0 {state}",  # type: ignore[arg-type]
            environment_url="https://shop.dev.example.com",
            log_url="http://prefect/1",
        )
    second = gw.create_deployment(manifests_repo, sha, "dev", "shop 1.1.0")
    gw.set_deployment_status(
        manifests_repo,
        second,
        "success",
        "shop 1.1.0 healthy",
        environment_url="https://shop.dev.example.com",
    )
    repo = _reader(github, manifests_repo)
    history = [s.state for s in repo.get_deployment(first).get_statuses()]
    assert history == ["inactive", "success", "in_progress", "queued"]  # newest first, as GitHub lists
    latest = repo.get_deployment(second).get_statuses()[0]
    assert latest.state == "success" and latest.environment_url == "https://shop.dev.example.com"
    assert repo.get_deployment(first).payload == {"version": "1.0.0"}


def test_a_failed_rollout_is_a_failure_status_with_its_log(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    deployment = gw.create_deployment(manifests_repo, _head(github, manifests_repo), "staging", "shop 2.0.0")
    gw.set_deployment_status(
        manifests_repo,
        deployment,
        "failure",
        "HealthCheckFailed: shop-web not ready",
        log_url="http://prefect.local/runs/7",
    )
    status = _reader(github, manifests_repo).get_deployment(deployment).get_statuses()[0]
    assert status.state == "failure" and status.target_url == "http://prefect.local/runs/7"


def test_a_github_app_can_publish_a_check_run_summary(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    github.emulator.add_app(4242, "fluxgate-app", public, installations=[77])
    gw = GitHubGateway(
        GitHubSettings(
            api_url=github.url, app_id=4242, private_key=private, installation_id=77, min_write_interval=0
        ),
        cache=tmp_path,
    )
    sha = _head(github, manifests_repo)
    run = gw.check_run(manifests_repo, sha, "fluxgate / dev", status="in_progress", summary="applying")
    gw.update_check_run(
        manifests_repo,
        run,
        status="completed",
        conclusion="success",
        title="dev is healthy",
        summary="| Kustomization | Ready |\n|---|---|\n| apps | ✅ |",
    )
    check = _reader(github, manifests_repo).get_check_run(run)
    assert check.conclusion == "success" and check.output.title == "dev is healthy"
    assert "| apps | ✅ |" in check.output.summary
    assert check.app.slug == "fluxgate-app"


def test_installation_tokens_are_refreshed_before_they_expire(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path, calls: Calls, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    github.emulator.add_app(
        4343, "short-lived", public, installations=[78], token_ttl=10
    )  # < PyGithub's 20 s
    gw = GitHubGateway(
        GitHubSettings(
            api_url=github.url, app_id=4343, private_key=private, installation_id=78, min_write_interval=0
        ),
        cache=tmp_path,
    )
    sha = _head(github, manifests_repo)
    with calls.counting():
        gw.set_status(manifests_repo, sha, "pending", "fluxgate/dev", "one")
        gw.set_status(manifests_repo, sha, "success", "fluxgate/dev", "two")
    assert calls.routes().count("POST /app/installations/{installation_id}/access_tokens") == 2


def test_check_runs_with_a_personal_token_explain_that_an_app_is_needed(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    with pytest.raises(GitHubForbidden, match="GitHub App"):
        gw.check_run(manifests_repo, _head(github, manifests_repo), "fluxgate / dev")


def test_repository_dispatch_is_recorded(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gateway(github, tmp_path).dispatch(
        manifests_repo, "fluxgate.deployed", {"env": "dev", "version": "1.0.0"}
    )
    recorded = github.emulator.state.repos[manifests_repo].dispatches
    assert [(d.event_type, d.client_payload) for d in recorded] == [
        ("fluxgate.deployed", {"env": "dev", "version": "1.0.0"})
    ]


def test_ancestry_tells_whether_a_flux_revision_contains_our_commit(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    ours = _head(github, manifests_repo)
    later = github.emulator.commit_files(
        manifests_repo, "main", {"dev/x.yaml": "x: 1\n"}, "later", author="bob"
    )
    assert gw.is_ancestor(manifests_repo, ours, later)
    assert gw.is_ancestor(manifests_repo, ours, ours)
    assert not gw.is_ancestor(manifests_repo, later, ours)
