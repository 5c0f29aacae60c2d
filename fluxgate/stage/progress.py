"""One stage's progress: what it has learnt so far, the way it stops, and the report it publishes.

The flow fills one `StageProgress` as it goes (PR, Deployment, merge, Flux, checks) and publishes it
as the stage's artifact at its end, whichever end that is. Every step that can end the stage short
of promotion returns a `Stop`; the flow hands it to its single failure path.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from fluxgate.stage.contract import Wait
from fluxgate.stage.inputs import FluxResult, MergeResult
from fluxgate.stage.report import checks_markdown
from fluxgate.stage.result import CheckResult

__all__ = ["StageProgress", "Stop"]


class Stop(BaseModel):
    """Why a stage ends here instead of promoting.

    `at` is the wait whose answer ended it: a retry of the run waits there afresh (a new pause key).
    `rollback` says the environment may now run a bad release, so `rollback_on_failure` applies;
    a PR closed unmerged changed nothing and is `cancelled`, not failed.
    """

    message: str
    at: Wait | None = None
    rollback: bool = True
    end: Literal["failed", "cancelled"] = "failed"


class StageProgress(BaseModel):
    run_name: str
    sources: list[str] = Field(default_factory=list, description="what was rendered, by commit")
    changes: str = Field(default="", description="the change summary, as in the PR body")
    pr_url: str | None = None
    deployment: int | None = Field(default=None, description="the stage's GitHub Deployment")
    merge: MergeResult | None = None
    merged_sha: str | None = Field(default=None, description="the manifests commit Flux must apply")
    flux: FluxResult | None = None
    checks: list[CheckResult] = Field(default_factory=list)
    outcome: str | None = None

    def markdown(self) -> str:
        """The stage's report: what changed, where, and how it went."""
        lines = [f"## {self.run_name}", ""]
        if self.sources:
            lines.append("- Rendered from: " + "; ".join(f"`{line}`" for line in self.sources))
        if self.pr_url:
            lines.append(f"- Pull request: {self.pr_url}")
        if self.merge is not None:
            merge = self.merge
            merged = f"merged as `{(merge.merge_sha or '')[:12]}` by {merge.merged_by or 'someone'}"
            lines.append(f"- Merge: {merged if merge.merged else 'closed without merging'}")
        if self.flux is not None:
            flux = self.flux
            health = "healthy" if flux.healthy else "failed"
            clusters = ", ".join(flux.clusters) or "no cluster"
            lines.append(f"- Flux: {health} on {clusters} at `{(flux.revision or '')[:12]}`: {flux.message}")
        if self.checks:
            lines += ["", checks_markdown(self.checks).rstrip("\n")]
        if self.outcome:
            lines += ["", f"**{self.outcome}**"]
        return "\n".join(lines) + "\n\n" + self.changes
