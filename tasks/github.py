"""Thin tasks over the GitHub gateway: open the promotion PR, merge it, keep its Deployment current."""

from __future__ import annotations

from prefect import runtime, task

from fluxgate.github import GitHubNotMergeable, GitHubRejected, Promotion, PromotionOutcome, promote
from fluxgate.github.checkout import Snapshot
from fluxgate.github.models import DeploymentState
from fluxgate.stage import MergeResult, PreparedStage, StageRequest
from tasks.context import config_of, gateway, manifests_target
from tasks.policy import TRANSIENT

__all__ = [
    "create_deployment",
    "merge_pull_request",
    "open_pull_request",
    "promotion_of",
    "set_deployment_state",
]


def _rollback_note(request: StageRequest) -> str:
    if not request.rollback_from:
        return ""
    return (
        f"**Rollback.** This takes {request.app} {request.rollback_from} back out of {request.env} and "
        f"restores {request.version}, its last verified release. Automatic promotion into "
        f"{request.env} is held until `fluxgate release-hold --env {request.env}`.\n\n"
    )


def _sources_note(request: StageRequest) -> str:
    lines = "".join(f"- `{line}`\n" for line in request.sources())
    return f"\n\n**Rendered from**\n\n{lines}"


def promotion_of(request: StageRequest) -> Promotion:
    """The PR's identity: the release, where it goes, and the commits it was rendered from."""
    return Promotion(
        app=request.app,
        env=request.env,
        version=request.version,
        rollback_from=request.rollback_from,
        code=f"{request.source.repo}@{request.source.commit}",
        configs=request.configs,
        digest=request.source.digest,
    )


@task(name="open-pr", persist_result=True, **TRANSIENT)
def open_pull_request(request: StageRequest, prepared: PreparedStage, base: Snapshot) -> PromotionOutcome:
    """Open (or reuse, or update) the PR that makes the environment's folders hold the render.

    Idempotent: a re-run finds the PR of the same head branch instead of opening a second one.
    """
    config = config_of(request)
    env = config.environment(request.env)
    repo, _branch = manifests_target(config)
    return promote(
        gateway(),
        repo,
        base.branch,
        promotion_of(request),
        {path: text.encode() for path, text in prepared.files.items()},
        prepared.folders,
        _rollback_note(request) + prepared.markdown + _sources_note(request),
        labels=["fluxgate", f"env:{request.env}"],
        reviewers=env.approval.reviewers if env.approval.mode == "review" else None,
        team_reviewers=env.approval.team_reviewers if env.approval.mode == "review" else None,
        base=base,
    )


@task(name="create-deployment", persist_result=True, **TRANSIENT)
def create_deployment(request: StageRequest, repo: str, sha: str, pr_url: str, production: bool) -> int:
    """The environment's GitHub Deployment for this stage, queued until the PR merges (one per stage)."""
    gw = gateway()
    existing = gw.find_deployment(repo, sha, request.env)
    if existing is not None:
        return existing
    deployment = gw.create_deployment(
        repo,
        sha,
        request.env,
        f"{request.label}",
        payload={
            "app": request.app,
            "env": request.env,
            "version": request.version,
            "pr": pr_url,
            "code": request.source.model_dump(exclude={"digest"}),
            "configs": request.configs,
            "templates": request.source.digest,
        },
        production=production,
    )
    gw.set_deployment_status(
        repo, deployment, "queued", f"waiting for {pr_url} to merge", log_url=runtime.flow_run.ui_url
    )
    return deployment


@task(name="deployment-status", **TRANSIENT)
def set_deployment_state(repo: str, deployment: int, state: DeploymentState, description: str) -> None:
    """Move the stage's Deployment; the description says why, in GitHub's 140 characters."""
    gateway().set_deployment_status(repo, deployment, state, description, log_url=runtime.flow_run.ui_url)


@task(name="merge-pr", **TRANSIENT)
def merge_pull_request(request: StageRequest, repo: str, number: int, head_sha: str) -> MergeResult | None:
    """Merge an auto-approved environment's PR; None when GitHub says it cannot merge yet
    (required checks pending): the stage then waits for the merge like any other."""
    env = config_of(request).environment(request.env)
    gw = gateway()
    try:
        sha = gw.merge(repo, number, env.approval.merge_method, expected_head=head_sha)
    except (GitHubNotMergeable, GitHubRejected):
        return None
    pr = gw.pull_request(repo, number, with_reviews=False)
    return MergeResult(merged=True, merge_sha=sha, merged_by=pr.merged_by, pr_url=pr.url)
