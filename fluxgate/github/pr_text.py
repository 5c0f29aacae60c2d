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


def _segment(text: str) -> str:
    cleaned = _UNSAFE.sub("-", text).strip("-.")
    return cleaned.replace("..", ".") or "x"


def head_branch(p: Promotion) -> str:
    """One branch per (app, env, version): re-running a promotion finds its own branch and PR again."""
    return f"fluxgate/{_segment(p.app)}/{_segment(p.env)}/{_segment(p.version)}"


def title(p: Promotion) -> str:
    return f"Deploy {p.app} {p.version} to {p.env}"


def body_with_marker(p: Promotion, summary_markdown: str) -> str:
    marker = f"<!-- fluxgate:promotion {json.dumps(p.model_dump(), sort_keys=True)} -->"
    footer = f"\n\n---\nOpened by fluxgate. Merge to deploy; close to cancel.\n{marker}\n"
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
