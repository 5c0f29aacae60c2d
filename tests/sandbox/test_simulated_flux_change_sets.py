"""The change set of each revision is measured against what the cluster applied last: a changed object
is `configured`, an untouched one `unchanged`, one whose file is gone `deleted` (pruned); a commit that
changes nothing in the environment's folder applies nothing and only reports ready at the new revision."""

from __future__ import annotations

from fluxgate.connector.flux_events import change_set_summary
from fluxgate.sandbox.github import RunningEmulator
from tests.sandbox.conftest import (
    DEV,
    HAPPY,
    WEB_1,
    WEB_2,
    RunFlux,
    commit,
    deployment,
    ready_at,
    reasons,
    release,
    wait_for,
)


def test_a_second_commit_reports_configured_unchanged_and_deleted(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str
) -> None:
    first = commit(github, manifests_repo, release("dev", WEB_1), "1.0.0 -> dev")
    flux = run_flux(DEV)
    wait_for(flux, ready_at(first))

    changed = {"dev/shop-dev/deployment-web.yaml": deployment("shop-dev", WEB_2)}
    gone = ("dev/shop-dev/service-web.yaml",)
    second = commit(github, manifests_repo, changed, "1.1.0 -> dev", deletes=gone)
    sent = wait_for(flux, ready_at(second))

    later = [e for e in sent if e.revision == second]
    assert [e.reason for e in later] == HAPPY
    assert later[0].message == "stored artifact for commit '1.1.0 -> dev'"
    assert later[1].message.splitlines() == [
        "ConfigMap/shop-dev/web unchanged",
        "Deployment/shop-dev/web configured",
        "Service/shop-dev/web deleted",
    ]
    assert later[2].message.startswith("Health check passed in ")
    assert change_set_summary(later[1].message) == "1 configured, 1 deleted, 1 unchanged"


def test_a_commit_outside_the_folder_only_moves_the_revision(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str
) -> None:
    first = commit(github, manifests_repo, release("dev", WEB_1), "1.0.0 -> dev")
    flux = run_flux(DEV)
    wait_for(flux, ready_at(first))

    second = commit(github, manifests_repo, release("staging", WEB_1), "1.0.0 -> staging")
    sent = wait_for(flux, ready_at(second))

    # Flux applies the new revision, finds nothing changed, and says so only by being ready at it
    assert [e.reason for e in sent if e.revision == second] == ["NewArtifact", "ReconciliationSucceeded"]
    assert reasons(sent, "dev-eu").count("Progressing") == 2  # the first commit's change set and health
