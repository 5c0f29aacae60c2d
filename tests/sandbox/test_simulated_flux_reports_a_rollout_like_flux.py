"""A commit to the manifests branch reaches the connector as Flux would report it: the artifact, the
change set, the health check and the ready Kustomization, signed, in Flux's wire format, at the commit's
revision, labelled with env, cluster and app; the Kubernetes API says the same."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from fluxgate.config import load_config
from fluxgate.connector.flux_events import classify
from fluxgate.connector.kube import KubeReader
from fluxgate.connector.signatures import verify_flux_signature
from fluxgate.connector.watchdog import event_from_object
from fluxgate.sandbox.flux import FluxCluster, clusters_of
from fluxgate.sandbox.github import RunningEmulator
from fluxgate.sandbox.kube import KubeApiEmulator
from tests.http_service import Service
from tests.sandbox.conftest import (
    DEV,
    HAPPY,
    KEY,
    WEB_1,
    RunFlux,
    commit,
    header,
    reasons,
    received,
    release,
    wait_for,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "flux"


def test_a_commit_is_fetched_applied_checked_and_reported_ready(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    sha = commit(github, manifests_repo, release("dev", WEB_1), "shop@1.0.0 -> dev")
    flux = run_flux(DEV)
    sent = wait_for(flux, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))

    assert [e.reason for e in sent] == HAPPY
    assert all(e.revision == sha and e.delivered and (e.env, e.cluster) == ("dev", "dev-eu") for e in sent)
    artifact, changes, health, ready = sent
    assert (artifact.kind, artifact.name) == ("GitRepository", "flux-system")
    assert artifact.message == "stored artifact for commit 'shop@1.0.0 -> dev'"
    assert changes.message.splitlines() == [
        "ConfigMap/shop-dev/web created", "Service/shop-dev/web created", "Deployment/shop-dev/web created",
    ]  # fmt: skip
    assert re.fullmatch(r"Health check passed in [0-9.]+(ms|s)", health.message)
    assert re.fullmatch(r"Reconciliation finished in [0-9.]+(µs|ms|s), next run in 1m0s", ready.message)
    assert flux.applied("dev-eu") == sha

    # what the connector receives, read with the connector's own parser and verifier
    deliveries = received(receiver)
    assert [event.reason for _, _, event in deliveries] == HAPPY
    assert [classify(event) for _, _, event in deliveries] == ["progressing"] * 3 + ["ready"]
    for seen, body, event in deliveries:
        assert seen.method == "POST" and seen.path == "/flux/events"
        assert header(seen, "Content-Type") == "application/json"
        assert header(seen, "Gotk-Component") == event.controller
        assert re.fullmatch(r"sha256=[0-9a-f]{64}", header(seen, "X-Signature") or "")
        assert verify_flux_signature(body, header(seen, "X-Signature"), KEY)
        assert not verify_flux_signature(body, header(seen, "X-Signature"), "another-key")
        assert event.revision is not None and (event.revision.ref, event.revision.sha) == ("main", sha)
        assert (event.env, event.cluster, event.metadata["app"]) == ("dev", "dev-eu", "shop")
        assert event.timestamp is not None and abs(datetime.now(UTC) - event.timestamp).total_seconds() < 60
    controllers = [(event.object.kind, event.controller) for _, _, event in deliveries]
    kustomize = ("Kustomization", "kustomize-controller")
    assert controllers == [("GitRepository", "source-controller"), kustomize, kustomize, kustomize]
    assert deliveries[-1][2].metadata["commit_status"] == "update"
    assert len({event.object.uid for _, _, event in deliveries[1:]}) == 1  # one Kustomization, one uid


def test_bodies_have_the_shape_of_fluxs_own_events(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    """Same fields in the same order as the Flux 2.x vectors, timestamps in RFC 3339 UTC to the second."""
    commit(github, manifests_repo, release("dev", WEB_1), "dev")
    flux = run_flux(DEV)
    wait_for(flux, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))
    vectors = [json.loads(line) for line in (VECTORS / "10_constructed_flux2x_generic_view_happy_path.jsonl")
               .read_text().splitlines()]  # fmt: skip
    ours = [json.loads(body) for _, body, _ in received(receiver)]
    for mine, theirs in zip(ours, vectors, strict=False):
        assert list(mine) == list(theirs)
        assert list(mine["involvedObject"]) == list(theirs["involvedObject"])
        assert mine["involvedObject"]["apiVersion"] == theirs["involvedObject"]["apiVersion"]
        assert (mine["reason"], mine["severity"]) == (theirs["reason"], theirs["severity"])
        assert set(theirs["metadata"]) <= set(mine["metadata"])
        assert set(mine["metadata"]) - set(theirs["metadata"]) <= {"env", "cluster", "app", "digest"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mine["timestamp"])
        assert mine["reportingInstance"].startswith(mine["reportingController"] + "-")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ours[0]["metadata"]["digest"])


def test_the_kubernetes_api_shows_the_state_the_events_reported(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    kube = KubeApiEmulator(token="kube-token-for-the-sandbox-tests")
    kube.start()
    try:
        sha = commit(github, manifests_repo, release("dev", WEB_1), "dev")
        flux = run_flux(DEV, kube=kube)
        wait_for(flux, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))
        reader = KubeReader(kube.kubeconfig(tmp_path / "kubeconfig", ["dev-eu"]))
        obj = reader.read("dev-eu", "Kustomization", "flux-system", "shop")
        reader.close()
    finally:
        kube.stop()
    assert obj is not None
    status = obj["status"]
    assert status["lastAppliedRevision"] == status["lastAttemptedRevision"] == f"main@sha1:{sha}"
    labels = {"app": "shop", "env": "dev", "cluster": "dev-eu"}
    seen = event_from_object("Kustomization", obj, labels, datetime.now(UTC))
    assert seen is not None and seen["reason"] == "ReconciliationSucceeded"
    assert seen["metadata"]["revision"] == f"main@sha1:{sha}"


def test_every_cluster_of_the_config_gets_its_own_flux() -> None:
    config = load_config(VECTORS.parents[2] / "examples" / "shop" / "fluxgate.yaml")
    assert clusters_of(config) == [
        FluxCluster("shop", "dev", "dev-eu", "dev", ("shop",)),
        FluxCluster("shop", "staging", "staging-eu", "staging", ("shop",)),
        FluxCluster("shop", "prod", "prod-eu", "prod", ("shop",)),
        FluxCluster("shop", "prod", "prod-us", "prod", ("shop",)),
    ]
