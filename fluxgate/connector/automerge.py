"""Merging an auto-approved promotion PR once GitHub's required checks let it.

A stage whose environment merges by itself tries at once; when branch protection still waits for
required status checks, GitHub answers 405 and the stage suspends at `await-merge` with the tag
`fluxgate.automerge:<method>:<head sha>`. From then on the merge is the connector's job: it tries
again as soon as a `status` or `check_suite` webhook says a check passed on that head, and every
`retry_every` seconds in case such a webhook was lost. A successful merge is kept as the merge fact
the `pull_request` webhook would carry, so the stage resumes on the next sweep either way. A merge
whose answer was lost (a 502, a crash) is not a problem: GitHub refuses a second merge, and the
next try finds the PR merged and keeps the fact.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fluxgate.connector import keys
from fluxgate.connector.facts import Facts, MergeFact
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.store import Store
from fluxgate.errors import FluxgateError
from fluxgate.github import GitHubGateway, GitHubNotMergeable, GitHubRejected, PullRequest
from fluxgate.stage import AutoMerge, PullRef

__all__ = ["AutoMerger"]


class AutoMerger:
    def __init__(
        self,
        store: Store,
        github: Callable[[], GitHubGateway],
        metrics: Metrics,
        retry_every: float = 60.0,
        clock: Callable[[], float] = time.time,
        spend: Callable[[], None] = lambda: None,
    ) -> None:
        self.store, self.github, self.metrics, self.spend = store, github, metrics, spend
        self.facts = Facts(store)
        self.retry_every, self.clock = retry_every, clock

    def _due(self, run_id: str, repo: str, head_sha: str) -> bool:
        """A check passed on the head since the last try, or the last try is `retry_every` old."""
        now = self.clock()
        last = self.store.effect_done(keys.automerge_try(run_id))
        passed = self.store.effect_done(keys.checks_passed(repo, head_sha))
        recent = last is not None and now - float(last) < self.retry_every
        if recent and (passed is None or float(passed) <= float(last or 0)):
            return False
        self.store.record_effect(keys.automerge_try(run_id), str(now))
        return True

    def attempt(self, run_id: str, pr: PullRef, automerge: AutoMerge) -> list[str]:
        """Try the merge of `pr` for the waiting run; one line when something happened."""
        if not self._due(run_id, pr.repo, automerge.head_sha):
            return []
        gateway = self.github()
        try:
            self.spend()  # a merge is a write GitHub counts: from the write budget, as a verdict
            self.metrics.github_calls.labels("merge").inc()
            sha = gateway.merge(pr.repo, pr.number, automerge.method, expected_head=automerge.head_sha)
        except (GitHubNotMergeable, GitHubRejected):
            # Required checks still pending, or the head moved; or an earlier try merged it and its
            # answer was lost (GitHub answers 405 to a second merge): then the PR says so.
            return self._already_merged(gateway, pr)
        except FluxgateError as error:
            return [f"automerge {pr}: {error}"]
        self._keep(gateway.pull_request(pr.repo, pr.number, with_reviews=False), sha)
        return [f"{pr}: required checks passed; merged as {sha[:12]}"]

    def _already_merged(self, gateway: GitHubGateway, pr: PullRef) -> list[str]:
        try:
            current = gateway.pull_request(pr.repo, pr.number, with_reviews=False)
        except FluxgateError:
            return []
        if not current.merged or current.merge_sha is None:
            return []
        self._keep(current, current.merge_sha)
        return [f"{pr}: found merged as {current.merge_sha[:12]}"]

    def _keep(self, merged: PullRequest, sha: str) -> None:
        """Kept as the `pull_request` webhook would have it: the stage resumes on the next sweep."""
        if merged.promotion is not None:
            fact = MergeFact(
                merged=True, merge_sha=sha, merged_by=merged.merged_by, pr_url=merged.url,
                **merged.promotion.model_dump(),
            )  # fmt: skip
            self.facts.keep_merge(merged.repo, merged.number, fact)
