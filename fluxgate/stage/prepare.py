"""Render a release for one environment and compare it with what the manifests branch holds now.

The comparison runs against the very commit the PR will be based on (the gateway's shallow
snapshot of the branch), so the summary in the PR body is exactly what the PR changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from fluxgate.config import PipelineConfig
from fluxgate.github import Snapshot
from fluxgate.release import Release
from fluxgate.render import make_validator, render_environment
from fluxgate.summary import (
    ChangeSummary,
    drifted,
    ledger,
    read_current,
    read_text_at,
    summarize,
    to_markdown,
)

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


def prepare_stage(
    config: PipelineConfig,
    env: str,
    release: Release,
    base: Snapshot,
    checkouts: Mapping[str, Path] | None = None,
) -> PreparedStage:
    """`checkouts`: config repository -> its folder at the pinned commit."""
    result = render_environment(config, env, release, checkouts=checkouts, validator=make_validator(config))
    current = read_current(base.commit, result.manifests.folder, base.git_dir)
    summary = summarize(env, release.name, result.manifests.objects, current)
    # The ledger of what this PR writes, and the hand edits since the last one; it is no object, so
    # it never makes `summary.empty` false: an environment that already matches still gets no PR.
    files, folder = result.files(), result.manifests.folder
    ledger_file, ledger_text = ledger(folder, files)
    found = read_text_at(base.git_dir, base.commit, ledger_file) if ledger_file in base.files else None
    summary.drift, summary.folder = drifted(folder, base.files, found), folder
    return PreparedStage(
        files={**files, ledger_file: ledger_text},
        folders=result.folders(),
        summary=summary,
        markdown=to_markdown(summary),
        base_commit=base.commit,
        unvalidated=result.unvalidated,
    )
