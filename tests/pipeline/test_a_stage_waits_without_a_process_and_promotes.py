"""A release's stage in dev: render, PR, suspend for the merge (no process held), resume on GitHub's
merge webhook, suspend for Flux, resume on Flux's events, verify over HTTP, promote to staging."""

from __future__ import annotations

from tests.pipeline.conftest import Stage


def test_a_reviewed_merge_and_a_healthy_rollout_promote_the_release(stage: Stage) -> None:
    from fluxgate.github import GitHubGateway, GitHubSettings
    from tests.github.conftest import TOKEN

    run = stage.create(stage.request(version="1.1.0"))
    assert stage.execute(run) is None  # suspended: the process that ran it is free
    assert stage.pause_key(run) == "await-merge"
    assert stage.read(run).name == "shop@1.1.0 -> dev"
    pr_ref = stage.tags(run).pr
    assert pr_ref is not None and pr_ref.repo == stage.repo
    number = pr_ref.number
    pr = stage.api(f"/pulls/{number}")
    assert pr["title"] == "Deploy shop 1.1.0 to dev" and "ghcr.io/acme/shop-web:1.1.0" in pr["body"]
    deployments = stage.api("/deployments?environment=dev")
    assert len(deployments) == 1
    assert stage.api(f"/deployments/{deployments[0]['id']}/statuses")[0]["state"] == "queued"

    # the reviewer merges in GitHub; the webhook reaches the connector, which resumes the run
    gw = GitHubGateway(GitHubSettings(api_url=stage.github.url, token=TOKEN, min_write_interval=0))
    merge_sha = gw.merge(stage.repo, int(number), "merge")
    stage.wait_resumed(run)
    assert stage.execute(run) is None
    assert stage.pause_key(run) == "await-flux"
    assert stage.tags(run).sha == merge_sha

    # Flux applies it; the connector resumes the run; checks pass; staging is started
    stage.flux_ready(merge_sha)
    stage.wait_resumed(run)
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final
    assert final.message == "promoting shop@1.1.0 to staging"
    statuses = stage.api(f"/deployments/{deployments[0]['id']}/statuses")
    assert statuses[0]["state"] == "success"
    assert statuses[0]["description"] == "shop@1.1.0 is live and verified"
    combined = {s["context"]: s["state"] for s in stage.api(f"/commits/{merge_sha}/status")["statuses"]}
    # Flux's progress per cluster, and the verification report (a status: token credentials)
    assert combined == {"fluxgate/dev/dev-eu": "success", "fluxgate/verify/dev": "success"}

    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    with connect() as api:
        staging = stage_runs(api, "shop", "1.1.0", "staging")
    assert [r.name for r in staging] == ["shop@1.1.0 -> staging"]
    assert staging[0].request.env == "staging"
