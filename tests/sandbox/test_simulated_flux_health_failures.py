"""An image marked failing keeps its workloads from becoming ready where the mark applies: the
Kustomization fails its health check with Flux's message, is not counted as applied, tries again every
interval at the same revision, and recovers once a commit stops using the image."""

from __future__ import annotations

import re
from pathlib import Path

from fluxgate.connector.flux_events import classify, parse_flux_event
from fluxgate.connector.kube import KubeReader
from fluxgate.sandbox.github import RunningEmulator
from fluxgate.sandbox.kube import KubeApiEmulator
from tests.http_service import Service
from tests.sandbox.conftest import (
    DEV,
    HAPPY,
    STAGING,
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


def test_a_failing_image_fails_staging_but_not_dev(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    both = {**release("dev", WEB_2), **release("staging", WEB_2)}
    sha = commit(github, manifests_repo, both, "1.1.0 everywhere")
    flux = run_flux(DEV, STAGING, repeat_every=0.5, failing=[(WEB_2, "staging")])
    sent = wait_for(flux, lambda s: reasons(s, "staging-eu").count("HealthCheckFailed") >= 2
                    and "ReconciliationSucceeded" in reasons(s, "dev-eu"))  # fmt: skip

    assert flux.applied("dev-eu") == sha
    assert flux.applied("staging-eu") is None
    assert "HealthCheckFailed" not in reasons(sent, "dev-eu")
    failures = [e for e in sent if e.reason == "HealthCheckFailed"]
    assert all(e.cluster == "staging-eu" and e.severity == "error" and e.revision == sha for e in failures)
    assert re.fullmatch(
        r"health check failed after [0-9.]+m?s: timeout waiting for: "
        r"\[Deployment/shop-staging/web status: 'InProgress'\]",
        failures[0].message,
    ), failures[0].message
    # the first attempt applied the objects; the retry finds them unchanged and only checks health again
    staging = [e.reason for e in sent if e.cluster == "staging-eu"]
    assert staging[:3] == ["NewArtifact", "Progressing", "HealthCheckFailed"]
    assert staging[3] == "HealthCheckFailed"
    # the connector reads a failure of that Kustomization at that revision
    body = next(s.body for s in receiver.seen if "HealthCheckFailed" in s.body)
    event = parse_flux_event(body.encode())
    assert classify(event) == "failed" and event.env == "staging" and event.revision is not None
    assert event.revision.sha == sha and "commit_status" not in event.metadata


def test_a_release_without_the_failing_image_recovers(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    kube = KubeApiEmulator(token="kube-token-for-the-sandbox-tests")
    kube.start()
    reader = KubeReader(kube.kubeconfig(tmp_path / "kubeconfig", ["staging-eu"]))
    try:
        bad = commit(github, manifests_repo, release("staging", WEB_2), "1.1.0 -> staging")
        flux = run_flux(STAGING, kube=kube, failing=[("ghcr.io/acme/shop-web:1.1.0", None)])  # every env
        wait_for(flux, lambda s: "HealthCheckFailed" in reasons(s, "staging-eu"))
        failed = reader.read("staging-eu", "Kustomization", "flux-system", "shop")

        back = {"staging/shop-staging/deployment-web.yaml": deployment("shop-staging", WEB_1)}
        good = commit(github, manifests_repo, back, "roll back staging to 1.0.0")
        sent = wait_for(flux, ready_at(good, "staging-eu"))
        healed = reader.read("staging-eu", "Kustomization", "flux-system", "shop")
    finally:
        reader.close()
        kube.stop()

    assert failed is not None and healed is not None
    ready = failed["status"]["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "HealthCheckFailed")
    assert failed["status"]["lastAttemptedRevision"] == f"main@sha1:{bad}"
    assert "lastAppliedRevision" not in failed["status"]  # never applied healthy
    assert healed["status"]["conditions"][0]["status"] == "True"
    assert healed["status"]["lastAppliedRevision"] == f"main@sha1:{good}"
    recovered = [e for e in sent if e.revision == good]
    assert [e.reason for e in recovered] == HAPPY
    assert recovered[1].message.splitlines() == [
        "ConfigMap/shop-staging/web unchanged", "Service/shop-staging/web unchanged",
        "Deployment/shop-staging/web configured",
    ]  # fmt: skip
