"""Prometheus metrics of one connector process (its own registry, served at `/metrics`).

Label values come from closed sets (known kinds and outcomes, else `other`), so a hostile sender
cannot blow up the number of series; nothing secret is ever a label.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from fluxgate.connector.github_events import HANDLED_EVENTS

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Metrics", "bounded"]

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
