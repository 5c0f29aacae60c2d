"""Flux's events (and GitHub's webhooks) get lost. A stage that has waited too long is checked
directly: the cluster's API when the kubeconfig has the cluster, else the commit statuses on the
branch head; what is found is applied as if the event had come, and the stage is resumed.

Real parts: the Prefect server, the GitHub emulator over HTTP, an emulated Kubernetes API read by the
official client through a kubeconfig. The connector's processing runs in this process, driven by hand."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from fluxgate.connector.service import Processing
from fluxgate.github import GitHubGateway, GitHubSettings
from fluxgate.sandbox.github import RunningEmulator
from fluxgate.sandbox.kube import KubeApiEmulator, flux_object
from tests.connector.conftest import drain_writes
from tests.github.conftest import TOKEN
from tests.prefect_runs import run_again, start_until_paused

pytest.importorskip("prefect")
AFTER = 2.0  # the watchdog interval for these tests (suspending itself takes about 1 s)


@pytest.fixture
def kube() -> Iterator[KubeApiEmulator]:
    api = KubeApiEmulator(token="kube-token-for-tests")
    api.start()
    yield api
    api.stop()


def _head(github: RunningEmulator, repo: str) -> str:
    sha = github.emulator.git(github.emulator.state.repos[repo]).ref("refs/heads/main")
    assert sha
    return sha


def _statuses(github: RunningEmulator, repo: str, sha: str) -> dict[str, str]:
    answer = httpx.get(
        f"{github.url}/repos/{repo}/commits/{sha}/status", headers={"Authorization": f"token {TOKEN}"}
    )
    return {s["context"]: s["state"] for s in answer.json()["statuses"]}


def _dev_tags(sha: str) -> list[str]:
    return ["fluxgate.release:shop@1.0.0-watchdog", "fluxgate.env:dev", f"fluxgate.sha:{sha}"]


def _gateway(github: RunningEmulator, cache: Path) -> GitHubGateway:
    return GitHubGateway(GitHubSettings(api_url=github.url, token=TOKEN, min_write_interval=0), cache=cache)


def _wait_and_sweep(processing: Processing) -> list[str]:
    """Let the interval pass; a sweep has the watchdog look; the worker applies what it found."""
    time.sleep(AFTER + 0.1)
    lines = processing.resumer.sweep()
    processing.worker.run_once()
    drain_writes(processing)
    return lines + processing.resumer.sweep()


def test_a_lost_ready_event_is_read_from_the_cluster_and_the_stage_resumes(
    make_processing: Callable[..., Processing],
    kube: KubeApiEmulator,
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
) -> None:
    from tests.connector.prefect_stage import waits_for_flux

    sha = _head(github, manifests_repo)
    kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", ["dev-eu", "staging-eu"])
    processing = make_processing(kubeconfig=kubeconfig, watchdog_after=AFTER)
    revision = f"main@sha1:{sha}"
    kube.put("dev-eu", flux_object(
        "Kustomization", "flux-system", "shop", "True", "ReconciliationSucceeded",
        f"Applied revision: {revision}", revision, applied=revision,
    ))
    run = start_until_paused(waits_for_flux, _dev_tags(sha))
    assert processing.resumer.sweep() == []  # no event yet, and too early to look
    assert kube.reads == 0
    lines = _wait_and_sweep(processing)
    assert any("Kustomization flux-system/shop ReconciliationSucceeded" in line and "kubernetes" in line
               for line in lines), lines
    assert any("resumed" in line for line in lines), lines
    result = run_again(waits_for_flux, run).result()
    assert result["healthy"] is True and result["clusters"] == ["dev-eu"]
    # what GitHub shows is what the event would have shown
    assert _statuses(github, manifests_repo, sha)["fluxgate/dev/dev-eu"] == "success"


def test_a_failure_read_from_the_cluster_fails_the_wait_with_fluxs_message(
    make_processing: Callable[..., Processing],
    kube: KubeApiEmulator,
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
) -> None:
    from tests.connector.prefect_stage import waits_for_flux

    sha = _head(github, manifests_repo)
    processing = make_processing(
        kubeconfig=kube.kubeconfig(tmp_path / "kubeconfig", ["staging-eu"]), watchdog_after=AFTER
    )
    kube.put("staging-eu", flux_object(
        "Kustomization", "flux-system", "shop", "False", "HealthCheckFailed",
        "timeout waiting for: [Deployment/shop-staging/web status: 'InProgress']", f"main@sha1:{sha}",
    ))
    tags = ["fluxgate.release:shop@1.1.0-watchdog", "fluxgate.env:staging", f"fluxgate.sha:{sha}"]
    run = start_until_paused(waits_for_flux, tags)
    assert any("resumed" in line for line in _wait_and_sweep(processing))
    result = run_again(waits_for_flux, run).result()
    assert result["healthy"] is False
    assert result["message"].startswith("staging-eu: HealthCheckFailed: timeout waiting for")
    statuses = _statuses(github, manifests_repo, sha)
    assert statuses["fluxgate/staging/staging-eu"] == "failure"


def test_without_a_kubeconfig_the_watchdog_reads_fluxs_commit_status_on_the_branch_head(
    make_processing: Callable[..., Processing], github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    """Flux's own `github` provider posted its status (its own retries got it through); our event was lost."""
    from tests.connector.prefect_stage import waits_for_flux

    sha = _head(github, manifests_repo)
    processing = make_processing(watchdog_after=AFTER)
    flux_github = _gateway(github, tmp_path)
    flux_github.set_status(
        manifests_repo, sha, "success", "kustomization/shop/0c9c2e41", "Reconciliation finished"
    )
    run = start_until_paused(waits_for_flux, _dev_tags(sha))
    lines = _wait_and_sweep(processing)
    assert any("(from github)" in line for line in lines) and any("resumed" in line for line in lines), lines
    assert run_again(waits_for_flux, run).result()["healthy"] is True


def test_an_unreachable_cluster_api_falls_back_to_github_and_says_so(
    make_processing: Callable[..., Processing],
    kube: KubeApiEmulator,
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
) -> None:
    from tests.connector.prefect_stage import waits_for_flux

    sha = _head(github, manifests_repo)
    kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig", ["dev-eu"])
    kube.token = "rotated"  # the connector's token no longer works
    processing = make_processing(kubeconfig=kubeconfig, watchdog_after=AFTER)
    run = start_until_paused(waits_for_flux, _dev_tags(sha))
    time.sleep(AFTER + 0.1)
    lines = processing.resumer.sweep()
    assert (
        "watchdog: dev-eu: Kustomization flux-system/shop: the API server answered 401 Unauthorized; "
        "asking GitHub instead"
    ) in lines
    assert not any("kube-token" in line or "rotated" in line for line in lines)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run.id).state_type.value == "PAUSED"  # nothing known: keep waiting


def test_a_lost_merge_webhook_is_read_from_the_pull_request(
    make_processing: Callable[..., Processing], github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    from fluxgate.github import Promotion, promote
    from tests.connector.prefect_stage import waits_for_merge

    processing = make_processing(watchdog_after=AFTER)
    gw = _gateway(github, tmp_path)
    outcome = promote(gw, manifests_repo, "main", Promotion(app="shop", env="dev", version="3.0.0-watchdog"),
                      {"dev/a.yaml": b"version: 3\n"}, ["dev"], "summary")
    assert outcome.pull_request is not None
    number = outcome.pull_request.number
    pr = f"fluxgate.pr:{manifests_repo}#{number}"
    tags = ["fluxgate.release:shop@3.0.0-watchdog", "fluxgate.env:dev", pr]
    run = start_until_paused(waits_for_merge, tags)
    merge_sha = gw.merge(manifests_repo, number, "squash")  # no webhook reaches the connector
    lines = _wait_and_sweep(processing)
    assert f"watchdog: {manifests_repo}#{number} was merged (from github)" in lines
    result = run_again(waits_for_merge, run).result()
    assert result["merged"] is True and result["merge_sha"] == merge_sha
