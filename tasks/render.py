"""render_manifests: the release rendered and validated for one environment, with its change summary."""

from __future__ import annotations

from prefect import task

from fluxgate.github import Snapshot
from fluxgate.stage import PreparedStage, StageRequest, prepare_stage
from tasks.context import config_of, gateway, manifests_target
from tasks.policy import TRANSIENT

__all__ = ["render_manifests"]


@task(name="render", persist_result=True, **TRANSIENT)
def render_manifests(request: StageRequest) -> tuple[PreparedStage, Snapshot]:
    """Render and validate `request`'s release for its environment against the manifests branch head.

    Returns:
        What the PR will propose (files, summary) and the branch head it was compared with.
    """
    config = config_of(request)
    env = config.environment(request.env)
    repo, branch = manifests_target(config)
    base = gateway().snapshot(repo, env.branch or branch)
    return prepare_stage(config, request.env, request.release, base), base
