"""Merging an auto-approved promotion PR once GitHub's required checks let it.

A stage whose environment merges by itself tries at once; when branch protection still waits for
required status checks, GitHub answers 405 and the stage suspends at `await-merge` with the tag
`fluxgate.automerge:<method>:<head sha>`. From then on the merge is the connector's job: it tries
again as soon as a `status` or `check_suite` webhook says a check passed on that head, and every
`retry_every` seconds in case such a webhook was lost. A successful merge is kept as the merge fact
the `pull_request` webhook would carry, so the stage resumes on the next sweep either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fluxgate.connector.metrics import Metrics
from fluxgate.connector.reconcile_github import checks_passed_key, keep_merge_fact
from fluxgate.connector.store import Store
from fluxgate.errors import FluxgateError
from fluxgate.github import GitHubGateway, GitHubNotMergeable, GitHubRejected

__all__ = ["AutoMerger"]


class AutoMerger:
    def __init__(
        self,
        store: Store,
        github: Callable[[], GitHubGateway],
        metrics: Metrics,
        retry_every: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.github, self.metrics = store, github, metrics
        self.retry_every, self.clock = retry_every, clock

    def _due(self, run_id: str, repo: str, head_sha: str) -> bool:
        """A check passed on the head since the last try, or the last try is `retry_every` old."""
        now = self.clock()
        last = self.store.effect_done(f"automerge:{run_id}")
        passed = self.store.effect_done(checks_passed_key(repo, head_sha))
        recent = last is not None and now - float(last) < self.retry_every
        if recent and (passed is None or float(passed) <= float(last or 0)):
            return False
        self.store.record_effect(f"automerge:{run_id}", str(now))
        return True

    def attempt(self, run_id: str, pr: str, automerge: str) -> list[str]:
        """Try the merge of `pr` (`owner/repo#n`) for the waiting run; one line when something happened."""
        repo, _, number = pr.rpartition("#")
        method, _, head_sha = automerge.partition(":")
        if not number.isdigit() or method not in ("merge", "squash", "rebase") or not head_sha:
            return []
        if not self._due(run_id, repo, head_sha):
            return []
        self.metrics.github_calls.labels("merge").inc()
        try:
            gateway = self.github()
            sha = gateway.merge(repo, int(number), method, expected_head=head_sha)  # type: ignore[arg-type]
            state = gateway.pull_request(repo, int(number), with_reviews=False)
        except (GitHubNotMergeable, GitHubRejected):
            return []  # required checks still pending (or the head moved): the next check passing says when
        except FluxgateError as error:
            return [f"automerge {pr}: {error}"]
        if state.promotion is not None:
            promotion = state.promotion
            keep_merge_fact(self.store, repo, int(number), True, sha, state.merged_by, state.url, promotion)
        return [f"{pr}: required checks passed; merged as {sha[:12]}"]
