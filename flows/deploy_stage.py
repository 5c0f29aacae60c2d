"""`deploy-stage`: one release into one environment, as one top-level flow run.

    render -> open PR (+ queued Deployment) -> [await-merge] -> [await-flux] -> verify -> [soak] -> promote

The bracketed steps are suspensions: the run's process exits and the connector resumes it with the
fact it waits for (DESIGN.md "Flow of one release"). On resume the body runs again from the top;
finished tasks come back from their persisted results and every task with a side effect is
idempotent anyway, so "Retry" in the Prefect UI continues where the run stopped, with the same PR.
"""

# No `from __future__ import annotations` here: Prefect validates the run's parameters against the
# flow's signature when a runner or worker loads it, and needs `StageRequest` itself, not a string.
import time
from datetime import timedelta

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.states import Cancelled, Completed, Failed

from fluxgate.config import Environment
from fluxgate.stage import (
    FLOW_NAME,
    FluxResult,
    MergeResult,
    NextStep,
    SoakResult,
    StageRequest,
    VerifyResult,
    automerge_tag,
    due_tag,
    next_step,
    pause_key,
    pr_tag,
    sha_tag,
    split_checks,
    stage_markdown,
    workflows_tag,
)
from tasks.context import config_of, manifests_target
from tasks.github import create_deployment, merge_pull_request, open_pull_request, set_deployment_state
from tasks.render import render_manifests
from tasks.runs import current_tags, promotion_hold, roll_back, set_run_tags, start_stage
from tasks.verify import dispatch_verification, report_verification, verify_environment

__all__ = ["deploy_stage"]

# A suspension also carries Prefect's own timeout: the backstop for when the connector is down
# (the connector ends waits itself at the `fluxgate.due` time).
BACKSTOP = timedelta(hours=1)


class MergeInput(RunInput, MergeResult):
    pass


class FluxInput(RunInput, FluxResult):
    pass


class SoakInput(RunInput, SoakResult):
    pass


class VerifyInput(RunInput, VerifyResult):
    pass


def _attempt(wait: str) -> int:
    """Which attempt at `wait` this is: each failed answer leaves `fluxgate.attempt.<wait>:<next>`."""
    prefix = f"fluxgate.attempt.{wait}:"
    found = [int(t.removeprefix(prefix)) for t in current_tags() if t.startswith(prefix)]
    return max(found, default=1)


def _failed_at(wait: str, message: str) -> State:
    """End the run Failed; a retry of it suspends afresh at the same wait (under a new pause key)."""
    prefix = f"fluxgate.attempt.{wait}:"
    set_run_tags(f"{prefix}{_attempt(wait) + 1}", replacing=(prefix,))
    return Failed(message=message)


def _rolled_back(request: StageRequest, env: Environment, failure: str) -> str:
    """The failure, and the rollback it started when the environment asks for one."""
    if not env.rollback_on_failure or request.rollback_from:
        return failure
    return f"{failure}; {roll_back(request)}"


def _promote(request: StageRequest, step: NextStep) -> str:
    """Start the next stage, unless this was a rollback or a rollback holds the next environment."""
    if request.rollback_from:
        return (
            f"{request.env} is back on {request.release.name}; automatic promotion into it is held "
            f"until `fluxgate release-hold --env {request.env}`"
        )
    if step.kind != "promote" or not step.env:
        return step.message
    hold = promotion_hold(request.app, step.env)
    if hold is not None:
        return (
            f"not promoting {request.release.name} to {step.env}: held since {hold.since} ({hold.reason}); "
            f"`fluxgate release-hold --env {step.env}` lifts it"
        )
    start_stage(request.to(step.env))
    return step.message


def _publish(request: StageRequest, markdown: str) -> None:
    create_markdown_artifact(
        markdown, key=f"{request.app}-{request.env}-stage", description=f"Stage {request.run_name}"
    )


def _run_name() -> str:
    request = runtime.flow_run.parameters["request"]
    return (request if isinstance(request, StageRequest) else StageRequest.model_validate(request)).run_name


@flow(
    name=FLOW_NAME,
    flow_run_name=_run_name,
    persist_result=True,
    log_prints=True,
)
def deploy_stage(request: StageRequest) -> State:
    log = get_run_logger()
    config = config_of(request)
    env = config.environment(request.env)
    repo, _branch = manifests_target(config)
    production = config.environments[-1].name == env.name

    # 1. render and validate, 2. propose
    prepared, base = render_manifests(request)
    pr_url: str | None = None
    merge: MergeResult | None = None
    deployment: int | None = None
    if prepared.empty and not request.force:
        log.info("%s already matches %s: no pull request", request.env, request.release.name)
        set_run_tags(sha_tag(base.commit))
        merged_sha = base.commit
    else:
        outcome = open_pull_request(request, prepared, base)
        pr = outcome.pull_request
        if pr is None:  # forced, but nothing to change
            merged_sha = base.commit
            set_run_tags(sha_tag(merged_sha))
        else:
            pr_url = pr.url
            set_run_tags(pr_tag(repo, pr.number))
            deployment = create_deployment(request, repo, pr.head_sha, pr.url, production)
            if outcome.status == "merged_before" and pr.merge_sha:
                merge = MergeResult(
                    merged=True, merge_sha=pr.merge_sha, merged_by=pr.merged_by, pr_url=pr.url
                )
            elif env.approval.mode == "auto":
                merge = merge_pull_request(request, repo, pr.number, pr.head_sha)
                if merge is None:  # required checks pending: the connector merges once they pass
                    set_run_tags(automerge_tag(env.approval.merge_method, pr.head_sha))

            # 3. await the merge: the reviewer decides in GitHub, the connector brings the answer
            if merge is None:
                log.info("waiting for %s to be merged", pr.url)
                merge = suspend_flow_run(wait_for_input=MergeInput, key="await-merge")
            if not merge.merged:
                rejected = f"rejected by {merge.merged_by or 'a reviewer'}"
                set_deployment_state(repo, deployment, "failure", rejected)
                _publish(request, stage_markdown(request.run_name, prepared.markdown, pr.url, merge))
                return Cancelled(message=f"{pr.url} {rejected}")
            merged_sha = merge.merge_sha or ""
            set_run_tags(sha_tag(merged_sha))
            applying = f"merged as {merged_sha[:12]}; Flux is applying it"
            set_deployment_state(repo, deployment, "in_progress", applying)

    # 4. await Flux: every cluster ready at the merge commit or a later one
    flux_key = pause_key("await-flux", _attempt("await-flux"))
    set_run_tags(due_tag(time.time() + env.flux_timeout.total_seconds()), replacing=("fluxgate.due:",))
    log.info("waiting for Flux to apply %s in %s", merged_sha[:12], request.env)
    flux = suspend_flow_run(
        wait_for_input=FluxInput, key=flux_key, timeout=int((env.flux_timeout + BACKSTOP).total_seconds())
    )
    if not flux.healthy:
        if deployment is not None:
            set_deployment_state(repo, deployment, "failure", flux.message)
        _publish(request, stage_markdown(request.run_name, prepared.markdown, pr_url, merge, flux))
        return _failed_at("await-flux", _rolled_back(request, env, flux.message))

    # 5. verify: checks run here, then verification workflows in GitHub Actions (suspended meanwhile)
    attempt = _attempt("verify")
    checks = verify_environment(request, attempt)
    dispatched = dispatch_verification(request, merged_sha, attempt)
    if dispatched:
        _local, workflows = split_checks(env.verification)
        wait = max(c.workflow.timeout for c in workflows)
        set_run_tags(
            workflows_tag([(d.repo, d.run_id) for d in dispatched]),
            due_tag(time.time() + wait.total_seconds()),
            replacing=("fluxgate.workflows:", "fluxgate.due:"),
        )
        log.info("waiting for %s", ", ".join(d.url for d in dispatched))
        verified = suspend_flow_run(
            wait_for_input=VerifyInput,
            key=pause_key("await-verify", attempt),
            timeout=int((wait + BACKSTOP).total_seconds()),
        )
        checks = [*checks, *verified.checks]
    if checks:
        report_verification(request, repo, merged_sha, checks)
    failed = [c for c in checks if not c.passed]
    if failed:
        message = f"verification failed: {failed[0].name}: {failed[0].detail}"
        if deployment is not None:
            set_deployment_state(repo, deployment, "failure", message)
        report = stage_markdown(request.run_name, prepared.markdown, pr_url, merge, flux, checks)
        _publish(request, report)
        return _failed_at("verify", _rolled_back(request, env, message))
    if deployment is not None:
        set_deployment_state(repo, deployment, "success", f"{request.release.name} is live and verified")

    # 6. soak, then promote
    if env.soak.total_seconds() > 0:
        set_run_tags(due_tag(time.time() + env.soak.total_seconds()), replacing=("fluxgate.due:",))
        soak = suspend_flow_run(
            wait_for_input=SoakInput,
            key=pause_key("soak", _attempt("soak")),
            timeout=int((env.soak + BACKSTOP).total_seconds()),
        )
        if not soak.healthy:
            return _failed_at("soak", f"during the soak: {soak.message}")
    message = _promote(request, next_step(config, request.env, request.version))
    report = stage_markdown(request.run_name, prepared.markdown, pr_url, merge, flux, checks, message)
    _publish(request, report)
    return Completed(message=message)
