"""Manifests a cluster would refuse fail the Kustomization with Flux's reason before anything is
applied: malformed YAML does not build, an object the API server would reject fails its dry run, and a
missing folder is no artifact to apply. The connector reads each as a failure at that revision."""

from __future__ import annotations

import pytest

from fluxgate.connector.flux_events import classify
from fluxgate.sandbox.github import RunningEmulator
from tests.http_service import Service
from tests.sandbox.conftest import (
    DEV,
    WEB_1,
    RunFlux,
    commit,
    deployment,
    ready_at,
    reasons,
    received,
    release,
    wait_for,
)

BAD = {
    "malformed YAML": (
        {"dev/shop-dev/deployment-web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web\n"},
        "BuildFailed",
        "kustomize build failed: accumulating resources from 'dev/shop-dev/deployment-web.yaml': "
        "MalformedYAMLError: yaml: line 4: ",
    ),
    "an object without a name": (
        {"dev/shop-dev/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: shop-dev}\n"},
        "BuildFailed", "failed to decode Kubernetes apiVersion, kind and name from: ",
    ),
    "a schema violation": (
        {"dev/shop-dev/deployment-web.yaml": deployment("shop-dev", WEB_1, replicas='"two"')},
        "ValidationFailed", 'Deployment/shop-dev/web dry-run failed: Deployment.apps "web" is invalid: ',
    ),
    "no folder for the environment": (
        {"staging/shop-staging/deployment-web.yaml": deployment("shop-staging", WEB_1)},
        "ArtifactFailed", "kustomization path not found: ",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_revision_fails_with_fluxs_reason_and_applies_nothing(
    case: str, run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    files, reason, message = BAD[case]
    sha = commit(github, manifests_repo, files, case)
    flux = run_flux(DEV)
    sent = wait_for(flux, lambda s: reason in reasons(s, "dev-eu"))

    assert reasons(sent, "dev-eu") == ["NewArtifact", reason]  # no change set, no health check
    failure = sent[-1]
    assert failure.severity == "error" and failure.revision == sha
    assert failure.message.startswith(message), failure.message
    assert flux.applied("dev-eu") is None
    event = received(receiver)[-1][2]
    assert classify(event) == "failed" and event.reason == reason


def test_a_fix_after_a_bad_revision_creates_everything(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str
) -> None:
    """Nothing of the refused revision reached the cluster, so its fix creates every object."""
    invalid = deployment("shop-dev", WEB_1, replicas="x")
    broken = release("dev", WEB_1) | {"dev/shop-dev/deployment-web.yaml": invalid}
    commit(github, manifests_repo, broken, "broken")
    flux = run_flux(DEV)
    wait_for(flux, lambda s: "ValidationFailed" in reasons(s, "dev-eu"))
    fixed = commit(github, manifests_repo, release("dev", WEB_1), "fixed")
    sent = wait_for(flux, ready_at(fixed))
    changes = next(e for e in sent if e.revision == fixed and e.reason == "Progressing")
    assert all(line.endswith(" created") for line in changes.message.splitlines())
