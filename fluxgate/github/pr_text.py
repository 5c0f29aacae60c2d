"""The words of a promotion PR: its head branch, title and body, and the hidden marker that lets
fluxgate (and the connector) recognise its own PRs without trusting the title.

The marker is an HTML comment, invisible in GitHub's rendering:
`<!-- fluxgate:promotion {"app": "shop", "env": "staging", "version": "1.1.0"} -->`.
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
    """Which release goes where: the identity of one promotion PR."""

    app: str
    env: str
    version: str
    rollback_from: str | None = None  # set on a rollback: the release it takes back


def _marker_fields(p: Promotion) -> dict[str, str]:
    """The marker's JSON: a plain promotion's marker stays exactly what it always was."""
    return p.model_dump(exclude_none=True)


def _segment(text: str) -> str:
    cleaned = _UNSAFE.sub("-", text).strip("-.")
    return cleaned.replace("..", ".") or "x"


def head_branch(p: Promotion) -> str:
    """One branch per (app, env, version): re-running a promotion finds its own branch and PR again."""
    base = f"fluxgate/{_segment(p.app)}/{_segment(p.env)}/{_segment(p.version)}"
    # a rollback to a version the environment ran before must not find that version's merged PR
    return f"{base}-rollback-from-{_segment(p.rollback_from)}" if p.rollback_from else base


def title(p: Promotion) -> str:
    if p.rollback_from:
        return f"Roll back {p.app} in {p.env} to {p.version} (from {p.rollback_from})"
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
