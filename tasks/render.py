"""The stage's sources pinned, and the release rendered and validated for one environment with its
change summary."""

from __future__ import annotations

from prefect import task

from fluxgate.github import Snapshot
from fluxgate.stage import PreparedStage, StageRequest, pinned, prepare_stage
from tasks.context import gateway, manifests_target, sources_of
from tasks.policy import TRANSIENT

__all__ = ["pin_sources", "render_manifests"]


@task(name="pin-sources", persist_result=True, **TRANSIENT)
def pin_sources(request: StageRequest) -> StageRequest:
    """`request` with its environment's config repository pinned to a commit, if its creator left it
    open (a run made by hand). Persisted, so a retry of the run renders the commit pinned first."""
    return pinned(gateway(), request)


@task(name="render", persist_result=True, **TRANSIENT)
def render_manifests(request: StageRequest) -> tuple[PreparedStage, Snapshot]:
    """Render and validate `request`'s release, from its pinned sources, for its environment against
    the manifests branch head.

    Returns:
        What the PR will propose (files, summary) and the branch head it was compared with.
    """
    sources = sources_of(request)
    config = sources.config
    env = config.environment(request.env)
    repo, branch = manifests_target(config)
    base = gateway().snapshot(repo, env.branch or branch)
    return prepare_stage(config, request.env, request.release, base, checkouts=sources.checkouts), base
