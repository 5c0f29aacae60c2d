"""One commit status per cluster, `fluxgate/<env>/<cluster>`, sums up every Flux object of that
cluster at that commit: what a reviewer reads in the PR's checks, and what decides how urgently it
is sent when GitHub's write budget is short."""

from __future__ import annotations

import pytest

from fluxgate.connector.flux_events import Outcome
from fluxgate.connector.reconcile_flux import cluster_status, rank_of, status_context
from fluxgate.connector.store import ObjectState


def _report(name: str, outcome: Outcome, reason: str, message: str, kind: str = "Kustomization"
            ) -> ObjectState:  # fmt: skip
    return ObjectState("shop", "prod", "prod-eu", kind, "flux-system", name, "a" * 40, outcome, reason,
                       message, 1.0)  # fmt: skip


READY = ("ReconciliationSucceeded", "Applied revision: main@sha1:aaaa")


def test_the_context_names_the_environment_and_the_cluster() -> None:
    assert status_context("prod", "prod-eu") == "fluxgate/prod/prod-eu"


def test_one_object_is_described_in_its_own_words() -> None:
    assert cluster_status([_report("shop", Outcome.READY, *READY)]) == (
        "success",
        "Ready: Applied revision: main@sha1:aaaa",
    )
    progressing = _report("shop", Outcome.PROGRESSING, "Progressing", "Deployment/shop/web configured")
    assert cluster_status([progressing]) == ("pending", "Progressing: 1 configured")


def test_all_ready_names_them() -> None:
    reports = [_report(name, Outcome.READY, *READY) for name in ("web", "api", "infra")]
    assert cluster_status(reports) == (
        "success",
        "All 3 ready: Kustomization/api, Kustomization/infra, Kustomization/web",
    )


def test_one_still_applying_keeps_the_cluster_pending_and_says_how_far() -> None:
    reports = [
        _report("web", Outcome.READY, *READY),
        _report("api", Outcome.PROGRESSING, "Progressing", "Deployment/shop/api configured"),
        _report("db", Outcome.WAITING, "DependencyNotReady", "dependency 'flux-system/infra' is not ready"),
    ]
    said = "1 of 3 ready; Kustomization/api: Progressing: 1 configured"
    assert cluster_status(reports) == ("pending", said)


def test_one_failure_fails_the_cluster_and_is_named_first() -> None:
    reports = [
        _report("web", Outcome.READY, *READY),
        _report("api", Outcome.FAILED, "HealthCheckFailed", "Deployment/shop/api: timeout waiting"),
        _report("db", Outcome.PROGRESSING, "Progressing", "Deployment/shop/db configured"),
        _report("cache", Outcome.FAILED, "BuildFailed", "kustomize build failed", kind="HelmRelease"),
    ]
    state, description = cluster_status(reports)
    assert state == "failure"
    assert description == "2 of 4 failed; HelmRelease/cache: BuildFailed: kustomize build failed"


@pytest.mark.parametrize(
    ("state", "recorded", "rank"),
    [
        ("success", None, 0),  # a first verdict
        ("failure", "pending\n1 of 3 ready", 0),  # a new verdict
        ("pending", None, 1),  # first progress
        ("pending", "success\nAll 3 ready", 1),  # back to progress (a retry at the same commit)
        ("success", "success\nAll 2 ready", 2),  # the same verdict in new words
        ("pending", "pending\n1 of 3 ready", 2),
    ],
)
def test_a_new_verdict_outranks_progress_which_outranks_new_words(
    state: str, recorded: str | None, rank: int
) -> None:
    assert rank_of(state, recorded) == rank
