"""What a GitHub webhook means for a waiting stage: facts kept until the stage asks for them.

A merged (or closed) promotion PR is the answer to a stage's "await-merge"; it is stored as a fact
keyed by the PR, so a merge that happens before the stage even suspends is not lost (the resume
step delivers kept facts when the wait appears). PRs fluxgate did not open are ignored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fluxgate.config import PipelineConfig
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
from fluxgate.connector.reconcile_flux import Ignored
from fluxgate.connector.store import Store
from fluxgate.connector.triggers import NotARelease, StageStarter, plan_release
from fluxgate.errors import PermanentError
from fluxgate.github import GitHubGateway, Promotion

__all__ = [
    "GitHubReconciler",
    "checks_passed_key",
    "keep_merge_fact",
    "merge_fact_key",
    "stage_deployment_key",
    "workflow_fact_key",
]


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


def checks_passed_key(repo: str, sha: str) -> str:
    """When a check last passed on `sha`: an auto-merging stage waiting on that head tries again."""
    return f"checks-passed:{repo}@{sha}"


def workflow_fact_key(repo: str, run_id: int) -> str:
    return f"fact:workflow:{repo}#{run_id}"


def stage_deployment_key(deployment: int) -> str:
    return f"stage-deployment:{deployment}"


class GitHubReconciler:
    def __init__(
        self,
        store: Store,
        github: Callable[[], GitHubGateway] | None = None,
        configs: list[PipelineConfig] | None = None,
        starter: StageStarter | None = None,
    ) -> None:
        self.store, self.github = store, github
        self.configs, self.starter = configs or [], starter

    def _trigger(self, fact: Fact) -> str:
        """Start the first stage of the release the fact names (once per release)."""
        try:
            config, release = plan_release(self.configs, fact)
        except (NotARelease, PermanentError) as why:  # a bad payload stays bad: note it, never retry
            raise Ignored(str(why)) from None
        if self.starter is None:
            raise Ignored(f"{release.name} is ready, but no Prefect server is configured (PREFECT_API_URL)")
        key = f"triggered:{release.name}"
        if self.store.effect_done(key) is not None:
            return f"{release.name}: its first stage was started before"
        line = self.starter.start(config, release)
        self.store.record_effect(key, line)
        return line

    def _keep_workflow_run(self, fact: WorkflowRunFact) -> bool:
        """A finished run is the answer a stage verifying with that workflow waits for."""
        if fact.action != "completed" or fact.id is None:
            return False
        outcome = {"name": fact.name or fact.path or f"workflow run {fact.id}", "conclusion": fact.conclusion,
                   "url": fact.url}
        self.store.record_effect(workflow_fact_key(fact.repo, fact.id), json.dumps(outcome))
        return True

    def _link_deployment(self, fact: PullRequestFact) -> None:
        """The stage created its Deployment at the PR's head; Flux reports the merge commit. Link the two,
        so Flux's progress moves the stage's Deployment instead of a second one."""
        if self.github is None or fact.promotion is None or fact.merge_sha is None:
            return
        env = fact.promotion.env
        deployment = self.github().find_deployment(fact.repo, fact.head_sha, env)
        if deployment is not None:
            self.store.record_effect(f"deployment:{fact.repo}:{env}:{fact.merge_sha}", str(deployment))
            self.store.record_effect(stage_deployment_key(deployment), fact.promotion.version)

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
            if fact.merged:
                self._link_deployment(fact)
            outcome = "merged" if fact.merged else "closed unmerged"
            return f"{fact.repo}#{fact.number} {outcome}: kept for its stage"
        if isinstance(fact, CheckFact):
            if not fact.passed:
                return f"{fact.repo}@{fact.sha[:12]}: {fact.name} {fact.state}"
            self.store.record_effect(checks_passed_key(fact.repo, fact.sha), str(time.time()))
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
