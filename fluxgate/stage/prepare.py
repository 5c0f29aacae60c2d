"""Render a release for one environment and compare it with what the manifests branch holds now.

The comparison runs against the very commit the PR will be based on (the gateway's shallow
snapshot of the branch), so the summary in the PR body is exactly what the PR changes.
"""

from __future__ import annotations

from pydantic import BaseModel

from fluxgate.config import PipelineConfig
from fluxgate.github import Snapshot
from fluxgate.release import Release
from fluxgate.render import make_validator, render_environment
from fluxgate.summary import ChangeSummary, read_current, summarize, to_markdown

__all__ = ["PreparedStage", "prepare_stage"]


class PreparedStage(BaseModel):
    """What the PR will propose: every file of the environment's folders, and the change summary."""

    files: dict[str, str]
    folders: list[str]
    summary: ChangeSummary
    markdown: str
    base_commit: str
    unvalidated: list[str]

    @property
    def empty(self) -> bool:
        return self.summary.empty


def prepare_stage(config: PipelineConfig, env: str, release: Release, base: Snapshot) -> PreparedStage:
    result = render_environment(config, env, release, validator=make_validator(config))
    current = read_current(base.commit, result.manifests.folder, base.git_dir)
    summary = summarize(env, release.name, result.manifests.objects, current)
    return PreparedStage(
        files=result.files(),
        folders=result.folders(),
        summary=summary,
        markdown=to_markdown(summary),
        base_commit=base.commit,
        unvalidated=result.unvalidated,
    )
