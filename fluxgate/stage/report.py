"""The Markdown a stage publishes as its Prefect artifact: what changed, where, and how it went;
and the table of post-deploy checks for it and for a GitHub Check Run summary."""

from __future__ import annotations

import re
from datetime import timedelta

from fluxgate.config import format_duration
from fluxgate.stage.inputs import FluxResult, MergeResult
from fluxgate.stage.result import CheckResult

__all__ = ["checks_markdown", "stage_markdown"]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _seconds(duration: float) -> str:
    if duration < 60:
        return f"{duration:.1f}s"
    return format_duration(timedelta(seconds=round(duration)))


def checks_markdown(results: list[CheckResult]) -> str:
    """A table of check results (name, kind, ✅/❌, detail, attempts, duration), then the log tail
    of each failed container check, folded. Results never hold secret values, so neither does this."""
    if not results:
        return "No post-deploy checks ran.\n"
    lines = ["| Check | Kind | Result | Detail | Attempts | Duration |", "|---|---|:---:|---|---:|---:|"]
    lines += [
        f"| {_cell(r.name)} | {r.kind} | {'✅' if r.passed else '❌'} | {_cell(r.detail)} "
        f"| {r.attempts} | {_seconds(r.duration)} |"
        for r in results
    ]
    for result in results:
        if result.passed or not result.log_tail:
            continue
        longest = max((len(run) for run in re.findall(r"`+", "\n".join(result.log_tail))), default=0)
        fence = "`" * max(3, longest + 1)
        count = len(result.log_tail)
        lines += ["", f"<details><summary>{_cell(result.name)}: last {count} log lines</summary>", ""]
        lines += [fence, *result.log_tail, fence, "", "</details>"]
    return "\n".join(lines) + "\n"


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
        lines += ["", checks_markdown(checks).rstrip("\n")]
    if outcome:
        lines += ["", f"**{outcome}**"]
    return "\n".join(lines) + "\n\n" + changes
