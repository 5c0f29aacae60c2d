"""What fluxgate.yaml says per environment shapes the stage: an auto-approved PR merges once the
branch's required checks pass (the connector does it, on the check's webhook), a soak holds the
release without a process until its time is up, and `auto_promote: false` ends the stage with the
command that promotes by hand, which then works."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from fluxgate.stage import PauseKey, Wait
from tests.conftest import TOKEN
from tests.pipeline.conftest import Stage


def _configure(stage: Stage, **settings: str) -> None:
    """Change dev's settings (the first environment: the first occurrence of each key)."""
    text = stage.config.read_text()
    for key, value in settings.items():
        start = text.index(f"\n    {key}: ") + 1
        end = text.index("\n", start)
        text = text[:start] + f"    {key}: {value}" + text[end:]
    stage.config.write_text(text)


def test_an_auto_approved_pr_merges_when_the_required_check_passes(stage: Stage) -> None:
    _configure(stage, approval="auto")
    stage.github.emulator.protect_branch(stage.repo, "main", approvals=0, checks=["ci/validate"])
    run = stage.create(stage.request(version="3.0.0"))
    assert stage.execute(run) is None
    assert stage.pause_key(run) == "await-merge"  # GitHub refused the merge: the check has not run
    number = stage.tags(run).pr.number
    pr = stage.api(f"/pulls/{number}")
    assert pr["state"] == "open" and pr["mergeable_state"] == "blocked"

    # the manifests repo's CI reports its check on the PR head; GitHub sends the `status` webhook
    answer = httpx.post(
        f"{stage.github.url}/repos/{stage.repo}/statuses/{pr['head']['sha']}",
        json={"state": "success", "context": "ci/validate", "description": "manifests are valid"},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 201
    stage.wait_resumed(run)
    merged = stage.api(f"/pulls/{number}")
    assert merged["merged"] is True and merged["merged_by"]["login"] == "fluxgate-bot"
    assert stage.execute(run) is None and stage.pause_key(run) == "await-flux"
    assert stage.tags(run).sha == merged["merge_commit_sha"]


def test_a_soak_holds_the_release_without_a_process_then_promotes(stage: Stage) -> None:
    _configure(stage, soak="3s")
    run = stage.create(stage.request(version="3.1.0"))
    stage.rolled_out(run)
    assert stage.execute(run) is None  # verified, now soaking: suspended, no process held
    assert stage.pause_key(run) == "soak"
    deployment = stage.api("/deployments?environment=dev")[0]
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "success"
    stage.wait_resumed(run, timeout=30)  # the connector ends the soak at its due time
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final
    assert final.message == "promoting shop@3.1.0 to staging"


def test_a_failure_during_the_soak_fails_the_stage_its_deployment_and_rolls_back(stage: Stage) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    good = stage.create(stage.request(version="3.3.0"))
    stage.rolled_out(good)
    assert stage.execute(good).is_completed()

    _configure(stage, soak="10m")
    stage.config.write_text(stage.config.read_text().replace(
        "    approval: review\n", "    approval: review\n    rollback_on_failure: true\n", 1))
    run = stage.create(stage.request(version="3.4.0"))
    sha = stage.rolled_out(run, stamp="10:10")
    assert stage.execute(run) is None and stage.pause_key(run) == "soak"  # verified; soaking
    deployment = stage.api("/deployments?environment=dev")[0]
    assert deployment["payload"]["version"] == "3.4.0"
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "success"

    stage.flux_failed(sha, "Deployment/shop-dev/web: 0/1 ready: CrashLoopBackOff")  # ten minutes early
    stage.wait_resumed(run)
    failed = stage.execute(run)
    assert failed is not None and failed.is_failed(), failed
    assert failed.message == (
        "during the soak: dev-eu: HealthCheckFailed: Deployment/shop-dev/web: 0/1 ready: CrashLoopBackOff; "
        "rolling back dev to 3.3.0 (shop@3.3.0 -> dev (rollback from 3.4.0))"
    )
    # GitHub's Environments page no longer says the release that failed is fine
    latest = stage.api(f"/deployments/{deployment['id']}/statuses")[0]
    assert latest["state"] == "failure"
    assert latest["description"].startswith("during the soak: dev-eu: HealthCheckFailed")
    # the stage's report says how it ended; a retry soaks afresh rather than reading this answer back
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["shop-dev-stage"])),
        )
    assert "during the soak: dev-eu: HealthCheckFailed" in str(artifact.data)
    assert "fluxgate.attempt.soak:2" in stage.read(run).tags
    assert stage.tags(run).pause_key(Wait.SOAK) == PauseKey(wait=Wait.SOAK, attempt=2)


def test_a_manual_environment_ends_with_the_command_that_then_promotes(stage: Stage) -> None:
    from fluxgate.cli import app
    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    _configure(stage, auto_promote="false")
    run = stage.create(stage.request(version="3.2.0"))
    stage.rolled_out(run)
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final
    assert final.message == "promote by hand: fluxgate promote shop@3.2.0 --to staging"
    with connect() as api:
        assert stage_runs(api, "shop", "3.2.0", "staging") == []

    result = CliRunner().invoke(app, ["promote", "shop@3.2.0", "--to", "staging", "-c", str(stage.config)])
    assert result.exit_code == 0, result.output
    with connect() as api:
        staging = stage_runs(api, "shop", "3.2.0", "staging")
    assert [r.name for r in staging] == ["shop@3.2.0 -> staging"]
    commit = run.request.source.commit  # the commit dev rendered: staging renders it too
    code = f"code {run.request.source.repo}@{commit} (fluxgate.yaml)"
    assert result.output.startswith(f"shop@3.2.0 renders {code}")
    assert "\nshop@3.2.0 -> staging: http" in result.output
    assert staging[0].request.source.commit == commit
