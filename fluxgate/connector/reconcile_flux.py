"""What a Flux event changes in GitHub: a commit status per object, and the environment's Deployment.

One pass per event, in the order Flux's controllers think: route it (app, env, cluster), keep the
newest report per object, then bring GitHub in line. Every side effect is keyed in the store, so a
repeated or re-processed event posts nothing twice, and the periodic `ReconciliationSucceeded`
that Flux repeats every interval is not news.

Deployment states follow the environment, not the single object: `in_progress` while anything is
progressing, `failure` on a final failure, `success` only once every cluster of the environment
reports ready at this revision or a later one (Flux applies the branch head, which may contain
commits after ours).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fluxgate.connector import keys
from fluxgate.connector.effects import Effects
from fluxgate.connector.facts import Facts
from fluxgate.connector.flux_events import FluxEvent, Outcome, change_set_summary, classify, parse_flux_event
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.routing import Route, Router
from fluxgate.connector.store import ObjectState, Store
from fluxgate.errors import Ignored, one_line
from fluxgate.github import CommitState, DeploymentState, GitHubGateway

__all__ = ["FluxReconciler", "status_context"]

_STATUS: dict[Outcome, CommitState] = {
    Outcome.PROGRESSING: "pending",
    Outcome.WAITING: "pending",
    Outcome.READY: "success",
    Outcome.FAILED: "failure",
}
_TERMINAL: set[DeploymentState] = {"success", "failure"}


def status_context(env: str, cluster: str, kind: str, name: str) -> str:
    """The commit status context of one Flux object in one cluster: `fluxgate/dev/dev-eu/kustomization/x`."""
    return f"fluxgate/{env}/{cluster}/{kind.lower()}/{name}"


def describe(event: FluxEvent, outcome: Outcome) -> str:
    if outcome == Outcome.PROGRESSING:
        return f"Progressing: {change_set_summary(event.message) or one_line(event.message)}"
    if outcome == Outcome.WAITING:
        return f"Waiting: {one_line(event.message)}"
    if outcome == Outcome.READY:
        return f"Ready: {one_line(event.message)}"
    return f"{event.reason}: {one_line(event.message)}"


class FluxReconciler:
    def __init__(
        self,
        store: Store,
        router: Router,
        github: Callable[[], GitHubGateway],
        metrics: Metrics,
        effects: Effects | None = None,
    ) -> None:
        self.store, self.router, self.github, self.metrics = store, router, github, metrics
        self.facts = Facts(store)
        self.effects = effects or Effects(store)

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
        context = status_context(route.env, route.cluster, obj.kind, obj.name)
        posted = self._status(route.repo, sha, context, _STATUS[outcome], describe(event, outcome))
        deployment = self._deployment(route, sha, outcome, event)
        return (
            f"{context}: {_STATUS[outcome]}"
            + ("" if posted else " (no news)")
            + (f"; deployment {deployment}" if deployment else "")
        )

    # -- commit statuses ------------------------------------------------------------------------
    def _status(self, repo: str, sha: str, context: str, state: CommitState, description: str) -> bool:
        def post() -> str:
            self.metrics.github_calls.labels("set_status").inc()
            self.github().set_status(repo, sha, state, context, description)
            return state

        def posted() -> str | None:
            latest = {s.context: s.state for s in self.github().combined_status(repo, sha).statuses}
            return latest.get(context)

        _, made = self.effects.once(keys.status(repo, sha, context), lambda v: v == state, post, posted)
        return made

    # -- deployments ----------------------------------------------------------------------------
    def _deployment_id(self, route: Route, sha: str) -> int:
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
        value, _ = self.effects.once(key, lambda v: bool(v), create, created)
        return int(value)

    def _deployment(self, route: Route, sha: str, outcome: Outcome, event: FluxEvent) -> str | None:
        """A Deployment records a change applied to an environment: a stage's (known from its merge),
        or one Flux reports applying (a change set) or failing. A revision that changed nothing in
        the environment's folder (every merge into a shared branch is one for the other
        environments) moves the commit statuses only, so GitHub's Environments page keeps showing
        what each environment last changed to."""
        known = self.store.effect_done(keys.deployment(route.repo, route.env, sha))
        changed = event.reason == "Progressing" and change_set_summary(event.message) is not None
        if known is None and outcome != Outcome.FAILED and not changed:
            if outcome == Outcome.READY and self.ready(route, sha):  # the code repo still hears Flux is done
                self._dispatch(route, sha, "success", f"{route.app} is ready on every cluster of {route.env}")
            return None
        target: DeploymentState
        if outcome == Outcome.FAILED:
            target, description = "failure", describe(event, outcome)
        elif outcome == Outcome.READY and self.ready(route, sha):
            target, description = "success", f"{route.app} is ready on every cluster of {route.env}"
        else:
            target, description = "in_progress", f"Flux is applying {sha[:12]} to {route.env}"
        deployment = self._deployment_id(route, sha)
        if target == "success" and self.store.effect_done(keys.stage_deployment(deployment)) is not None:
            # a stage's Deployment succeeds once the stage has verified it, not when Flux is ready
            self._dispatch(route, sha, target, description)
            return None
        def reached(last: str | None) -> bool:
            return last == target or (last in _TERMINAL and target == "in_progress")

        def post() -> str:
            self.metrics.github_calls.labels("set_deployment_status").inc()
            self.github().set_deployment_status(route.repo, deployment, target, description)
            return target

        key = keys.deployment_state(route.repo, deployment)
        _, made = self.effects.once(
            key, reached, post, lambda: self.github().deployment_state(route.repo, deployment)
        )
        if target in _TERMINAL:
            self._dispatch(route, sha, target, description)  # once: a repeat finds it recorded
        return target if made else None

    # -- repository_dispatch --------------------------------------------------------------------
    def _version_at(self, route: Route, sha: str) -> str | None:
        """The release a revision carries: the newest merged promotion of this env it contains."""
        for fact in reversed(self.facts.merges()):
            ours = fact.app == route.app and fact.env == route.env and fact.merged
            if ours and fact.merge_sha and self.contains(route.repo, sha, fact.merge_sha):
                return fact.version
        return None

    def _dispatch(self, route: Route, sha: str, target: DeploymentState, description: str) -> None:
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
        self.effects.once(key, lambda v: v is not None, send, None)

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
