"""Waking suspended stage runs: the facts the connector keeps, delivered to the Prefect run waiting on them.

A stage run suspends with a pause key (`await-merge`, `await-flux`, `await-flux-2`, ...) and tags
that say what it waits for (`fluxgate.pr:<owner>/<repo>#<n>`, `fluxgate.env:<env>`,
`fluxgate.sha:<sha>`, `fluxgate.release:<app>@<version>`). Each sweep lists PAUSED runs, asks the
store whether the awaited fact is known (a merged PR; every cluster ready at the commit or a later
one; a final failure), and resumes the run with that fact as its RunInput. Because a sweep looks at
facts already stored, a merge or a rollout that finished before the run suspended is delivered the
moment the wait appears: no lost wakeup. Each (run, pause key) is resumed once: the store records it,
and Prefect itself refuses to resume a run that is no longer paused.

Prefect is reached only through its client (`PREFECT_API_URL`); the Open Source server has no
inbound webhooks and automations cannot pass input, so this is how a wait ends.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fluxgate.connector.automerge import AutoMerger
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.reconcile_flux import FluxReconciler
from fluxgate.connector.reconcile_github import merge_fact_key, workflow_fact_key
from fluxgate.connector.routing import Route, Router
from fluxgate.connector.store import Store
from fluxgate.connector.watchdog import Watchdog
from fluxgate.stage import CheckResult, workflow_runs_of

__all__ = ["Resumer", "flux_result", "tags_of"]

log = logging.getLogger(__name__)


def tags_of(tags: list[str]) -> dict[str, str]:
    """`fluxgate.<name>:<value>` tags as {name: value}."""
    found: dict[str, str] = {}
    for tag in tags:
        name, sep, value = tag.partition(":")
        if sep and name.startswith("fluxgate."):
            found[name.removeprefix("fluxgate.")] = value
    return found


def flux_result(flux: FluxReconciler, route: Route, sha: str) -> dict[str, Any] | None:
    """The `await-flux` RunInput once the environment is ready at `sha` (or later) or failed there."""
    reports = flux.store.objects_of(route.app, route.env)
    if flux.ready(route, sha):
        revisions = sorted({r.revision for r in reports if r.revision})
        return {
            "healthy": True,
            "revision": revisions[-1] if len(revisions) == 1 else sha,
            "clusters": sorted({r.cluster for r in reports}),
            "message": f"{route.env} is ready",
        }
    failed = [
        r
        for r in reports
        if r.outcome == "failed" and r.revision and flux._contains(route.repo, r.revision, sha)
    ]
    if failed:
        first = failed[0]
        return {
            "healthy": False,
            "revision": first.revision,
            "clusters": sorted({r.cluster for r in failed}),
            "message": f"{first.cluster}: {first.reason}: {(first.message.splitlines() or [''])[0]}",
        }
    return None


class Resumer:
    def __init__(
        self,
        store: Store,
        router: Router,
        flux: FluxReconciler,
        metrics: Metrics,
        watchdog: Watchdog | None = None,
        automerger: AutoMerger | None = None,
    ) -> None:
        self.store, self.router, self.flux, self.metrics = store, router, flux, metrics
        self.watchdog, self.automerger = watchdog, automerger
        self._reported: set[str] = set()  # problems already logged, so a stuck run is not logged every sweep

    def _route(self, tags: dict[str, str]) -> Route | None:
        app = tags.get("release", "").partition("@")[0]
        return self.router.env_route(app, tags["env"]) if app and "env" in tags else None

    def _watch(self, run_id: str, key: str, tags: dict[str, str], paused_at: float) -> list[str]:
        """Nothing came for too long: have the watchdog look (its findings count from the next sweep)."""
        if self.watchdog is None or not self.watchdog.due(run_id, key, paused_at):
            return []
        if key.startswith("await-merge") and "pr" in tags:
            repo, _, number = tags["pr"].rpartition("#")
            return self.watchdog.check_merge(repo, int(number)) if number.isdigit() else []
        route = self._route(tags)
        if key.startswith("await-flux") and route is not None:
            return self.watchdog.check_flux(route.app, route.env)
        return []

    def awaited(self, pause_key: str, tags: dict[str, str]) -> dict[str, Any] | None:
        """The RunInput for this wait, when the fact it waits for is known."""
        if pause_key.startswith("await-merge") and "pr" in tags:
            repo, _, number = tags["pr"].rpartition("#")
            fact = self.store.effect_done(merge_fact_key(repo, int(number))) if number.isdigit() else None
            if fact is None:
                return None
            kept = json.loads(fact)
            return {k: kept.get(k) for k in ("merged", "merge_sha", "merged_by", "pr_url")}
        due = tags.get("due", "")
        overdue = due.isdigit() and time.time() >= int(due)
        if pause_key.startswith("await-verify"):
            return self._verified(tags, overdue)
        route = self._route(tags) if "sha" in tags else None
        if route is None:
            return None
        result = flux_result(self.flux, route, tags["sha"])
        if pause_key.startswith("await-flux"):
            if result is None and overdue:
                return {
                    "healthy": False,
                    "revision": None,
                    "clusters": [],
                    "message": f"Flux did not report {route.env} ready at {tags['sha'][:12]} in time",
                }
            return result
        if pause_key.startswith("soak"):
            if result is not None and not result["healthy"]:
                return {"healthy": False, "message": result["message"]}
            if overdue:
                return {"healthy": True, "message": f"{route.env} stayed healthy through the soak"}
        return None

    def _verified(self, tags: dict[str, str], overdue: bool) -> dict[str, Any] | None:
        """Every verification workflow run finished (or the wait is over): one check result each."""
        checks = []
        for repo, run_id in workflow_runs_of(tags.get("workflows", "")):
            kept = self.store.effect_done(workflow_fact_key(repo, run_id))
            if kept is None and not overdue:
                return None
            missing = {"name": f"workflow run {run_id}", "conclusion": None, "url": ""}
            run = json.loads(kept) if kept else missing
            conclusion = run["conclusion"] or "did not finish in time"
            checks.append(
                CheckResult(
                    name=str(run["name"]), kind="workflow", passed=conclusion == "success", attempts=1,
                    detail=f"{conclusion}: {run['url']}" if run["url"] else conclusion,
                ).model_dump()
            )
        return {"checks": checks}

    def sweep(self) -> list[str]:
        """Resume every paused fluxgate run whose fact is known; returns what was done, one line each."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
        from prefect.client.schemas.objects import StateType

        done: list[str] = []
        with get_client(sync_client=True) as client:
            paused_only = FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            )
            paused: list[Any] = []
            while True:  # every waiting run, a page at a time (hundreds may wait at once)
                page = client.read_flow_runs(flow_run_filter=paused_only, limit=200, offset=len(paused))
                paused.extend(page)
                if len(page) < 200:
                    break
            for run in paused:
                tags = tags_of(list(run.tags))
                key = run.state.state_details.pause_key if run.state else None
                if not tags or not key:
                    continue
                try:
                    done.extend(self._sweep_one(client, run, key, tags))
                except Exception as error:  # one run's trouble (a commit GitHub does not know) is its own
                    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                    line = f"{run.name} ({key}): {reason}"
                    if line not in self._reported:
                        self._reported.add(line)
                        done.append(line)
        return done

    def _sweep_one(self, client: Any, run: Any, key: str, tags: dict[str, str]) -> list[str]:
        """Resume one waiting run if its fact is known; else let the watchdog look when it is due."""
        marker = f"resumed:{run.id}:{key}"
        if self.store.effect_done(marker) is not None:
            return []
        run_input = self.awaited(key, tags)
        if run_input is None:
            paused_at = run.state.timestamp.timestamp() if run.state else 0.0
            merged: list[str] = []
            if key.startswith("await-merge") and self.automerger and "automerge" in tags and "pr" in tags:
                merged = self.automerger.attempt(str(run.id), tags["pr"], tags["automerge"])
            return merged or self._watch(str(run.id), key, tags, paused_at)
        result = client.resume_flow_run(run.id, run_input=run_input)
        status = str(getattr(result.status, "value", result.status))
        if status != "ACCEPT":
            return [f"{run.name} ({key}): Prefect answered {status}"]
        self.store.record_effect(marker, json.dumps(run_input))
        self.metrics.resumes.labels(key.rstrip("-0123456789")).inc()
        self._emit(run.id, key, run_input, tags)
        return [f"resumed {run.name} ({key})"]

    def _emit(self, run_id: Any, key: str, run_input: dict[str, Any], tags: dict[str, str]) -> None:
        """A Prefect event for the UI's feed, with the run as related resource (visibility only)."""
        try:
            from prefect.events import emit_event

            if key.startswith("await-merge"):
                name = "fluxgate.github.pr.merged" if run_input.get("merged") else "fluxgate.github.pr.closed"
            elif key.startswith("await-verify"):
                name = "fluxgate.verify.finished"
            elif key.startswith("soak"):
                name = "fluxgate.soak.ended" if run_input.get("healthy") else "fluxgate.flux.failed"
            else:
                name = "fluxgate.flux.ready" if run_input.get("healthy") else "fluxgate.flux.failed"
            emit_event(
                event=name,
                resource={"prefect.resource.id": f"fluxgate.env.{tags.get('env', 'unknown')}"},
                related=[
                    {"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "flow-run"}
                ],
                payload={k: v for k, v in run_input.items() if isinstance(v, str | bool | list | None)},
            )
        except Exception:  # events are for people watching; a failure here must not undo a resume
            log.warning("could not emit a Prefect event for run %s", run_id, exc_info=True)
