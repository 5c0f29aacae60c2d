"""Post-deploy verification: checks run here, workflows dispatched to GitHub Actions, and the report.

HTTP and container checks run inside the task. Workflow checks are dispatched here and awaited by
the flow while suspended (the connector resumes it on their `workflow_run` webhooks), so no process
polls GitHub Actions. The report goes to GitHub as the Check Run `fluxgate/verify/<env>` on the
manifests commit (a commit status of that name with token credentials, which GitHub does not let
create Check Runs), and to Prefect as a table.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prefect import runtime, task
from prefect.artifacts import create_table_artifact

from fluxgate.errors import PermanentError
from fluxgate.github import GitHubForbidden
from fluxgate.stage import CheckResult, DispatchedRun, StageRequest, checks_markdown, run_checks, split_checks
from tasks.context import config_of, gateway
from tasks.policy import TRANSIENT

__all__ = ["dispatch_verification", "report_verification", "verify_environment"]


@task(name="verify", persist_result=True)
def verify_environment(request: StageRequest, attempt: int = 1) -> list[CheckResult]:
    """Run the environment's HTTP and container checks (each retried until its deadline).

    `attempt` is part of the cached result's key: a retried stage verifies again rather than
    reading back the failure it is being retried for.
    """
    local, _workflows = split_checks(config_of(request).environment(request.env).verification)
    return run_checks(local)


@task(name="dispatch-verification", persist_result=True)
def dispatch_verification(request: StageRequest, revision: str, attempt: int = 1) -> list[DispatchedRun]:
    """Start each workflow check with inputs `env`, `version` and `revision` (the manifests commit).

    Returns the runs the stage then waits for. A workflow GitHub does not know, or inputs it refuses,
    fail the task with GitHub's words; nothing is promoted.
    """
    config = config_of(request)
    _local, workflows = split_checks(config.environment(request.env).verification)
    gw = gateway()
    runs = []
    for check in workflows:
        spec = check.workflow
        repo = spec.repo or config.code_repo or ""
        ref = spec.ref or gw.default_branch(repo)
        inputs = {**spec.inputs, "env": request.env, "version": request.version, "revision": revision}
        since = datetime.now(UTC)
        run_id = gw.dispatch_workflow(repo, spec.file, ref, inputs)
        if run_id is None:  # a GitHub that does not answer with the run: find it (it appears shortly)
            head = gw.commit_of(repo, ref)
            for _ in range(30):
                found = gw.find_dispatched_run(repo, spec.file, head, since)
                if found is not None:
                    run_id = found.id
                    break
                time.sleep(1)
        if run_id is None:
            raise PermanentError(f"{check.label}: dispatched {spec.file} in {repo}, but GitHub shows no run")
        state = gw.workflow_run(repo, run_id)
        runs.append(DispatchedRun(repo=repo, run_id=run_id, name=check.label, url=state.html_url))
    return runs


@task(name="report-verification", **TRANSIENT)
def report_verification(request: StageRequest, repo: str, sha: str, results: list[CheckResult]) -> None:
    """Publish the results where people look: GitHub (on the manifests commit) and Prefect."""
    create_table_artifact(
        [r.model_dump(exclude={"log_tail"}) for r in results],
        key=f"{request.app}-{request.env}-verification",
        description=f"Post-deploy checks of {request.run_name}",
    )
    passed = all(r.passed for r in results)
    name = f"fluxgate/verify/{request.env}"
    title = f"{sum(r.passed for r in results)}/{len(results)} checks passed for {request.release.name}"
    gw = gateway()
    try:
        gw.check_run(
            repo, sha, name, conclusion="success" if passed else "failure", title=title,
            summary=checks_markdown(results), details_url=runtime.flow_run.ui_url,
        )
    except GitHubForbidden:  # token credentials: GitHub allows Check Runs to GitHub Apps only
        gw.set_status(repo, sha, "success" if passed else "failure", name, title, runtime.flow_run.ui_url)
