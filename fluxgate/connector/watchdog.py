"""The watchdog: when a stage has waited too long, ask the cluster (or GitHub) instead of Flux's events.

Flux sends notifications fire-and-forget and never persists them, so a stage can wait forever for an
event that was lost; GitHub webhooks get lost too. For a run paused longer than
`watchdog_after` seconds (and again every `watchdog_after` seconds while it stays paused):

- `await-flux*`: each cluster of the environment is read directly: the Kustomization/HelmRelease
  status through the Kubernetes API when the connector's kubeconfig has a context named like the
  cluster, else the commit statuses on the head of the environment's branch (fluxgate's own per
  cluster, `fluxgate/<env>/<cluster>`, said of each of its objects; or those Flux's own `github`
  provider posted per object, `<kind>/<name>[/<id>]`). What is seen becomes a
  Flux event in real format (reported by `fluxgate-watchdog`), stored and processed like one that
  came over HTTP: statuses, Deployment and resume follow as if the event had arrived.
- `await-merge*`: the PR is read through the gateway; a closed PR is kept as the merge fact the
  webhook would have given.

The translation from an object's status or a commit status to an event is pure and unit-tested.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fluxgate.config import Cluster, Environment
from fluxgate.connector import keys
from fluxgate.connector.facts import Facts
from fluxgate.connector.flux_events import FAILED_REASONS, parse_flux_event
from fluxgate.connector.kube import KubeReader, KubeReadError
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.reconcile_flux import status_context
from fluxgate.connector.reconcile_github import merge_fact_of
from fluxgate.connector.routing import Router
from fluxgate.connector.store import Source, Store
from fluxgate.errors import FluxgateError
from fluxgate.github import CombinedStatus, GitHubGateway

__all__ = ["Watchdog", "event_from_object", "events_from_statuses", "watched_objects"]

log = logging.getLogger(__name__)

REPORTER = "fluxgate-watchdog"
_READY_REASON = {"Kustomization": "ReconciliationSucceeded", "HelmRelease": "UpgradeSucceeded"}


def watched_objects(cluster: Cluster) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of what gates the cluster; `name` alone means `flux-system`."""
    objects = []
    for kind, names in (("Kustomization", cluster.kustomizations), ("HelmRelease", cluster.helm_releases)):
        for listed in names:
            namespace, _, name = listed.rpartition("/")
            objects.append((kind, namespace or "flux-system", name))
    return objects


def _event(
    kind: str,
    namespace: str,
    name: str,
    reason: str,
    message: str,
    revision: str | None,
    labels: dict[str, str],
    observed_at: datetime,
) -> dict[str, Any]:
    failed = reason in FAILED_REASONS or reason.endswith("Failed")
    return {
        "involvedObject": {"kind": kind, "namespace": namespace, "name": name},
        "severity": "error" if failed else "info",
        "timestamp": observed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "message": message,
        "reason": reason,
        "metadata": {**({"revision": revision} if revision else {}), **labels},
        "reportingController": REPORTER,
        "reportingInstance": REPORTER,
    }


def event_from_object(
    kind: str, obj: dict[str, Any], labels: dict[str, str], observed_at: datetime
) -> dict[str, Any] | None:
    """A Flux event saying what the object's `Ready` condition says, at the revision it concerns.

    Ready=True is reported at `lastAppliedRevision`; False and Unknown at `lastAttemptedRevision`
    (the revision Flux is working on or failed at). The observation time is the event's time: a
    condition's `lastTransitionTime` does not move when an already-ready object applies a new revision.
    """
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None:
        return None
    message = f"{ready.get('message') or ''} (read from the Kubernetes API by the fluxgate watchdog)"
    if ready.get("status") == "True":
        reason = ready.get("reason") or _READY_REASON.get(kind, "ReconciliationSucceeded")
        revision = status.get("lastAppliedRevision") or status.get("lastAttemptedRevision")
    elif ready.get("status") == "False":
        reason = ready.get("reason") or "ReconciliationFailed"
        revision = status.get("lastAttemptedRevision")
    else:
        reason, revision = "Progressing", status.get("lastAttemptedRevision")
    return _event(
        kind,
        str(meta.get("namespace") or "flux-system"),
        str(meta.get("name") or ""),
        reason,
        message.strip(),
        revision,
        labels,
        observed_at,
    )


def _context_matches(context: str, env: Environment, cluster: Cluster, kind: str, name: str) -> bool:
    if context == status_context(env.name, cluster.name):  # fluxgate's own: the cluster's verdict
        return True
    # Flux's github provider: `<kind>/<name>/<provider id>`, or whatever commitStatusExpr makes of it.
    parts = context.split("/")
    if parts[:2] != [kind.lower(), name]:
        return False
    return len(env.clusters) == 1 or (len(parts) > 2 and parts[-1] == cluster.name)


def events_from_statuses(
    combined: CombinedStatus, app: str, env: Environment, observed_at: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Per cluster, the events the commit statuses on the branch head stand for (none if silent)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for cluster in env.clusters:
        labels = {"app": app, "env": env.name, "cluster": cluster.name}
        for kind, namespace, name in watched_objects(cluster):
            status = next(
                (s for s in combined.statuses if _context_matches(s.context, env, cluster, kind, name)), None
            )
            if status is None:
                continue
            said = status.description.partition(":")[0].strip()
            if status.state == "success":
                reason = _READY_REASON[kind]
            elif status.state in ("failure", "error"):
                reason = said if said in FAILED_REASONS or said.endswith("Failed") else "ReconciliationFailed"
            else:
                reason = "Progressing"
            message = f"{status.description} (commit status {status.context!r}, read by fluxgate's watchdog)"
            found.setdefault(cluster.name, []).append(
                _event(kind, namespace, name, reason, message, f"sha1:{combined.sha}", labels, observed_at)
            )
    return found


class Watchdog:
    def __init__(
        self,
        store: Store,
        router: Router,
        github: Callable[[], GitHubGateway],
        metrics: Metrics,
        after: float,
        kube: KubeReader | None = None,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.router, self.github, self.metrics = store, router, github, metrics
        self.after, self.kube, self.wake, self.clock = after, kube, wake, clock
        self.facts = Facts(store)

    def due(self, run_id: str, key: str, paused_at: float) -> bool:
        """Paused longer than `after`, and not checked within the last `after` seconds."""
        now = self.clock()
        if now - paused_at < self.after:
            return False
        last = self.store.effect_done(keys.watchdog_look(run_id, key))
        if last is not None and now - float(last) < self.after:
            return False
        self.store.record_effect(keys.watchdog_look(run_id, key), str(now))
        return True

    def check_flux(self, app: str, env_name: str) -> list[str]:
        """Read every cluster of the environment; store what is seen as Flux events. One line per finding."""
        config = next((c for c in self.router.configs if c.app == app), None)
        env = self.router.environment(app, env_name)
        if config is None or env is None:
            return []
        observed_at = datetime.now(UTC)
        events: list[tuple[str, dict[str, Any]]] = []
        lines: list[str] = []
        unread: list[Cluster] = []
        for cluster in env.clusters:
            if self.kube is None or not self.kube.has(cluster.name):
                unread.append(cluster)
                continue
            labels = {"app": app, "env": env.name, "cluster": cluster.name}
            try:
                for kind, namespace, name in watched_objects(cluster):
                    obj = self.kube.read(cluster.name, kind, namespace, name)
                    event = event_from_object(kind, obj, labels, observed_at) if obj else None
                    if event is None:
                        where = f"{cluster.name}: {kind} {namespace}/{name}"
                        lines.append(f"watchdog: {where}: not found or no Ready condition")
                        continue
                    events.append(("kubernetes", event))
            except KubeReadError as error:
                lines.append(f"watchdog: {error}; asking GitHub instead")
                unread.append(cluster)
        if unread:
            branch = config.branch_of(env)
            self.metrics.github_calls.labels("combined_status").inc()
            try:
                combined = self.github().combined_status(config.manifests.repo, branch)
            except FluxgateError as error:
                lines.append(f"watchdog: {error}")
                combined = None
            if combined is not None:
                by_cluster = events_from_statuses(combined, app, env, observed_at)
                for cluster in unread:
                    events.extend(("github", e) for e in by_cluster.get(cluster.name, []))
        lines.extend(self._store_events(events))
        return lines

    def _store_events(self, events: list[tuple[str, dict[str, Any]]]) -> list[str]:
        lines = []
        for source, event in events:
            body = json.dumps(event).encode()
            parsed = parse_flux_event(body)
            if self.store.accept(Source.FLUX, parsed.fingerprint(), parsed.object.kind, body):
                self.metrics.watchdog.labels(source).inc()
                obj = parsed.object
                revision = parsed.revision.sha[:12] if parsed.revision else "no revision"
                lines.append(
                    f"watchdog: {parsed.cluster}: {obj.kind} {obj.namespace}/{obj.name} "
                    f"{parsed.reason} at {revision} (from {source})"
                )
        if lines:
            self.wake()
        return lines

    def check_merge(self, repo: str, number: int) -> list[str]:
        """A lost `pull_request` webhook: read the PR, keep its outcome as the webhook would have."""
        self.metrics.github_calls.labels("pull_request").inc()
        try:
            pr = self.github().pull_request(repo, number)
        except FluxgateError as error:
            return [f"watchdog: {error}"]
        fact = merge_fact_of(pr)
        if fact is None:
            return []
        self.metrics.watchdog.labels("github").inc()
        self.facts.keep_merge(repo, number, fact)
        return [f"watchdog: {repo}#{number} was {'merged' if pr.merged else 'closed unmerged'} (from github)"]
