"""One connector process: store, router, reconcilers, the inbox worker and the HTTP app, wired once.

`Connector(settings)` is what `fluxgate connector` serves and what tests start; `start()` begins
processing, `app` answers HTTP, `stop()` drains the worker. GitHub gateways are per worker thread
(PyGithub's session is not shared across threads).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import uuid
from typing import Any

from starlette.applications import Starlette

from fluxgate.config import load_config
from fluxgate.connector.app import create_app
from fluxgate.connector.automerge import AutoMerger
from fluxgate.connector.budget import WriteBudget, credential_id
from fluxgate.connector.effects import Effects
from fluxgate.connector.kube import KubeReader
from fluxgate.connector.metrics import Metrics, OutboxCollector
from fluxgate.connector.outbox import Outbox
from fluxgate.connector.readiness import Check, GitHubAccess, prefect_reachable
from fluxgate.connector.reconcile_flux import FluxReconciler
from fluxgate.connector.reconcile_github import GitHubReconciler
from fluxgate.connector.resume import Resumer
from fluxgate.connector.routing import Router
from fluxgate.connector.settings import ConnectorSettings
from fluxgate.connector.store import Delivery, Source, Store, describe_store, sqlite_url
from fluxgate.connector.supervisor import Supervisor
from fluxgate.connector.triggers import StageStarter
from fluxgate.connector.watchdog import Watchdog
from fluxgate.connector.worker import Worker
from fluxgate.errors import SettingsError, one_line
from fluxgate.github import GitHubGateway

__all__ = ["Connector", "Processing", "describe", "run_processing"]

log = logging.getLogger(__name__)

REPORTS_KEPT = 7 * 24 * 3600.0  # seconds a commit's per-object reports are kept after the last one


def budget_credential(settings: ConnectorSettings) -> str:
    """Whose write budget this is: the GitHub credential's id (or a placeholder without access)."""
    return credential_id(settings.github) if settings.github is not None else "none"


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the HTTP process dies, even by `kill -9`, so no orphan keeps working."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processing:
    """The inbox worker and what it needs: runs in the HTTP process (tests) or in its own (`serve`)."""

    def __init__(self, settings: ConnectorSettings, metrics: Metrics, worker_id: str | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.router = Router([load_config(path) for path in settings.configs])
        self.store = Store(
            settings.database_url or sqlite_url(settings.data_dir), lease=settings.lease, worker_id=worker_id
        )
        self.metrics = metrics
        self._local = threading.local()
        self.effects = Effects(self.store, lease=settings.lease)
        self.budget = WriteBudget(self.store, budget_credential(settings), settings.github_write_limits)
        self.outbox = Outbox(
            self.store,
            self.budget,
            self.metrics,
            threads=settings.writers,
            settle=settings.write_settle,
            max_hold=settings.write_max_hold,
            lease=settings.lease,
            max_attempts=settings.max_attempts,
        )
        self.flux = FluxReconciler(
            self.store, self.router, self._github, self.metrics, self.effects, self.outbox
        )
        self.github_events = GitHubReconciler(
            self.store,
            self._github if settings.github is not None else None,
            self.router.configs,
            StageStarter() if os.environ.get("PREFECT_API_URL") else None,
        )
        self._sweeping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._beating: threading.Thread | None = None
        self.worker = Worker(
            self.store,
            {Source.FLUX: self._flux, Source.GITHUB: self._github_event},
            self.metrics,
            threads=settings.workers,
            batch=settings.batch,
            max_attempts=settings.max_attempts,
            backoff=settings.backoff,
            poll_interval=settings.poll_interval,
        )
        self.kube = KubeReader(settings.kubeconfig) if settings.kubeconfig else None
        self.watchdog = Watchdog(
            self.store,
            self.router,
            self._github,
            self.metrics,
            after=settings.watchdog_after,
            kube=self.kube,
            wake=self.worker.wake,
        )
        automerger = (
            AutoMerger(self.store, self._github, self.metrics, spend=lambda: self.budget.spend(0))
            if settings.github
            else None
        )
        self.resumer = Resumer(self.store, self.router, self.flux, self.metrics, self.watchdog, automerger)

    def _github(self) -> GitHubGateway:
        if self.settings.github is None:
            raise SettingsError(
                "no GitHub access configured: set FLUXGATE_GITHUB__TOKEN (or the App settings)"
            )
        gateway: GitHubGateway | None = getattr(self._local, "gateway", None)
        if gateway is None:
            gateway = GitHubGateway(self.settings.github, cache=self.settings.data_dir / "git")
            self._local.gateway = gateway
        return gateway

    def _flux(self, delivery: Delivery) -> str:
        return self.flux.handle(delivery.body)

    def _github_event(self, delivery: Delivery) -> str:
        return self.github_events.handle(delivery.kind, delivery.body)

    def start(self) -> None:
        self.store.release_claims()
        self._beat()
        self._beating = threading.Thread(target=self._beat_loop, name="connector-heartbeat", daemon=True)
        self._beating.start()
        self.worker.start()
        self.outbox.start()
        if os.environ.get("PREFECT_API_URL"):
            self._sweeper = threading.Thread(target=self._sweep_loop, name="connector-resume", daemon=True)
            self._sweeper.start()

    def _beat(self) -> None:
        """Say this replica is alive, and hand back the claims of replicas that stopped saying so."""
        self.store.beat()
        self.store.prune_reports(REPORTS_KEPT)
        dead = self.store.release_orphans(self.settings.orphan_after)
        if dead:
            log.warning("replica(s) %s silent for %.0f s: their claims are released", ", ".join(dead),
                        self.settings.orphan_after)  # fmt: skip
            self.worker.wake()

    def _beat_loop(self) -> None:
        while not self._sweeping.wait(self.settings.heartbeat):
            try:
                self._beat()
            except Exception as exc:  # the store briefly away: beat again next round, never die
                log.warning("heartbeat failed: %s", one_line(exc))

    def _sweep_loop(self) -> None:
        while not self._sweeping.wait(self.settings.resume_interval):
            try:
                for line in self.resumer.sweep():
                    log.info("%s", line)
            except Exception as exc:  # Prefect down: try again next round, never die
                log.warning("resume sweep failed: %s", one_line(exc))

    def stop(self) -> None:
        self._sweeping.set()
        self.worker.stop()
        self.outbox.stop()
        if self._sweeper is not None:  # a sweep in progress ends within its Prefect and GitHub timeouts
            self._sweeper.join(timeout=30)
        if self._beating is not None:
            self._beating.join(timeout=10)
        if self.kube is not None:
            self.kube.close()
        self.store.close()


def run_processing(settings: ConnectorSettings, worker_id: str, ready: Any = None) -> None:
    """Entry point of the processing process: process until SIGTERM. `worker_id` is its parent's, so a
    process restarted after a crash takes back what the dead one had claimed; `ready` is set once the
    inbox is being worked."""
    _die_with_parent()
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    # Blocked before any thread starts, so only `sigwait` below receives them: no handler can run
    # in the middle of a lock the main thread holds.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    processing = Processing(settings, Metrics(), worker_id=worker_id)
    processing.start()
    if ready is not None:
        ready.set()
    # Processing is background work: when CPU is short, acknowledging deliveries (whose senders wait
    # on the answer) goes first; the backlog drains as soon as the load eases. Only once started:
    # a niced start-up on a busy machine took tens of seconds.
    with contextlib.suppress(OSError):
        os.nice(10)
    signal.sigwait(stop_signals)
    processing.worker.stop(grace=5.0)
    processing.outbox.stop(grace=5.0)
    processing.store.close()
    # Deliveries still in flight stay claimed in the store and are taken up again at the next start
    # (as after a crash); waiting for their GitHub retries would hold a shutdown for minutes.
    os._exit(0)


def describe(settings: ConnectorSettings, router: Router) -> str:
    """The one start-up line: what is served, where it is kept, how it is checked and who it acts as.
    Never a secret: the store shows its host and database, not its URL."""
    apps = ", ".join(f"{c.app} ({path})" for c, path in zip(router.configs, settings.configs, strict=False))
    store = describe_store(settings.database_url or sqlite_url(settings.data_dir))
    signatures = "OFF (--insecure: unsigned deliveries are accepted)" if settings.missing_keys() else "on"
    github = settings.github
    budget = ", ".join(f"{n}/{w:g}s" for n, w in settings.github_write_limits)
    access = f"{github.api_url} as {github.identity}, writes <= {budget}" if github else "not configured"
    return (
        f"fluxgate connector: apps {apps or 'none'}; store {store}; signatures {signatures}; GitHub {access}"
    )


class Connector:
    """The HTTP intake plus processing, in this process (`separate_process=False`) or in a supervised
    child. Refuses to start without the signature keys unless `settings.insecure`."""

    def __init__(self, settings: ConnectorSettings, separate_process: bool = False) -> None:
        settings.check_keys()
        missing = settings.missing_keys()
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.router = Router([load_config(path) for path in settings.configs])  # bad config: fail here, now
        self.metrics = Metrics()
        self.worker_id = uuid.uuid4().hex[:12]
        self.store = Store(
            settings.database_url or sqlite_url(settings.data_dir),
            lease=settings.lease,
            eager=separate_process,
        )
        self.processing = None if separate_process else Processing(settings, self.metrics, self.worker_id)
        self.supervisor = Supervisor(settings, self.worker_id) if separate_process else None
        self._stopped = False
        checks: list[Check] = [GitHubAccess(settings)]
        if self.supervisor is not None:
            checks.append(self.supervisor.check)
        if os.environ.get("PREFECT_API_URL"):
            checks.append(prefect_reachable)
        self.app: Starlette = create_app(
            self.store,
            self.metrics,
            flux_key=settings.flux_hmac_key.get_secret_value() if settings.flux_hmac_key else None,
            webhook_secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            max_body=settings.max_body_bytes,
            wake=self.processing.worker.wake if self.processing else None,
            on_start=self.start,
            on_stop=self.stop,
            ready_checks=tuple(checks),
            insecure=bool(missing),
            collectors=(
                OutboxCollector(
                    self.store,
                    WriteBudget(self.store, budget_credential(settings), settings.github_write_limits),
                ),
            ),
        )

    def describe(self) -> str:
        return describe(self.settings, self.router)

    def start(self) -> None:
        if self.settings.missing_keys():
            log.warning(
                "INSECURE: %s not set; unsigned Flux events and GitHub webhooks are accepted",
                " and ".join(self.settings.missing_keys()),
            )
        if self.processing is not None:
            self.processing.start()
        elif self.supervisor is not None:
            self.supervisor.start()
            # Serve once processing runs too: what is acknowledged then is also worked at once (a
            # readiness probe would hold traffic back until then anyway). A processing process slow
            # to come does not keep deliveries out for long: after `start_wait`, serve regardless.
            wait = self.settings.start_wait
            if not self.supervisor.wait_ready(wait):
                log.warning("processing is not running %.0f s after start; serving anyway", wait)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.processing is not None:
            self.processing.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
        self.store.close()
