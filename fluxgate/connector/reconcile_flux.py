"""What a Flux event changes in GitHub: a commit status per cluster, and the environment's Deployment.

One pass per event, in the order Flux's controllers think: route it (app, env, cluster), keep the
newest report per object (and per object and revision), then decide what GitHub should show and
queue it in the outbox (`outbox`), which coalesces and paces the writes. A commit's status for a
cluster sums up every Flux object of that cluster at that commit (`cluster_status`): one status per
cluster, not per object, so a commit touching 25 Kustomizations costs one write per cluster and
GitHub's checks list stays readable. Every write is keyed in the store, so a repeated or
re-processed event posts nothing twice, and the periodic `ReconciliationSucceeded` that Flux
repeats every interval is not news.

Deployment states follow the environment, not the single object: `in_progress` while anything is
progressing, `failure` on a final failure, `success` only once every cluster of the environment
reports ready at this revision or a later one (Flux applies the branch head, which may contain
commits after ours).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fluxgate.connector import keys
from fluxgate.connector.effects import Effects
from fluxgate.connector.facts import Facts
from fluxgate.connector.flux_events import FluxEvent, Outcome, change_set_summary, classify, parse_flux_event
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.outbox import Outbox, Spend
from fluxgate.connector.routing import Route, Router
from fluxgate.connector.store import ObjectState, Store
from fluxgate.errors import Ignored, one_line
from fluxgate.github import CommitState, DeploymentState, GitHubGateway
from fluxgate.github.gateway import trim

__all__ = ["FluxReconciler", "cluster_status", "rank_of", "status_context"]

_STATUS: dict[Outcome, CommitState] = {
    Outcome.PROGRESSING: "pending",
    Outcome.WAITING: "pending",
    Outcome.READY: "success",
    Outcome.FAILED: "failure",
}
_TERMINAL: set[DeploymentState] = {"success", "failure"}


def _shown(state: str, description: str) -> str:
    """What a commit status shows, as recorded: its state and its (trimmed) words."""
    return f"{state}\n{trim(description)}"


def _reached(last: str | None, target: str) -> bool:
    """A Deployment at `last` needs no move to `target` (a finished one never goes back to in_progress)."""
    return last == target or (last in _TERMINAL and target == "in_progress")


STATUS, DEPLOYMENT = "status", "deployment"  # the outbox's kinds of write


def status_context(env: str, cluster: str) -> str:
    """The commit status context of one cluster of an environment: `fluxgate/prod/prod-eu`."""
    return f"fluxgate/{env}/{cluster}"


def rank_of(state: str, recorded: str | None) -> int:
    """How much a change matters when writes are short (`budget.SHARES`): 0 a new verdict, 1 new
    progress, 2 the same state in new words."""
    if recorded is not None and recorded.partition("\n")[0] == state:
        return 2
    return 0 if state in ("success", "failure") else 1


def cluster_status(reports: list[ObjectState]) -> tuple[CommitState, str]:
    """A commit's state in one cluster from its objects' reports at that commit: failure if any
    failed, pending while any is still applying, success once all are ready; one object alone is
    described in its own words."""
    ordered = sorted(reports, key=lambda r: (r.kind, r.namespace, r.name))
    failed = [r for r in ordered if r.outcome == Outcome.FAILED]
    busy = [r for r in ordered if r.outcome in (Outcome.PROGRESSING, Outcome.WAITING)]
    ready = len(ordered) - len(failed) - len(busy)
    if failed:
        first = failed[0]
        said = describe_report(first)
        if len(ordered) == 1:
            return "failure", said
        return "failure", f"{len(failed)} of {len(ordered)} failed; {first.kind}/{first.name}: {said}"
    if busy:
        if len(ordered) == 1:
            return "pending", describe_report(busy[0])
        first = busy[0]
        said = describe_report(first)
        return "pending", f"{ready} of {len(ordered)} ready; {first.kind}/{first.name}: {said}"
    if len(ordered) == 1:
        return "success", describe_report(ordered[0])
    return "success", f"All {len(ordered)} ready: " + ", ".join(f"{r.kind}/{r.name}" for r in ordered)


def describe_report(report: ObjectState) -> str:
    """One object's report in a status's words: `Ready: …`, `Progressing: 2 configured`, `<Reason>: …`."""
    outcome, reason, message = report.outcome, report.reason, report.message
    if outcome == Outcome.PROGRESSING:
        return f"Progressing: {change_set_summary(message) or one_line(message)}"
    if outcome == Outcome.WAITING:
        return f"Waiting: {one_line(message)}"
    if outcome == Outcome.READY:
        return f"Ready: {one_line(message)}"
    return f"{reason}: {one_line(message)}"


class FluxReconciler:
    def __init__(
        self,
        store: Store,
        router: Router,
        github: Callable[[], GitHubGateway],
        metrics: Metrics,
        effects: Effects,
        outbox: Outbox,
    ) -> None:
        self.store, self.router, self.github, self.metrics = store, router, github, metrics
        self.facts = Facts(store)
        self.effects, self.outbox = effects, outbox
        outbox.register(STATUS, self._write_status)
        outbox.register(DEPLOYMENT, self._write_deployment)

    def handle(self, body: bytes) -> str:
        event = parse_flux_event(body)
        outcome = classify(event)
        obj = event.object
        if outcome == Outcome.IGNORED:
            raise Ignored(f"{obj.kind} {event.reason}: not a rollout state fluxgate tracks")
        route = self.router.route(event)
        if route is None:
            raise Ignored(f"{obj.kind} {obj.namespace}/{obj.name}: no environment and cluster match it")
        if event.revision is None or len(event.revision.sha) != 40:
            raise Ignored(f"{obj.kind} {obj.namespace}/{obj.name}: no git commit in the revision")
        sha = event.revision.sha
        stamp = event.timestamp.timestamp() if event.timestamp else 0.0
        state = ObjectState(
            route.app,
            route.env,
            route.cluster,
            obj.kind,
            obj.namespace,
            obj.name,
            sha,
            outcome,
            event.reason,
            event.message[:2000],
            stamp,
        )
        key = "/".join([route.app, route.env, route.cluster, obj.kind, obj.namespace, obj.name])
        if not self.store.record_object(state, key):
            raise Ignored(f"{obj.kind} {obj.namespace}/{obj.name}: older than the last report")
        self.store.record_report(state, key)
        context = status_context(route.env, route.cluster)
        commit_state, queued = self._status(route, sha)
        deployment = self._deployment(route, sha, outcome, event)
        return (
            f"{context}: {commit_state}"
            + (" (queued)" if queued else " (no news)")
            + (f"; deployment {deployment} (queued)" if deployment else "")
        )

    # -- commit statuses ------------------------------------------------------------------------
    def _status(self, route: Route, sha: str) -> tuple[CommitState, bool]:
        """Queue the cluster's status of `sha` unless GitHub shows it already (no news): its state, and
        whether it was queued. What is sent is summed up again when it is sent: events of one cluster
        are handled in parallel, so this sum may already be older than another thread's."""
        state, description = cluster_status(self.store.reports_at(route.app, route.env, route.cluster, sha))
        key = keys.status(route.repo, sha, status_context(route.env, route.cluster))
        recorded = self.store.effect_done(key)
        if recorded == _shown(state, description):
            return state, False
        body = {"repo": route.repo, "sha": sha, "app": route.app, "env": route.env, "cluster": route.cluster}
        self.outbox.want(key, STATUS, body, rank_of(state, recorded))
        return state, True

    def _write_status(self, body: dict[str, Any], spend: Spend) -> None:
        repo, sha = body["repo"], body["sha"]
        reports = self.store.reports_at(body["app"], body["env"], body["cluster"], sha)
        if not reports:  # pruned: a verdict this old is not news any more
            return
        state, description = cluster_status(reports)
        context = status_context(body["env"], body["cluster"])
        shown = _shown(state, description)

        def post() -> str:
            self.metrics.github_calls.labels("set_status").inc()
            self.github().set_status(repo, sha, state, context, description)
            return shown

        def posted() -> str | None:
            latest = {s.context: s for s in self.github().combined_status(repo, sha).statuses}
            found = latest.get(context)
            return None if found is None else _shown(found.state, found.description)

        self.effects.once(keys.status(repo, sha, context), lambda v: v == shown, post, posted, spend=spend)

    # -- deployments ----------------------------------------------------------------------------
    def _deployment_id(self, route: Route, sha: str, spend: Spend) -> int:
        def create() -> str:
            self.metrics.github_calls.labels("create_deployment").inc()
            deployment = self.github().create_deployment(
                route.repo,
                sha,
                route.env,
                f"{route.app} at {sha[:12]}",
                payload={"app": route.app, "env": route.env, "revision": sha},
                production=route.production,
            )
            return str(deployment)

        def created() -> str | None:
            found = self.github().find_deployment(route.repo, sha, route.env)
            return None if found is None else str(found)

        key = keys.deployment(route.repo, route.env, sha)
        value, _ = self.effects.once(key, lambda v: bool(v), create, created, spend=spend)
        return int(value)

    def _deployment(self, route: Route, sha: str, outcome: Outcome, event: FluxEvent) -> str | None:
        """A Deployment records a change applied to an environment: a stage's (known from its merge),
        or one Flux reports applying (a change set) or failing. A revision that changed nothing in
        the environment's folder (every merge into a shared branch is one for the other
        environments) moves the commit statuses only, so GitHub's Environments page keeps showing
        what each environment last changed to. Returns the state queued, if any."""
        known = self.store.effect_done(keys.deployment(route.repo, route.env, sha))
        changed = event.reason == "Progressing" and change_set_summary(event.message) is not None
        if known is None and outcome != Outcome.FAILED and not changed:
            if outcome == Outcome.READY and self.ready(route, sha):  # the code repo still hears Flux is done
                description = f"{route.app} is ready on every cluster of {route.env}"
                self._dispatch(route, sha, "success", description, self._spend_now)
            return None
        # What this event says (the whole environment is read again when the write is sent)
        target: DeploymentState = "in_progress"
        if outcome == Outcome.FAILED:
            target = "failure"
        elif outcome == Outcome.READY and self.ready(route, sha):
            target = "success"
        state_key = None if known is None else keys.deployment_state(route.repo, int(known))
        if state_key is not None and _reached(self.store.effect_done(state_key), target):
            return None
        key = keys.deployment(route.repo, route.env, sha)
        body = {"app": route.app, "env": route.env, "repo": route.repo, "production": route.production}
        self.outbox.want(key, DEPLOYMENT, {**body, "sha": sha}, 0 if target in _TERMINAL else 1)
        return target

    def _deployment_target(self, route: Route, sha: str) -> tuple[DeploymentState, str]:
        """Where the environment's Deployment of `sha` stands, from every cluster's reports at `sha`:
        failure while an object has failed there, success once the environment is ready."""
        env = self.router.environment(route.app, route.env)
        clusters = [c.name for c in env.clusters] if env is not None else [route.cluster]
        reports = [r for c in clusters for r in self.store.reports_at(route.app, route.env, c, sha)]
        failed = sorted((r for r in reports if r.outcome == Outcome.FAILED), key=lambda r: r.event_time)
        if failed:
            return "failure", describe_report(failed[-1])
        if self.ready(route, sha):
            return "success", f"{route.app} is ready on every cluster of {route.env}"
        return "in_progress", f"Flux is applying {sha[:12]} to {route.env}"

    def _write_deployment(self, body: dict[str, Any], spend: Spend) -> None:
        """Decided again when sent (events of one environment are handled in parallel, so what was
        decided when one was handled may be older than another's)."""
        route = Route(body["app"], body["env"], "", body["repo"], bool(body["production"]))
        sha = body["sha"]
        target, description = self._deployment_target(route, sha)
        deployment = self._deployment_id(route, sha, spend)
        key = keys.deployment_state(route.repo, deployment)
        if self.store.effect_done(keys.stage_deployment(deployment)) is not None:
            if target == "success":
                # a stage's Deployment succeeds once the stage has verified it, not when Flux is ready
                self._dispatch(route, sha, target, description, spend)
                return
            # The stage writes its Deployment too, and this write comes a settle time after the event
            # that the stage may have acted on already: its own words (a soak's failure) stay.
            current = self.github().deployment_state(route.repo, deployment)
            if _reached(current, target):
                self.store.record_effect(key, str(current))
                if target in _TERMINAL:
                    self._dispatch(route, sha, target, description, spend)
                return

        def post() -> str:
            self.metrics.github_calls.labels("set_deployment_status").inc()
            self.github().set_deployment_status(route.repo, deployment, target, description)
            return str(target)

        def look() -> str | None:
            return self.github().deployment_state(route.repo, deployment)

        self.effects.once(key, lambda last: _reached(last, target), post, look, spend=spend)
        if target in _TERMINAL:
            self._dispatch(route, sha, target, description, spend)  # once: a repeat finds it recorded

    # -- repository_dispatch --------------------------------------------------------------------
    def _version_at(self, route: Route, sha: str) -> str | None:
        """The release a revision carries: the newest merged promotion of this env it contains."""
        for fact in reversed(self.facts.merges()):
            ours = fact.app == route.app and fact.env == route.env and fact.merged
            if ours and fact.merge_sha and self.contains(route.repo, sha, fact.merge_sha):
                return fact.version
        return None

    def _spend_now(self) -> None:
        """A write made while handling a delivery: a verdict's rank; no budget retries the delivery later."""
        self.outbox.budget.spend(0)

    def _dispatch(
        self, route: Route, sha: str, target: DeploymentState, description: str, spend: Spend
    ) -> None:
        """Opt-in per environment: tell the code repo's workflows that Flux finished (the seed's design)."""
        config = next((c for c in self.router.configs if c.app == route.app), None)
        env = self.router.environment(route.app, route.env)
        if config is None or env is None or not env.repository_dispatch or config.code_repo is None:
            return
        event = "fluxgate.sync-succeeded" if target == "success" else "fluxgate.sync-failed"
        key = keys.dispatch(config.code_repo, route.env, sha, event)
        code_repo = config.code_repo

        def send() -> str:
            payload = {
                "app": route.app,
                "env": route.env,
                "version": self._version_at(route, sha),
                "revision": sha,
                "message": description,
                "id": hashlib.sha256(key.encode()).hexdigest()[:16],  # the same for a repeat: dedupe by it
            }
            self.metrics.github_calls.labels("dispatch").inc()
            self.github().dispatch(code_repo, event, payload)
            return event

        # GitHub cannot be asked whether a dispatch arrived: after an unknown outcome it is not repeated
        self.effects.once(key, lambda v: v is not None, send, None, spend=spend)

    def ready(self, route: Route, sha: str) -> bool:
        """Every cluster of the environment reports ready at `sha` or a revision that contains it."""
        env = self.router.environment(route.app, route.env)
        if env is None:
            return False
        reports = self.store.objects_of(route.app, route.env)
        for cluster in env.clusters:
            mine = [r for r in reports if r.cluster == cluster.name]
            listed = cluster.kustomizations + cluster.helm_releases
            if listed:
                mine = [r for r in mine if r.name in listed or f"{r.namespace}/{r.name}" in listed]
                if len(mine) < len(listed):
                    return False
            if not mine or not all(
                r.outcome == Outcome.READY and self.contains(route.repo, r.revision, sha) for r in mine
            ):
                return False
        return True

    def contains(self, repo: str, revision: str | None, sha: str) -> bool:
        """`revision` is `sha` or a descendant of it (Flux applies the branch head, which may be later)."""
        if revision is None:
            return False
        if revision == sha:
            return True
        key = keys.ancestor(repo, sha, revision)
        known = self.store.effect_done(key)
        if known is not None:
            return known == "1"
        self.metrics.github_calls.labels("compare").inc()
        answer = self.github().is_ancestor(repo, sha, revision)
        self.store.record_effect(key, "1" if answer else "0")
        return answer
