"""`deploy-stage`: one release into one environment, as one top-level flow run.

    propose (render, PR, queued Deployment) -> [await-merge] -> [await-flux] -> verify [await-verify]
        -> [soak] -> promote

The bracketed steps are suspensions: the run's process exits and the connector resumes it with the
fact it waits for (docs/architecture.md, "The contract"). On resume the body runs again from the
top; finished tasks come back from their persisted results and every task with a side effect is
idempotent anyway, so "Retry" in the Prefect UI continues where the run stopped, with the same PR.

Each step returns a `Stop` when the stage must end short of promotion, and every such end goes
through `_stopped`: the Deployment says failure, the report is published, a rollback starts when the
environment asks for one, and a retry of the run waits afresh where the answer was no.
"""

# No `from __future__ import annotations` here: Prefect validates the run's parameters against the
# flow's signature when a runner or worker loads it, and needs `StageRequest` itself, not a string.
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput, keyset_from_paused_state
from prefect.states import Cancelled, Completed, Failed, Suspended

from fluxgate.config import Environment, PipelineConfig
from fluxgate.errors import FluxgateError, one_line
from fluxgate.github import DeploymentState
from fluxgate.stage import (
    FLOW_NAME,
    AutoMerge,
    FluxResult,
    MergeResult,
    PullRef,
    SoakResult,
    StageProgress,
    StageRequest,
    StageTags,
    Stop,
    VerifyResult,
    Wait,
    WorkflowRef,
    next_step,
    split_checks,
)
from tasks.context import config_of, manifests_target
from tasks.github import create_deployment, merge_pull_request, open_pull_request, set_deployment_state
from tasks.render import pin_sources, render_manifests
from tasks.runs import promotion_hold, read_stage_run, roll_back, start_stage, write_stage_tags
from tasks.verify import dispatch_verification, report_verification, verify_environment

__all__ = ["deploy_stage"]

# A suspension also carries Prefect's own timeout: the backstop for when the connector is down
# (the connector ends waits itself at the `fluxgate.due` time).
BACKSTOP = timedelta(hours=1)


class MergeInput(RunInput, MergeResult):
    pass


class FluxInput(RunInput, FluxResult):
    pass


class VerifyInput(RunInput, VerifyResult):
    pass


class SoakInput(RunInput, SoakResult):
    pass


Answer = TypeVar("Answer", bound=RunInput)


@dataclass
class _Stage:
    """What the running stage works with: its request and config, its tags, and its progress.

    `stored` is what the run's tags said when last read or written, and `suspended_at` the waits the
    run suspended at in earlier attempts. A resumed run goes through every step before its wait
    again, all of it on the resume's path: it writes only tags that changed (a write is two calls to
    the server) and reads the answers of its earlier waits directly (`suspend`).
    """

    request: StageRequest
    config: PipelineConfig
    env: Environment
    repo: str
    tags: StageTags
    progress: StageProgress
    stored: StageTags | None = None
    suspended_at: frozenset[str] = frozenset()

    def tag(self, tags: StageTags) -> None:
        self.tags = tags
        if tags != self.stored:
            write_stage_tags(tags)
            self.stored = tags

    def suspend(self, wait: Wait, answer: type[Answer], due: timedelta | None = None) -> Answer:
        """Suspend at the current attempt of `wait` (no process held) until the connector answers
        with `answer` (a RunInput of `wait.input`); with `due`, the connector answers by itself once
        that much time has passed, and Prefect fails the run a `BACKSTOP` later if nobody did.

        At a wait the run already suspended at, Prefect would refuse to suspend again and hand back
        the answer the run was resumed with: the answer is read directly instead (a resumed run
        passes every wait before its own, and each refusal is a state change on the server)."""
        key = str(self.tags.pause_key(wait))
        if key in self.suspended_at:
            given = answer.load(keyset_from_paused_state(Suspended(pause_key=key)))
            assert isinstance(given, answer)  # loaded synchronously: this flow is sync
            return given
        if due is not None:
            self.tag(self.tags.with_(due=int(time.time() + due.total_seconds())))
        return suspend_flow_run(
            wait_for_input=answer,
            key=key,
            timeout=int((due + BACKSTOP).total_seconds()) if due is not None else None,
        )

    def deployment_state(self, state: DeploymentState, description: str) -> None:
        if self.progress.deployment is not None:
            set_deployment_state(self.repo, self.progress.deployment, state, description)

    def publish(self) -> None:
        create_markdown_artifact(
            self.progress.markdown(),
            key=f"{self.request.app}-{self.request.env}-stage",
            description=f"Stage {self.request.run_name}",
        )


def _run_name() -> str:
    request = runtime.flow_run.parameters["request"]
    return (request if isinstance(request, StageRequest) else StageRequest.model_validate(request)).run_name


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=True, log_prints=True)
def deploy_stage(request: StageRequest) -> State:
    try:  # sources first: a bad commit or an unreadable repo ends the stage before anything is opened
        request = pin_sources(request)
        config = config_of(request)
    except FluxgateError as error:
        get_run_logger().error("%s: %s", request.run_name, one_line(error))
        return Failed(message=one_line(error))
    repo, _branch = manifests_target(config)
    run = read_stage_run()
    stage = _Stage(
        request=request,
        config=config,
        env=config.environment(request.env),
        repo=repo,
        # a run created by hand in the UI has no tags yet: it starts from its request
        tags=run.stage or StageTags(app=request.app, version=request.version, env=request.env),
        progress=StageProgress(run_name=request.run_name, sources=request.sources()),
        stored=run.stage,
        suspended_at=run.suspended_at,
    )
    try:
        stop = _propose(stage) or _await_merge(stage) or _await_flux(stage) or _verify(stage) or _soak(stage)
    except FluxgateError as error:  # a task gave up (GitHub refused, a check could not start): same path
        stop = Stop(message=one_line(error), rollback=False)
    return _stopped(stage, stop) if stop is not None else _promote(stage)


def _propose(stage: _Stage) -> Stop | None:
    """Render and validate the release, open its PR with a queued Deployment (or merge it at once
    when the environment approves by itself); nothing to change means nothing to wait for."""
    request = stage.request
    prepared, base = render_manifests(request)
    stage.progress.changes = prepared.markdown
    unchanged = prepared.empty and not request.force
    outcome = None if unchanged else open_pull_request(request, prepared, base)
    pr = outcome.pull_request if outcome is not None else None
    if outcome is None or pr is None:  # the environment already matches (so may a forced stage find)
        get_run_logger().info("%s already matches %s: no pull request", request.env, request.release.name)
        stage.progress.merged_sha = base.commit
        stage.tag(stage.tags.with_(sha=base.commit))
        return None
    stage.progress.pr_url = pr.url
    stage.tag(stage.tags.with_(pr=PullRef(repo=stage.repo, number=pr.number)))
    production = stage.config.environments[-1].name == stage.env.name
    stage.progress.deployment = create_deployment(stage.request, stage.repo, pr.head_sha, pr.url, production)
    if outcome.status == "merged_before" and pr.merge_sha:
        stage.progress.merge = MergeResult(
            merged=True, merge_sha=pr.merge_sha, merged_by=pr.merged_by, pr_url=pr.url
        )
    elif stage.env.approval.mode == "auto":
        stage.progress.merge = merge_pull_request(stage.request, stage.repo, pr.number, pr.head_sha)
        if stage.progress.merge is None:  # required checks pending: the connector merges once they pass
            automerge = AutoMerge(method=stage.env.approval.merge_method, head_sha=pr.head_sha)
            stage.tag(stage.tags.with_(automerge=automerge))
    return None


def _await_merge(stage: _Stage) -> Stop | None:
    """The reviewer decides in GitHub; the connector brings the answer."""
    progress = stage.progress
    if progress.pr_url is not None and progress.merge is None:
        get_run_logger().info("waiting for %s to be merged", progress.pr_url)
        progress.merge = stage.suspend(Wait.MERGE, MergeInput)
    if progress.merge is None:
        return None  # no PR: the environment already matched
    if not progress.merge.merged:
        rejected = f"rejected by {progress.merge.merged_by or 'a reviewer'}"
        return Stop(message=rejected, rollback=False, end="cancelled")
    progress.merged_sha = progress.merge.merge_sha or ""
    stage.tag(stage.tags.with_(sha=progress.merged_sha))
    stage.deployment_state("in_progress", f"merged as {progress.merged_sha[:12]}; Flux is applying it")
    return None


def _await_flux(stage: _Stage) -> Stop | None:
    """Every cluster of the environment ready at the merge commit or a later one."""
    sha = stage.progress.merged_sha or ""
    get_run_logger().info("waiting for Flux to apply %s in %s", sha[:12], stage.request.env)
    flux = stage.progress.flux = stage.suspend(Wait.FLUX, FluxInput, due=stage.env.flux_timeout)
    return None if flux.healthy else Stop(message=flux.message, at=Wait.FLUX)


def _verify(stage: _Stage) -> Stop | None:
    """Checks run here; verification workflows run in GitHub Actions while the stage is suspended."""
    request, progress = stage.request, stage.progress
    attempt = stage.tags.pause_key(Wait.VERIFY).attempt
    checks = verify_environment(request, attempt)
    dispatched = dispatch_verification(request, progress.merged_sha or "", attempt)
    if dispatched:
        _local, workflows = split_checks(stage.env.verification)
        wait = max(c.workflow.timeout for c in workflows)
        runs = tuple(WorkflowRef(repo=d.repo, run_id=d.run_id) for d in dispatched)
        stage.tag(stage.tags.with_(workflows=runs))
        get_run_logger().info("waiting for %s", ", ".join(d.url for d in dispatched))
        verified = stage.suspend(Wait.VERIFY, VerifyInput, due=wait)
        checks = [*checks, *verified.checks]
    progress.checks = checks
    if checks:
        report_verification(request, stage.repo, progress.merged_sha or "", checks)
    failed = [c for c in checks if not c.passed]
    if failed:
        return Stop(message=f"verification failed: {failed[0].name}: {failed[0].detail}", at=Wait.VERIFY)
    stage.deployment_state("success", f"{request.release.name} is live and verified")
    return None


def _soak(stage: _Stage) -> Stop | None:
    """Hold the release for the soak time; a Flux failure meanwhile stops it."""
    if stage.env.soak.total_seconds() <= 0:
        return None
    soak = stage.suspend(Wait.SOAK, SoakInput, due=stage.env.soak)
    return None if soak.healthy else Stop(message=f"during the soak: {soak.message}", at=Wait.SOAK)


def _stopped(stage: _Stage, stop: Stop) -> State:
    """The one way a stage ends short of promotion, whatever stopped it."""
    request, env = stage.request, stage.env
    message = stop.message
    stage.deployment_state("failure", stop.message)
    if stop.rollback and env.rollback_on_failure and not request.rollback_from:
        message = f"{message}; {roll_back(request)}"
    if stop.end == "cancelled":
        message = f"{stage.progress.pr_url} {message}"
    stage.progress.outcome = message
    stage.publish()
    if stop.at is not None:
        stage.tag(stage.tags.retried(stop.at))
    return Cancelled(message=message) if stop.end == "cancelled" else Failed(message=message)


def _promote(stage: _Stage) -> State:
    """Start the next stage, unless this was a rollback or a rollback holds the next environment."""
    request = stage.request
    step = next_step(stage.config, request.env, request.version)
    if request.rollback_from:
        message = (
            f"{request.env} is back on {request.release.name}; automatic promotion into it is held "
            f"until `fluxgate release-hold --env {request.env}`"
        )
    elif step.kind != "promote" or not step.env:
        message = step.message
    elif (hold := promotion_hold(request.app, step.env)) is not None:
        message = (
            f"not promoting {request.release.name} to {step.env}: held since {hold.since} ({hold.reason}); "
            f"`fluxgate release-hold --env {step.env}` lifts it"
        )
    else:
        start_stage(request.to(step.env))
        message = step.message
    stage.progress.outcome = message
    stage.publish()
    return Completed(message=message)
