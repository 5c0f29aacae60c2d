"""What a GitHub webhook means for a waiting stage: facts kept until the stage asks for them.

A merged (or closed) promotion PR is the answer to a stage's "await-merge"; it is stored as a fact
keyed by the PR, so a merge that happens before the stage even suspends is not lost (the resume
step delivers kept facts when the wait appears). PRs fluxgate did not open are ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fluxgate.config import PipelineConfig
from fluxgate.connector import keys
from fluxgate.connector.facts import Facts, MergeFact, WorkflowOutcome
from fluxgate.connector.github_events import (
    CheckFact,
    DispatchFact,
    Fact,
    PingFact,
    PullRequestFact,
    ReleaseFact,
    WorkflowRunFact,
    parse_github_event,
)
from fluxgate.connector.store import Store
from fluxgate.connector.triggers import StageStarter, plan_release
from fluxgate.errors import Ignored, PermanentError
from fluxgate.github import GitHubGateway, PullRequest

__all__ = ["GitHubReconciler", "merge_fact_of"]


def merge_fact_of(pr: PullRequest, closed_by: str | None = None) -> MergeFact | None:
    """The `await-merge` answer a closed promotion PR gives (None: open, or not fluxgate's PR).
    `closed_by` names who closed a PR unmerged, when the source knows it (a webhook does)."""
    if pr.state != "closed" or pr.promotion is None:
        return None
    return MergeFact(
        merged=pr.merged,
        merge_sha=pr.merge_sha if pr.merged else None,
        merged_by=pr.merged_by if pr.merged else closed_by,
        pr_url=pr.url,
        **pr.promotion.model_dump(),
    )


class GitHubReconciler:
    def __init__(
        self,
        store: Store,
        github: Callable[[], GitHubGateway] | None = None,
        configs: list[PipelineConfig] | None = None,
        starter: StageStarter | None = None,
    ) -> None:
        self.store, self.github = store, github
        self.facts = Facts(store)
        self.configs, self.starter = configs or [], starter

    def _trigger(self, fact: Fact) -> str:
        """Start the first stage of the release the fact names (once per release)."""
        try:
            plan = plan_release(self.configs, fact)
        except Ignored:
            raise
        except PermanentError as why:  # a bad payload stays bad: note it, never retry
            raise Ignored(str(why)) from None
        release = plan.release
        if self.starter is None:
            raise Ignored(f"{release.name} is ready, but no Prefect server is configured (PREFECT_API_URL)")
        if self.github is None:
            raise Ignored(f"{release.name} is ready, but without GitHub access its sources cannot be read")
        key = keys.triggered(release.name)
        if self.store.effect_done(key) is not None:
            return f"{release.name}: its first stage was started before"
        try:
            line = self.starter.start(self.github(), plan)
        except PermanentError as why:  # no such ref, no fluxgate.yaml there: stays so, never retry
            raise Ignored(f"{release.name}: {why}") from None
        self.store.record_effect(key, line)
        return line

    def _keep_workflow_run(self, fact: WorkflowRunFact) -> bool:
        """A finished run is the answer a stage verifying with that workflow waits for."""
        run = fact.run
        if fact.action != "completed":
            return False
        name = run.name or run.path or f"workflow run {run.id}"
        outcome = WorkflowOutcome(name=name, conclusion=run.conclusion, url=run.html_url)
        self.facts.keep_workflow(run.repo, run.id, outcome)
        return True

    def _link_deployment(self, pr: PullRequest) -> None:
        """The stage created its Deployment at the PR's head; Flux reports the merge commit. Link the two,
        so Flux's progress moves the stage's Deployment instead of a second one."""
        if self.github is None or pr.promotion is None or pr.merge_sha is None:
            return
        env = pr.promotion.env
        deployment = self.github().find_deployment(pr.repo, pr.head_sha, env)
        if deployment is not None:
            self.store.record_effect(keys.deployment(pr.repo, env, pr.merge_sha), str(deployment))
            self.store.record_effect(keys.stage_deployment(deployment), pr.promotion.version)

    def handle(self, event: str, body: bytes) -> str:
        fact = parse_github_event(event, body)
        if fact is None:
            raise Ignored(f"{event}: not an event fluxgate acts on")
        if isinstance(fact, PingFact):
            return f"ping from hook {fact.hook_id}"
        if isinstance(fact, PullRequestFact):
            pr = fact.pull_request
            where = f"{pr.repo}#{pr.number}"
            if pr.promotion is None:
                raise Ignored(f"{where}: not a fluxgate promotion")
            merge = merge_fact_of(pr, fact.closed_by) if fact.action == "closed" else None
            if merge is None:
                return f"{where} {fact.action}"
            self.facts.keep_merge(pr.repo, pr.number, merge)
            if pr.merged:
                self._link_deployment(pr)
            return f"{where} {'merged' if pr.merged else 'closed unmerged'}: kept for its stage"
        if isinstance(fact, CheckFact):
            if not fact.passed:
                return f"{fact.repo}@{fact.sha[:12]}: {fact.name} {fact.state}"
            self.store.record_effect(keys.checks_passed(fact.repo, fact.sha), str(time.time()))
            return f"{fact.repo}@{fact.sha[:12]}: {fact.name} passed"
        kept = isinstance(fact, WorkflowRunFact) and self._keep_workflow_run(fact)
        if isinstance(fact, WorkflowRunFact | ReleaseFact | DispatchFact):
            try:
                return self._trigger(fact)
            except Ignored as why:
                if not kept:
                    raise
                return f"{why}; kept for a stage verifying with it"
        return f"{event}: recorded"
