"""The words of a promotion PR: its head branch, title and body, and the hidden marker that lets
fluxgate (and the connector) recognise its own PRs without trusting the title.

The marker is an HTML comment, invisible in GitHub's rendering:
`<!-- fluxgate:promotion {"app": "shop", "code": "acme/shop@<sha>", "env": "dev", "version": "1.1.0"} -->`,
also naming the config commits and the template digest the PR was rendered from.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

__all__ = ["Promotion", "body_with_marker", "head_branch", "read_marker", "title"]

BODY_LIMIT = 65536  # GitHub rejects longer PR bodies
_MARKER = re.compile(r"<!-- fluxgate:promotion (\{.*?\}) -->")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Promotion(BaseModel):
    """Which release goes where, rendered from which commits: the identity of one promotion PR."""

    app: str
    env: str
    version: str
    rollback_from: str | None = None  # set on a rollback: the release it takes back
    code: str | None = None  # the code repository and commit rendered: `acme/shop@<sha>`
    configs: dict[str, str] = {}  # config repository -> the commit rendered
    digest: str | None = None  # the template digest, `sha256:<hex>`

    @property
    def revision(self) -> str:
        """The commits, short: the same version rendered from other commits is another PR."""
        commits = [self.code.rpartition("@")[2]] if self.code else []
        return "-".join(c[:7] for c in commits + [self.configs[r] for r in sorted(self.configs)])


def _marker_fields(p: Promotion) -> dict[str, object]:
    """The marker's JSON: a plain promotion's marker stays exactly what it always was."""
    fields = p.model_dump(exclude_none=True)
    if not p.configs:
        fields.pop("configs")
    return fields


def _segment(text: str) -> str:
    cleaned = _UNSAFE.sub("-", text).strip("-.")
    return cleaned.replace("..", ".") or "x"


def head_branch(p: Promotion) -> str:
    """One branch per (app, env, version, commits rendered): re-running a promotion finds its own
    branch and PR again; the same version rendered from new config gets a new one."""
    base = f"fluxgate/{_segment(p.app)}/{_segment(p.env)}/{_segment(p.version)}"
    if p.revision:
        base = f"{base}-{p.revision}"
    # a rollback to a version the environment ran before must not find that version's merged PR
    return f"{base}-rollback-from-{_segment(p.rollback_from)}" if p.rollback_from else base


def title(p: Promotion) -> str:
    if p.rollback_from:
        return f"Roll back {p.app} in {p.env} to {p.version} (from {p.rollback_from})"
    if p.configs:
        config = ", ".join(f"{repo}@{commit[:7]}" for repo, commit in sorted(p.configs.items()))
        return f"Deploy {p.app} {p.version} to {p.env} with config {config}"
    return f"Deploy {p.app} {p.version} to {p.env}"


def body_with_marker(p: Promotion, summary_markdown: str) -> str:
    marker = f"<!-- fluxgate:promotion {json.dumps(_marker_fields(p), sort_keys=True)} -->"
    action = "roll back" if p.rollback_from else "deploy"
    footer = f"\n\n---\nOpened by fluxgate. Merge to {action}; close to cancel.\n{marker}\n"
    room = BODY_LIMIT - len(footer)
    if len(summary_markdown) > room:
        note = "\n\n… the change summary is longer than a PR body allows; see the commit for every file.\n"
        summary_markdown = summary_markdown[: room - len(note)] + note
    return summary_markdown.rstrip("\n") + footer


def read_marker(body: str | None) -> Promotion | None:
    """The promotion a PR body carries, or None for PRs fluxgate did not open."""
    match = _MARKER.search(body or "")
    if match is None:
        return None
    try:
        return Promotion.model_validate_json(match.group(1))
    except ValidationError:
        return None
