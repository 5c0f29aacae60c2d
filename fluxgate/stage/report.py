"""The table of post-deploy checks, for the stage's report and a GitHub Check Run summary."""

from __future__ import annotations

import re
from datetime import timedelta

from fluxgate.config import format_duration
from fluxgate.stage.result import CheckResult

__all__ = ["checks_markdown"]


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
