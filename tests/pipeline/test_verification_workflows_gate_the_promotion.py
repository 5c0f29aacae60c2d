"""A verification workflow in GitHub Actions gates the stage: fluxgate dispatches it with the env,
version and manifests revision, suspends (no process polls Actions), and the connector resumes
the stage on the run's `workflow_run` webhook. A failed run fails the stage and reports on the
manifests commit as `fluxgate/verify/<env>`; a retry dispatches the workflow again."""

from __future__ import annotations

import re
from itertools import count
from typing import Any

from tests.connector.conftest import WEBHOOK_SECRET
from tests.pipeline.conftest import Stage

_codes = count(1)


def _with_workflow_check(stage: Stage) -> str:
    """Dev verifies with `e2e.yml` in a fresh code repo whose webhooks reach the connector."""
    code_repo = f"acme/shop-code-{next(_codes)}"
    emulator = stage.github.emulator
    emulator.create_repo(code_repo)
    emulator.add_workflow(code_repo, "e2e.yml", inputs=("env", "version", "revision"), name="e2e")
    emulator.add_hook(code_repo, f"{stage.connector.url}/github/webhook", WEBHOOK_SECRET, ["workflow_run"])
    text = re.sub(r"code_repo: \S+", f"code_repo: {code_repo}", stage.config.read_text())
    check = "        deadline: 10s\n"
    text = text.replace(check, check + "      - name: e2e\n        workflow:\n          file: e2e.yml\n", 1)
    stage.config.write_text(text)
    return code_repo


def _verify_status(stage: Stage, sha: str) -> dict[str, Any]:
    statuses = stage.api(f"/commits/{sha}/status")["statuses"]
    return next(s for s in statuses if s["context"] == "fluxgate/verify/dev")


def test_a_failed_verification_workflow_stops_the_stage_and_a_retry_runs_it_again(stage: Stage) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import AwaitingRetry

    code_repo = _with_workflow_check(stage)
    run = stage.create(stage.request(version="5.0.0"))
    sha = stage.rolled_out(run)
    assert stage.execute(run) is None  # HTTP check passed; the workflow runs while the stage waits
    assert stage.pause_key(run) == "await-verify"
    [first] = stage.github.emulator.workflow_runs(code_repo)
    assert first.inputs == {"env": "dev", "version": "5.0.0", "revision": sha}

    stage.github.emulator.complete_workflow_run(code_repo, first.id, "failure")
    stage.wait_resumed(run)
    final = stage.execute(run)
    assert final is not None and final.is_failed()
    assert final.message.startswith("verification failed: e2e: failure: http")
    deployment = stage.api("/deployments?environment=dev")[0]
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "failure"
    status = _verify_status(stage, sha)
    assert (status["state"], status["description"]) == ("failure", "1/2 checks passed for shop@5.0.0")

    # the test is fixed; "Retry" dispatches the workflow again and waits for the new run
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, AwaitingRetry(), force=True)
    assert stage.execute(run) is None and stage.pause_key(run) == "await-verify-2"
    second = stage.github.emulator.workflow_runs(code_repo)[-1]
    assert second.id != first.id
    stage.github.emulator.complete_workflow_run(code_repo, second.id, "success")
    stage.wait_resumed(run)
    final = stage.execute(run)
    assert final is not None and final.is_completed(), final
    assert final.message == "promoting shop@5.0.0 to staging"
    assert _verify_status(stage, sha)["state"] == "success"
    assert stage.api(f"/deployments/{deployment['id']}/statuses")[0]["state"] == "success"
