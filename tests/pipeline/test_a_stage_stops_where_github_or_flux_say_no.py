"""A stage ends where it must: a PR closed unmerged cancels it, a Flux failure fails it with Flux's
words (and the Deployment says failure), a retry continues with the same PR, and Flux being ready
before the stage even waits is not lost."""

from __future__ import annotations

from tests.pipeline.conftest import Stage


def test_a_pr_closed_without_merging_cancels_the_stage_and_promotes_nothing(stage: Stage) -> None:
    run = stage.create(stage.request(version="1.2.0"))
    assert stage.execute(run) is None
    number = stage.tags(run).pr.number
    reviewer = stage.gateway()
    reviewer.close_pull_request(stage.repo, number)
    stage.wait_resumed(run)
    final = stage.execute(run)
    assert final is not None and final.is_cancelled()
    assert final.message.endswith(f"/pull/{number} rejected by fluxgate-bot")
    deployment = stage.api("/deployments?environment=dev")[0]
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "failure"
    assert "fluxgate.env:staging" not in str(stage.read(run).tags)


def test_a_flux_failure_fails_the_stage_and_a_retry_continues_with_the_same_pr(stage: Stage) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import AwaitingRetry

    run = stage.create(stage.request(version="1.3.0"))
    sha = stage.merged(run)
    stage.flux_failed(sha, "timeout waiting for: [Deployment/shop-dev/web status: 'InProgress']")
    stage.wait_resumed(run)
    final = stage.execute(run)
    assert final is not None and final.is_failed()
    assert final.message == (
        "dev-eu: HealthCheckFailed: timeout waiting for: [Deployment/shop-dev/web status: 'InProgress']"
    )
    deployment = stage.api("/deployments?environment=dev")[0]
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "failure"

    # someone fixes the cluster; Flux's next reconciliation is healthy; the stage is retried ("Retry")
    stage.flux_ready(sha, stamp="12:00")
    stage.connector.settle()
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, AwaitingRetry(), force=True)
    assert stage.execute(run) is None  # waits again, under a new key: the old answer is not reused
    assert "await-flux-2" in stage.read(run).empirical_policy.pause_keys
    stage.wait_resumed(run)
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final
    assert len(stage.api("/pulls?state=all")) == 1  # no second PR


def test_flux_ready_before_the_stage_waits_is_delivered_when_it_does(stage: Stage) -> None:
    run = stage.create(stage.request(version="1.4.0"))
    assert stage.execute(run) is None
    number = stage.tags(run).pr.number
    sha = str(stage.gateway().merge(stage.repo, number, "merge"))
    stage.flux_ready(sha)  # Flux is faster than the resumed stage
    stage.connector.settle()
    stage.wait_resumed(run)
    assert stage.execute(run) is None  # it suspends for Flux...
    assert "await-flux" in stage.read(run).empirical_policy.pause_keys
    stage.wait_resumed(run)  # ...and the connector answers at once from what it kept
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final


def test_flux_silent_past_the_timeout_fails_the_stage(stage: Stage) -> None:
    text = stage.config.read_text()
    short = text.replace("    approval: review\n", "    approval: review\n    flux_timeout: 5s\n", 1)
    stage.config.write_text(short)
    run = stage.create(stage.request(version="1.6.0"))
    sha = stage.merged(run)
    stage.wait_resumed(run)  # nobody reports: the connector ends the wait at its due time
    final = stage.execute(run)
    assert final is not None and final.is_failed()
    assert final.message == f"Flux did not report dev ready at {sha[:12]} in time"
    deployment = stage.api("/deployments?environment=dev")[0]
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "failure"
