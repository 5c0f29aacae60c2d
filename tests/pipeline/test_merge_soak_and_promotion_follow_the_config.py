"""What fluxgate.yaml says per environment shapes the stage: an auto-approved PR merges once the
branch's required checks pass (the connector does it, on the check's webhook), a soak holds the
release without a process until its time is up, and `auto_promote: false` ends the stage with the
command that promotes by hand, which then works."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

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
    number = stage.tags(run)["pr"].rpartition("#")[2]
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
    assert stage.tags(run)["sha"] == merged["merge_commit_sha"]


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


def test_a_manual_environment_ends_with_the_command_that_then_promotes(stage: Stage) -> None:
    from prefect.client.orchestration import get_client

    from fluxgate.cli import app
    from fluxgate.runs import stage_runs

    _configure(stage, auto_promote="false")
    run = stage.create(stage.request(version="3.2.0"))
    stage.rolled_out(run)
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final
    assert final.message == "promote by hand: fluxgate promote shop@3.2.0 --to staging"
    with get_client(sync_client=True) as client:
        assert stage_runs(client, "shop", "3.2.0", "staging") == []

    result = CliRunner().invoke(app, ["promote", "shop@3.2.0", "--to", "staging", "-c", str(stage.config)])
    assert result.exit_code == 0, result.output
    with get_client(sync_client=True) as client:
        staging = stage_runs(client, "shop", "3.2.0", "staging")
    assert [r.name for r in staging] == ["shop@3.2.0 -> staging"]
    assert result.output.startswith("shop@3.2.0 -> staging: http")
