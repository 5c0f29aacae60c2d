"""One connector process: store, router, reconcilers, the inbox worker and the HTTP app, wired once.

`Connector(settings)` is what `fluxgate connector` serves and what tests start; `start()` begins
processing, `app` answers HTTP, `stop()` drains the worker. GitHub gateways are per worker thread
(PyGithub's session is not shared across threads).
"""

from __future__ import annotations

import threading

from starlette.applications import Starlette

from fluxgate.config import load_config
from fluxgate.connector.app import create_app
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.reconcile_flux import FluxReconciler
from fluxgate.connector.reconcile_github import GitHubReconciler
from fluxgate.connector.routing import Router
from fluxgate.connector.settings import ConnectorSettings
from fluxgate.connector.store import Delivery, Store, sqlite_url
from fluxgate.connector.worker import Worker
from fluxgate.errors import ConfigError
from fluxgate.github import GitHubGateway

__all__ = ["Connector"]


class Connector:
    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.router = Router([load_config(path) for path in settings.configs])
        self.store = Store(settings.database_url or sqlite_url(settings.data_dir), lease=settings.lease)
        self.metrics = Metrics()
        self._local = threading.local()
        self.flux = FluxReconciler(self.store, self.router, self._github, self.metrics)
        self.github_events = GitHubReconciler(self.store)
        self.worker = Worker(
            self.store,
            {"flux": self._flux, "github": self._github_event},
            self.metrics,
            threads=settings.workers,
            batch=settings.batch,
            max_attempts=settings.max_attempts,
            backoff=settings.backoff,
            poll_interval=settings.poll_interval,
        )
        self.app: Starlette = create_app(
            self.store,
            self.metrics,
            flux_key=settings.flux_hmac_key.get_secret_value() if settings.flux_hmac_key else None,
            webhook_secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            max_body=settings.max_body_bytes,
            wake=self.worker.wake,
        )

    def _github(self) -> GitHubGateway:
        if self.settings.github is None:
            raise ConfigError("no GitHub access configured: set FLUXGATE_GITHUB__TOKEN (or the App settings)")
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
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.store.close()
