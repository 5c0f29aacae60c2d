"""What a GitHub webhook means for a waiting stage: facts kept until the stage asks for them.

A merged (or closed) promotion PR is the answer to a stage's "await-merge"; it is stored as a fact
keyed by the PR, so a merge that happens before the stage even suspends is not lost (the resume
step delivers kept facts when the wait appears). PRs fluxgate did not open are ignored.
"""

from __future__ import annotations

import json

from fluxgate.connector.github_events import (
    PingFact,
    PullRequestFact,
    parse_github_event,
)
from fluxgate.connector.reconcile_flux import Ignored
from fluxgate.connector.store import Store
from fluxgate.github import Promotion

__all__ = ["GitHubReconciler", "keep_merge_fact", "merge_fact_key"]


def merge_fact_key(repo: str, number: int) -> str:
    return f"fact:merge:{repo}#{number}"


def keep_merge_fact(
    store: Store,
    repo: str,
    number: int,
    merged: bool,
    merge_sha: str | None,
    merged_by: str | None,
    url: str,
    promotion: Promotion,
) -> None:
    """The `await-merge` answer (and the promotion it settles), kept until the stage asks for it."""
    result = {
        "merged": merged,
        "merge_sha": merge_sha if merged else None,
        "merged_by": merged_by,
        "pr_url": url,
        **promotion.model_dump(),
    }
    store.record_effect(merge_fact_key(repo, number), json.dumps(result))


class GitHubReconciler:
    def __init__(self, store: Store) -> None:
        self.store = store

    def handle(self, event: str, body: bytes) -> str:
        fact = parse_github_event(event, body)
        if fact is None:
            raise Ignored(f"{event}: not an event fluxgate acts on")
        if isinstance(fact, PingFact):
            return f"ping from hook {fact.hook_id}"
        if isinstance(fact, PullRequestFact):
            if fact.promotion is None:
                raise Ignored(f"{fact.repo}#{fact.number}: not a fluxgate promotion")
            if fact.action != "closed":
                return f"{fact.repo}#{fact.number} {fact.action}"
            keep_merge_fact(
                self.store,
                fact.repo,
                fact.number,
                fact.merged,
                fact.merge_sha,
                fact.merged_by,
                fact.url,
                fact.promotion,
            )
            outcome = "merged" if fact.merged else "closed unmerged"
            return f"{fact.repo}#{fact.number} {outcome}: kept for its stage"
        return f"{event}: recorded"
