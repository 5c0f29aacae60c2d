"""What the watchdog reads (a Flux object's Ready condition, or commit statuses on the branch head)
becomes the Flux event that would have come, classified the way the connector classifies real ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fluxgate.config import Cluster, Environment
from fluxgate.connector.flux_events import classify, parse_flux_event
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.routing import Router
from fluxgate.connector.store import Store, sqlite_url
from fluxgate.connector.watchdog import Watchdog, event_from_object, events_from_statuses, watched_objects
from fluxgate.github import CombinedStatus, CommitStatus
from fluxgate.sandbox.kube import flux_object

SHA = "4c2f1e9b8a7d6c5b4a3928171615141312111009"
LATER = "9" * 40
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LABELS = {"app": "shop", "env": "prod", "cluster": "prod-eu"}


def _seen(event: dict[str, object] | None) -> tuple[str, str | None, str]:
    assert event is not None
    parsed = parse_flux_event(json.dumps(event).encode())
    assert parsed.env == "prod" and parsed.cluster in ("prod-eu", "prod-us")
    return classify(parsed), parsed.revision.sha if parsed.revision else None, parsed.reason


def test_a_ready_kustomization_reads_as_ready_at_the_revision_it_applied() -> None:
    obj = flux_object(
        "Kustomization", "flux-system", "shop", "True", "ReconciliationSucceeded",
        f"Applied revision: main@sha1:{LATER}", f"main@sha1:{LATER}", applied=f"main@sha1:{LATER}",
    )
    seen = _seen(event_from_object("Kustomization", obj, LABELS, NOW))
    assert seen == ("ready", LATER, "ReconciliationSucceeded")


def test_a_failed_health_check_reads_as_failed_at_the_revision_attempted() -> None:
    obj = flux_object(
        "Kustomization", "flux-system", "shop", "False", "HealthCheckFailed",
        "timeout waiting for: [Deployment/shop-prod/web status: 'InProgress']",
        f"main@sha1:{LATER}", applied=f"main@sha1:{SHA}",
    )
    event = event_from_object("Kustomization", obj, LABELS, NOW)
    assert _seen(event) == ("failed", LATER, "HealthCheckFailed")
    assert event is not None and event["severity"] == "error"
    assert "Deployment/shop-prod/web" in str(event["message"])


def test_an_object_still_working_reads_as_progressing_and_one_without_conditions_says_nothing() -> None:
    working = flux_object(
        "HelmRelease", "apps", "shop", "Unknown", "Progressing", "Running 'upgrade' action", f"sha1:{SHA}"
    )
    seen = _seen(event_from_object("HelmRelease", working, LABELS, NOW))
    assert seen == ("progressing", SHA, "Progressing")
    bare = {"kind": "Kustomization", "metadata": {"name": "shop", "namespace": "flux-system"}, "status": {}}
    assert event_from_object("Kustomization", bare, LABELS, NOW) is None


def test_watched_objects_default_to_the_flux_system_namespace() -> None:
    cluster = Cluster(name="prod-eu", kustomizations=["shop", "infra/ingress"], helm_releases=["apps/shop"])
    assert watched_objects(cluster) == [
        ("Kustomization", "flux-system", "shop"),
        ("Kustomization", "infra", "ingress"),
        ("HelmRelease", "apps", "shop"),
    ]


def _env(*clusters: str) -> Environment:
    return Environment.model_validate(
        {
            "name": "prod",
            "namespace": "shop-prod",
            "clusters": [{"name": c, "kustomizations": ["shop"]} for c in clusters],
            "config": {"path": "config/prod"},
        }
    )


def _combined(*statuses: tuple[str, str, str]) -> CombinedStatus:
    return CombinedStatus(
        sha=LATER,
        state="pending",
        statuses=[
            CommitStatus(context=c, state=s, description=d, updated_at="2026-11-26T11:59:00Z")  # type: ignore[arg-type]
            for c, s, d in statuses
        ],
    )


def test_commit_statuses_stand_for_the_clusters_they_name() -> None:
    combined = _combined(
        ("fluxgate/prod/prod-eu", "success", "Ready: Applied revision"),
        ("kustomization/shop/prod-us", "failure", "HealthCheckFailed: timeout waiting for web"),
        ("ci/build", "success", "not Flux"),
    )
    found = events_from_statuses(combined, "shop", _env("prod-eu", "prod-us"), NOW)
    assert [_seen(e) for e in found["prod-eu"]] == [("ready", LATER, "ReconciliationSucceeded")]
    assert [_seen(e) for e in found["prod-us"]] == [("failed", LATER, "HealthCheckFailed")]


def test_fluxs_own_status_without_a_cluster_name_counts_only_where_there_is_one_cluster() -> None:
    combined = _combined(("kustomization/shop/0c9c2e41", "success", "Reconciliation finished"))
    assert events_from_statuses(combined, "shop", _env("prod-eu", "prod-us"), NOW) == {}
    one = events_from_statuses(combined, "shop", _env("prod-eu"), NOW)
    assert [_seen(e) for e in one["prod-eu"]] == [("ready", LATER, "ReconciliationSucceeded")]


def test_the_watchdog_looks_after_the_interval_and_then_once_per_interval(tmp_path: Path) -> None:
    now = [1000.0]
    store = Store(sqlite_url(tmp_path))
    dog = Watchdog(
        store, Router([]), lambda: pytest.fail("no GitHub call"), Metrics(), after=60, clock=lambda: now[0]
    )
    assert not dog.due("run-1", "await-flux", paused_at=970)  # 30 s: events may still come
    now[0] = 1031
    assert dog.due("run-1", "await-flux", paused_at=970)
    assert not dog.due("run-1", "await-flux", paused_at=970)  # just looked
    now[0] = 1092
    assert dog.due("run-1", "await-flux", paused_at=970)
    assert dog.due("run-1", "await-flux-2", paused_at=970)  # a new wait is a new watch
    store.close()


def test_an_unreadable_kubeconfig_is_refused_at_start_naming_the_file(tmp_path: Path) -> None:
    from fluxgate.connector.kube import KubeReader
    from fluxgate.errors import SettingsError

    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\ncontexts: 7\n")
    with pytest.raises(SettingsError, match=f"^{broken}: not a usable kubeconfig"):
        KubeReader(broken)
    with pytest.raises(SettingsError, match="not a usable kubeconfig"):
        KubeReader(tmp_path / "missing")
