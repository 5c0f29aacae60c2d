"""The Markdown a stage publishes as its Prefect artifact: what changed, where, and how it went."""

from __future__ import annotations

from fluxgate.stage.inputs import FluxResult, MergeResult
from fluxgate.stage.verify import CheckResult

__all__ = ["stage_markdown"]


def stage_markdown(
    run_name: str,
    changes: str,
    pr_url: str | None,
    merge: MergeResult | None = None,
    flux: FluxResult | None = None,
    checks: list[CheckResult] | None = None,
    outcome: str | None = None,
) -> str:
    lines = [f"## {run_name}", ""]
    if pr_url:
        lines.append(f"- Pull request: {pr_url}")
    if merge is not None:
        merged = f"merged as `{(merge.merge_sha or '')[:12]}` by {merge.merged_by or 'someone'}"
        lines.append(f"- Merge: {merged if merge.merged else 'closed without merging'}")
    if flux is not None:
        health = "healthy" if flux.healthy else "failed"
        clusters = ", ".join(flux.clusters) or "no cluster"
        lines.append(f"- Flux: {health} on {clusters} at `{(flux.revision or '')[:12]}`: {flux.message}")
    if checks:
        lines += ["", "| Check | Result | Attempts | Detail |", "|---|---|---|---|"]
        lines += [
            f"| {c.name} | {'passed' if c.passed else 'failed'} | {c.attempts} | {c.detail} |" for c in checks
        ]
    if outcome:
        lines += ["", f"**{outcome}**"]
    return "\n".join(lines) + "\n\n" + changes
