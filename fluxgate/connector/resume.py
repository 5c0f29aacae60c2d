"""Waking suspended stage runs: the facts the connector keeps, delivered to the Prefect run waiting on them.

A stage run suspends at a `PauseKey` (which `Wait`, which attempt) with `StageTags` that say what
it waits for (`fluxgate.stage.contract`). Each sweep lists PAUSED runs, asks the store whether the
awaited fact is known (a merged PR; every cluster ready at the commit or a later one; a final
failure; the workflow runs finished; the soak's time up), and resumes the run with that fact as the
wait's input model. Because a sweep looks at facts already stored, a merge or a rollout that finished
before the run suspended is delivered the moment the wait appears: no lost wakeup. Each (run, pause
key) is resumed once: the store records it, and Prefect itself refuses to resume a run that is no
longer paused.

Prefect is reached only through `fluxgate.prefect_api`; the open-source server has no inbound
webhooks and automations cannot pass input, so this is how a wait ends.
"""

from __future__ import annotations

import logging
import time

from fluxgate.connector import keys
from fluxgate.connector.automerge import AutoMerger
from fluxgate.connector.facts import Facts
from fluxgate.connector.flux_events import Outcome
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.reconcile_flux import FluxReconciler
from fluxgate.connector.routing import Route, Router
from fluxgate.connector.store import Store
from fluxgate.connector.watchdog import Watchdog
from fluxgate.errors import one_line
from fluxgate.prefect_api import PrefectApi, connect, emit_event
from fluxgate.stage import (
    CheckResult,
    FluxResult,
    PauseKey,
    RunState,
    SoakResult,
    StageRun,
    StageTags,
    VerifyResult,
    Wait,
    WaitInput,
)

__all__ = ["Resumer", "flux_result"]

log = logging.getLogger(__name__)


def flux_result(flux: FluxReconciler, route: Route, sha: str) -> FluxResult | None:
    """The `await-flux` answer once the environment is ready at `sha` (or later) or failed there."""
    reports = flux.store.objects_of(route.app, route.env)
    if flux.ready(route, sha):
        revisions = sorted({r.revision for r in reports if r.revision})
        return FluxResult(
            healthy=True,
            revision=revisions[-1] if len(revisions) == 1 else sha,
            clusters=sorted({r.cluster for r in reports}),
            message=f"{route.env} is ready",
        )
    failed = [
        r
        for r in reports
        if r.outcome == Outcome.FAILED and r.revision and flux.contains(route.repo, r.revision, sha)
    ]
    if failed:
        first = failed[0]
        return FluxResult(
            healthy=False,
            revision=first.revision,
            clusters=sorted({r.cluster for r in failed}),
            message=f"{first.cluster}: {first.reason}: {one_line(first.message)}",
        )
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
        self.facts = Facts(store)
        self.watchdog, self.automerger = watchdog, automerger
        self._reported: set[str] = set()  # problems already logged, so a stuck run is not logged every sweep

    def _route(self, tags: StageTags) -> Route | None:
        return self.router.env_route(tags.app, tags.env)

    def awaited(self, key: PauseKey, tags: StageTags) -> WaitInput | None:
        """The answer to this wait, when the fact it waits for is known."""
        overdue = tags.due is not None and time.time() >= tags.due
        if key.wait == Wait.MERGE:
            fact = self.facts.merge(tags.pr.repo, tags.pr.number) if tags.pr else None
            return fact.result if fact is not None else None
        if key.wait == Wait.VERIFY:
            return self._verified(tags, overdue)
        route = self._route(tags) if tags.sha else None
        if route is None or tags.sha is None:
            return None
        result = flux_result(self.flux, route, tags.sha)
        if key.wait == Wait.FLUX:
            if result is None and overdue:
                message = f"Flux did not report {route.env} ready at {tags.sha[:12]} in time"
                return FluxResult(healthy=False, revision=None, clusters=[], message=message)
            return result
        if result is not None and not result.healthy:  # soaking: a failure ends it now
            return SoakResult(healthy=False, message=result.message)
        if overdue:
            return SoakResult(healthy=True, message=f"{route.env} stayed healthy through the soak")
        return None

    def _verified(self, tags: StageTags, overdue: bool) -> VerifyResult | None:
        """Every verification workflow run finished (or the wait is over): one check result each."""
        checks = []
        for ref in tags.workflows:
            run = self.facts.workflow(ref.repo, ref.run_id)
            if run is None and not overdue:
                return None
            conclusion = (run.conclusion if run else None) or "did not finish in time"
            url = run.url if run else ""
            checks.append(
                CheckResult(
                    name=run.name if run else f"workflow run {ref.run_id}",
                    kind="workflow",
                    passed=conclusion == "success",
                    attempts=1,
                    detail=f"{conclusion}: {url}" if url else conclusion,
                )
            )
        return VerifyResult(checks=checks)

    def sweep(self) -> list[str]:
        """Resume every paused fluxgate run whose fact is known; returns what was done, one line each."""
        done: list[str] = []
        with connect(check=False) as api:
            for run in api.stage_runs(states=[RunState.PAUSED], limit=None):
                key, tags = run.waiting_at, run.stage
                if key is None or tags is None:
                    continue
                try:
                    done.extend(self._sweep_one(api, run, key, tags))
                except Exception as error:  # one run's trouble (a commit GitHub does not know) is its own
                    line = f"{run.name} ({key}): {one_line(error)}"
                    if line not in self._reported:
                        self._reported.add(line)
                        done.append(line)
        return done

    def _sweep_one(self, api: PrefectApi, run: StageRun, key: PauseKey, tags: StageTags) -> list[str]:
        """Resume one waiting run if its fact is known; else let the auto-merger or the watchdog look."""
        marker = keys.resumed(run.id, key)
        if self.store.effect_done(marker) is not None:
            return []
        answer = self.awaited(key, tags)
        if answer is None:
            return self._nudge(run, key, tags)
        status = api.resume(run.id, answer)
        if status != "ACCEPT":
            return [f"{run.name} ({key}): Prefect answered {status}"]
        self.store.record_effect(marker, answer.model_dump_json())
        self.metrics.resumes.labels(key.wait.value).inc()
        self._emit(run, key, answer, tags)
        return [f"resumed {run.name} ({key})"]

    def _nudge(self, run: StageRun, key: PauseKey, tags: StageTags) -> list[str]:
        """Nothing came yet: merge an auto-approved PR whose checks passed, or, once the wait is long,
        have the watchdog look (its findings count from the next sweep)."""
        if key.wait == Wait.MERGE and self.automerger and tags.automerge and tags.pr:
            merged = self.automerger.attempt(str(run.id), tags.pr, tags.automerge)
            if merged:
                return merged
        paused_at = run.state_since.timestamp() if run.state_since else 0.0
        if self.watchdog is None or not self.watchdog.due(str(run.id), str(key), paused_at):
            return []
        if key.wait == Wait.MERGE and tags.pr:
            return self.watchdog.check_merge(tags.pr.repo, tags.pr.number)
        if key.wait == Wait.FLUX and self._route(tags) is not None:
            return self.watchdog.check_flux(tags.app, tags.env)
        return []

    def _emit(self, run: StageRun, key: PauseKey, answer: WaitInput, tags: StageTags) -> None:
        """A Prefect event for the UI's feed, with the run as related resource (visibility only)."""
        healthy = getattr(answer, "healthy", getattr(answer, "merged", True))
        name = {
            Wait.MERGE: "fluxgate.github.pr.merged" if healthy else "fluxgate.github.pr.closed",
            Wait.FLUX: "fluxgate.flux.ready" if healthy else "fluxgate.flux.failed",
            Wait.VERIFY: "fluxgate.verify.finished",
            Wait.SOAK: "fluxgate.soak.ended" if healthy else "fluxgate.flux.failed",
        }[key.wait]
        payload = {k: v for k, v in answer.model_dump(mode="json").items() if not isinstance(v, dict)}
        try:
            emit_event(name, f"fluxgate.env.{tags.env}", run.id, payload)
        except Exception:  # events are for people watching; a failure here must not undo a resume
            log.warning("could not emit a Prefect event for run %s", run.id, exc_info=True)
