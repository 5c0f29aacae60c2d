"""Prometheus metrics of one connector process (its own registry, served at `/metrics`).

Label values come from closed sets (known kinds and outcomes, else `other`), so a hostile sender
cannot blow up the number of series; nothing secret is ever a label.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from fluxgate.connector.github_events import HANDLED_EVENTS

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from fluxgate.connector.budget import WriteBudget
    from fluxgate.connector.store import Store

__all__ = ["Metrics", "OutboxCollector", "bounded"]

KNOWN_KINDS = {
    "Kustomization",
    "HelmRelease",
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "HelmChart",
    "HelmRepository",
    *HANDLED_EVENTS,
}


def bounded(value: str, known: AbstractSet[str]) -> str:
    return value if value in known else "other"


class Metrics:
    def __init__(self) -> None:
        # Imported here, not at module load: prometheus_client picks single- or multi-process storage
        # when first imported, and `fluxgate connector` sets PROMETHEUS_MULTIPROC_DIR just before this.
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        self.events = Counter(
            "fluxgate_connector_events_total",
            "Deliveries accepted",
            ["source", "kind", "reason"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "fluxgate_connector_duplicates_total",
            "Deliveries seen before",
            ["source"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "fluxgate_connector_rejected_total",
            "Deliveries refused (4xx)",
            ["source", "status"],
            registry=self.registry,
        )
        self.processed = Counter(
            "fluxgate_connector_processed_total",
            "Deliveries processed",
            ["source", "result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fluxgate_connector_processing_seconds",
            "Receipt to processed",
            ["source"],
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
        )
        self.retries = Counter(
            "fluxgate_connector_retries_total",
            "Processing attempts that will be retried",
            ["source"],
            registry=self.registry,
        )
        self.github_calls = Counter(
            "fluxgate_connector_github_calls_total",
            "GitHub calls made",
            ["operation"],
            registry=self.registry,
        )
        self.watchdog = Counter(
            "fluxgate_connector_watchdog_findings_total",
            "States the watchdog read itself because no event came",
            ["source"],
            registry=self.registry,
        )
        self.resumes = Counter(
            "fluxgate_connector_resumes_total", "Flow runs resumed", ["wait"], registry=self.registry
        )
        self.coalesced = Counter(
            "fluxgate_connector_github_writes_coalesced_total",
            "GitHub writes replaced by a newer state before they were sent",
            ["kind"],
            registry=self.registry,
        )
        self.budget_waits = Counter(
            "fluxgate_connector_github_budget_waits_total",
            "Writes put off because the write budget was spent for their rank",
            ["rank"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "fluxgate_connector_github_rate_limited_total",
            "Writes GitHub refused with a rate limit (every replica then pauses)",
            registry=self.registry,
        )
        self.write_retries = Counter(
            "fluxgate_connector_github_write_retries_total",
            "GitHub writes that will be tried again (GitHub unavailable, or an unexpected answer)",
            ["kind"],
            registry=self.registry,
        )
        self.writes_failed = Counter(
            "fluxgate_connector_github_writes_failed_total",
            "Writes given up: GitHub refused them for good",
            ["kind"],
            registry=self.registry,
        )


class OutboxCollector:
    """Backlog and budget, read from the store at each scrape (shared by every replica and process)."""

    def __init__(self, store: Store, budget: WriteBudget) -> None:
        self.store, self.budget = store, budget

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        counts = self.store.outbox_counts()
        backlog = GaugeMetricFamily(
            "fluxgate_connector_github_write_backlog",
            "GitHub writes waiting, by rank (0 verdicts, 1 progress, 2 wording)",
            labels=["rank"],
        )
        for rank in ("0", "1", "2"):
            backlog.add_metric([rank], counts.get(rank, 0))
        yield backlog
        failed = GaugeMetricFamily(
            "fluxgate_connector_github_writes_refused", "Writes GitHub refused for good, kept in the outbox"
        )
        failed.add_metric([], counts.get("failed", 0))
        yield failed
        left = GaugeMetricFamily(
            "fluxgate_connector_github_write_budget_remaining",
            "Writes the credential may still make in each window",
            labels=["window_seconds"],
        )
        for window, remaining in self.budget.remaining().items():
            left.add_metric([f"{window:g}"], remaining)
        yield left
