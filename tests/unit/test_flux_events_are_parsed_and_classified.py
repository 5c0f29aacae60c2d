"""Flux notification events, as the notification-controller sends them, become typed events with an outcome.

The vectors in `tests/vectors/flux/` (a copy of the shared Flux vectors: verbatim captures and bodies
constructed from the controllers' source) are the reference. Every one of them must parse, and each
has the outcome and revision written below.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fluxgate.connector.flux_events import (
    FAILED_REASONS,
    MAX_MESSAGE,
    MAX_METADATA_KEYS,
    READY_REASONS,
    EventRejected,
    FluxEvent,
    Revision,
    change_set_summary,
    classify,
    parse_flux_event,
    parse_revision,
)
from fluxgate.errors import PermanentError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "flux"
SHA = "40d6b21b888db0ca794876cf7bdd399e3da2137e"
HAPPY = "10_constructed_flux2x_generic_view_happy_path"
WIRE = "12_constructed_flux2x_controller_wire_format"


def vector_bodies() -> list[tuple[str, str]]:
    """(id, raw body) for every event in the vector folder: one per .json file, one per .jsonl line."""
    if not VECTORS.is_dir():
        pytest.fail(f"{VECTORS} is missing: the shared Flux vectors are the reference for these tests")
    bodies: list[tuple[str, str]] = []
    for path in sorted(VECTORS.iterdir()):
        if path.suffix == ".jsonl":
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            bodies += [(f"{path.stem}:{n}", line) for n, line in enumerate(lines, 1)]
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
            # the signature vector carries its event as the signed raw body
            bodies.append((path.stem, data["body"] if "x_signature" in data else path.read_text()))
    return bodies


# id -> (kind, reason, outcome, revision ref, revision sha)
EXPECTED: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "01_docs_generic_webhook_validationfailed":
        ("Kustomization", "ValidationFailed", "failed", "main", "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"),
    "03_notification_sink_kustomization_progressing_v1beta2_2022":
        ("Kustomization", "Progressing", "progressing", "master", "71ea786475aba31c801435d840819f14a2cc0ef2"),
    "04_notification_sink_gitrepository_newartifact_v1beta2_2022":
        ("GitRepository", "NewArtifact", "progressing", "master", "71ea786475aba31c801435d840819f14a2cc0ef2"),
    "05_issue38_kustomization_reconciliation_succeeded_commit_status_2022":
        ("Kustomization", "ReconciliationSucceeded", "ready", "lab-talent-aks",
         "efbe4dd15f723a82e90a122a508f092e7320d6af"),
    f"{HAPPY}:1": ("GitRepository", "NewArtifact", "progressing", "main", SHA),
    f"{HAPPY}:2": ("Kustomization", "Progressing", "progressing", "main", SHA),
    f"{HAPPY}:3": ("Kustomization", "Progressing", "progressing", "main", SHA),
    f"{HAPPY}:4": ("Kustomization", "ReconciliationSucceeded", "ready", "main", SHA),
    f"{HAPPY}:5": ("Kustomization", "ReconciliationSucceeded", "ready", "main", SHA),
    f"{WIRE}:1": ("GitRepository", "NewArtifact", "progressing", "main", SHA),
    f"{WIRE}:2": ("Kustomization", "ReconciliationSucceeded", "ready", "main", SHA),
    "30_generic_hmac_signature_vector":
        ("Kustomization", "ReconciliationSucceeded", "ready", "lab-talent-aks",
         "efbe4dd15f723a82e90a122a508f092e7320d6af"),
}
BODIES = vector_bodies()


def by_id(vector_id: str) -> str:
    return dict(BODIES)[vector_id]


def test_every_vector_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(i for i, _ in BODIES)


@pytest.mark.parametrize(("vector_id", "body"), BODIES, ids=[i for i, _ in BODIES])
def test_every_vector_parses_with_its_outcome_and_revision(vector_id: str, body: str) -> None:
    kind, reason, outcome, ref, sha = EXPECTED[vector_id]
    event = parse_flux_event(body.encode())
    assert (event.object.kind, event.reason, classify(event)) == (kind, reason, outcome)
    assert event.revision == (Revision(ref=ref, sha=sha) if sha else None)
    assert event.timestamp is not None and event.timestamp.tzinfo is not None
    assert event.controller and event.controller.endswith("-controller")
    assert not any("/" in key for key in event.metadata)
    assert parse_flux_event(body) == event == parse_flux_event(json.loads(body))


def test_the_vector_fields_land_where_the_connector_reads_them() -> None:
    event = parse_flux_event(by_id("01_docs_generic_webhook_validationfailed"))
    assert event.object.model_dump() == {
        "kind": "Kustomization", "namespace": "apps", "name": "webapp",
        "api_version": "kustomize.toolkit.fluxcd.io/v1", "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
    }
    assert event.severity == "error"
    assert event.message == "service/apps/webapp validation error: spec.type: Unsupported value: Ingress"
    assert event.timestamp == datetime(2022, 10, 28, 7, 26, 19, tzinfo=UTC)
    assert event.metadata == {"revision": "main/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"}
    assert event.controller == "kustomize-controller"


@pytest.mark.parametrize(("generic", "controller"), [
    (f"{HAPPY}:4", f"{WIRE}:2"),
    (f"{HAPPY}:1", f"{WIRE}:1"),
])
def test_controller_prefixed_and_plain_metadata_keys_give_one_event(generic: str, controller: str) -> None:
    plain, prefixed = parse_flux_event(by_id(generic)), parse_flux_event(by_id(controller))
    assert prefixed.fingerprint() == plain.fingerprint()
    assert prefixed.revision == plain.revision
    assert classify(prefixed) == classify(plain)
    assert {k: v for k, v in prefixed.metadata.items() if k != "digest"} == plain.metadata


@pytest.mark.parametrize("vector_id", [i for i, _ in BODIES])
def test_prefixing_any_vectors_metadata_changes_nothing(vector_id: str) -> None:
    data = json.loads(by_id(vector_id))
    kind = data["involvedObject"]["kind"]
    group = {"Kustomization": "kustomize", "HelmRelease": "helm"}.get(kind, "source")
    prefixed = copy.deepcopy(data)
    prefixed["metadata"] = {
        f"{group}.toolkit.fluxcd.io/{key.split('/')[-1]}": value for key, value in data["metadata"].items()
    }
    assert parse_flux_event(prefixed) == parse_flux_event(data)


def event_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(by_id(f"{HAPPY}:4"))
    body.update(changes)
    return body


def test_the_plain_key_wins_when_both_forms_arrive() -> None:
    other = "b" * 40
    event = parse_flux_event(event_body(metadata={
        "kustomize.toolkit.fluxcd.io/revision": f"main@sha1:{other}", "revision": f"main@sha1:{SHA}",
    }))
    assert event.revision == Revision(ref="main", sha=SHA)


def test_alert_event_metadata_labels_env_and_cluster() -> None:
    labelled = {"revision": f"main@sha1:{SHA}", "env": "dev", "cluster": "eu-1"}
    event = parse_flux_event(event_body(metadata=labelled))
    assert (event.env, event.cluster) == ("dev", "eu-1")
    assert parse_flux_event(event_body(metadata={"environment": "prod"})).env == "prod"
    bare = parse_flux_event(event_body(metadata={}))
    assert (bare.env, bare.cluster) == (None, None)


def test_metadata_may_be_absent_or_null() -> None:
    body = event_body()
    del body["metadata"]
    for event in (parse_flux_event(body), parse_flux_event(event_body(metadata=None))):
        assert event.metadata == {}
        assert event.revision is None
        assert classify(event) == "ready"


def test_a_helm_chart_version_is_kept_but_is_no_revision() -> None:
    event = parse_flux_event(event_body(
        involvedObject={"kind": "HelmRelease", "namespace": "apps", "name": "podinfo"},
        reason="UpgradeSucceeded", metadata={"helm.toolkit.fluxcd.io/revision": "6.0.0", "token": "abc"},
    ))
    assert event.revision is None
    assert event.metadata == {"revision": "6.0.0", "token": "abc"}
    assert classify(event) == "ready"


def test_metadata_values_become_strings() -> None:
    values = {"n": 3, "ok": True, "none": None, "obj": {"b": 1, "a": [2]}}
    event = parse_flux_event(event_body(metadata=values))
    assert event.metadata == {"n": "3", "ok": "true", "none": "null", "obj": '{"a":[2],"b":1}'}


def test_long_messages_and_many_metadata_keys_are_cut_to_the_limits() -> None:
    many = {f"k{i:03}": "v" for i in range(200)} | {"revision": f"main@sha1:{SHA}"}
    event = parse_flux_event(event_body(message="x" * 10_000, metadata=many))
    assert len(event.message) == MAX_MESSAGE and event.message.endswith("…")
    assert len(event.metadata) == MAX_METADATA_KEYS
    assert event.revision == Revision(ref="main", sha=SHA)


def test_unknown_fields_are_ignored() -> None:
    event = parse_flux_event(event_body(newField={"x": 1}, involvedObject={
        "kind": "Kustomization", "namespace": "flux-system", "name": "podinfo-dev", "fieldPath": "spec",
    }))
    assert event.object.name == "podinfo-dev" and event.object.uid is None


@pytest.mark.parametrize(("timestamp", "expected"), [
    ("2025-06-01T10:00:20Z", datetime(2025, 6, 1, 10, 0, 20, tzinfo=UTC)),
    ("2025-06-01T10:00:20.123456789Z", datetime(2025, 6, 1, 10, 0, 20, 123456, tzinfo=UTC)),
    ("2025-06-01T10:00:20", datetime(2025, 6, 1, 10, 0, 20, tzinfo=UTC)),
    (None, None),
])
def test_timestamps_always_carry_a_zone(timestamp: str | None, expected: datetime | None) -> None:
    assert parse_flux_event(event_body(timestamp=timestamp)).timestamp == expected


def test_fingerprints_drop_redeliveries_but_keep_periodic_repeats() -> None:
    first = by_id(f"{HAPPY}:4")
    again = parse_flux_event(first.encode()).fingerprint()
    assert parse_flux_event(first).fingerprint() == again
    assert len(again) == 64 and int(again, 16) >= 0
    repeat = parse_flux_event(by_id(f"{HAPPY}:5")).fingerprint()
    assert repeat != again
    assert parse_flux_event(event_body(message="other")).fingerprint() != again


BAD_BODIES = [
    (b"not json", "body: not JSON"),
    (b"\xff\xfe", "body: not UTF-8"),
    (b"[1, 2]", "body: expected a JSON object, got a list"),
    (b'"event"', "body: expected a JSON object, got a string"),
    (b"{}", "involvedObject: missing"),
    ({"involvedObject": "Kustomization"}, "involvedObject: expected an object"),
]


def without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


@pytest.mark.parametrize(("body", "message"), [
    *BAD_BODIES,
    (without(event_body(), "involvedObject", "kind"), "involvedObject.kind: missing"),
    (without(event_body(), "reason"), "reason: missing"),
    (event_body(severity=3), "severity: expected a string"),
    (event_body(message=["a"]), "message: expected a string"),
    (event_body(involvedObject={"kind": "Kustomization", "namespace": "a", "name": 7}),
     "involvedObject.name: expected a string"),
    (event_body(involvedObject={"kind": "", "namespace": "a", "name": "b"}), "involvedObject.kind: empty"),
    (event_body(metadata=["revision"]), "metadata: expected an object"),
    (event_body(timestamp="yesterday"), "timestamp: expected an RFC 3339 time"),
    (event_body(timestamp=1717236000), "timestamp: expected a string"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_bodies_that_are_no_flux_event_are_rejected_naming_the_field(body: Any, message: str) -> None:
    with pytest.raises(EventRejected) as caught:
        parse_flux_event(body)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, PermanentError)


def test_several_problems_are_all_listed() -> None:
    with pytest.raises(EventRejected) as caught:
        parse_flux_event({"involvedObject": {}})
    assert str(caught.value).startswith("involvedObject.kind: missing (and ")
    assert "severity: missing" in caught.value.problems


@pytest.mark.parametrize(("kind", "reason", "severity", "outcome"), [
    ("Kustomization", "Progressing", "info", "progressing"),
    ("Kustomization", "ReconciliationSucceeded", "info", "ready"),
    ("Kustomization", "DependencyNotReady", "info", "waiting"),
    *[("Kustomization", r, "error", "failed") for r in
      ("HealthCheckFailed", "BuildFailed", "ValidationFailed", "ReconciliationFailed", "ArtifactFailed",
       "PruneFailed")],
    ("Kustomization", "SomethingNew", "error", "failed"),
    ("Kustomization", "SomethingNew", "info", "ignored"),
    ("Kustomization", "SomethingNewFailed", "info", "failed"),
    ("HelmRelease", "InstallSucceeded", "info", "ready"),
    ("HelmRelease", "UpgradeSucceeded", "info", "ready"),
    ("HelmRelease", "TestSucceeded", "info", "ready"),
    ("HelmRelease", "Progressing", "info", "progressing"),
    ("HelmRelease", "DependencyNotReady", "info", "waiting"),
    *[("HelmRelease", r, "error", "failed") for r in
      ("InstallFailed", "UpgradeFailed", "TestFailed", "RollbackFailed", "UninstallFailed", "ArtifactFailed",
       "ReconciliationFailed")],
    ("HelmRelease", "RollbackSucceeded", "info", "failed"),  # remediated: the new release did not land
    ("HelmRelease", "UninstallSucceeded", "info", "failed"),
    ("GitRepository", "NewArtifact", "info", "progressing"),
    ("OCIRepository", "NewArtifact", "info", "progressing"),
    ("Bucket", "NewArtifact", "info", "progressing"),
    ("HelmChart", "ChartPullFailed", "error", "failed"),
    ("HelmRepository", "IndexationFailed", "error", "failed"),
    ("GitRepository", "GitOperationFailed", "error", "failed"),
    ("GitRepository", "Something", "error", "failed"),
    ("GitRepository", "ArtifactUpToDate", "info", "ignored"),
    ("GitRepository", "Progressing", "info", "ignored"),
    ("ImageUpdateAutomation", "ReconciliationSucceeded", "info", "ignored"),
    ("Alert", "ReconciliationFailed", "error", "ignored"),
    ("", "", "", "ignored"),
])
def test_each_reason_has_one_outcome(kind: str, reason: str, severity: str, outcome: str) -> None:
    event = FluxEvent.model_validate({
        "object": {"kind": kind, "namespace": "ns", "name": "n"}, "severity": severity, "reason": reason,
        "message": "", "timestamp": None, "revision": None,
    })
    assert classify(event) == outcome


def test_the_vocabulary_is_closed_and_disjoint() -> None:
    assert not READY_REASONS & FAILED_REASONS
    assert all(r.isidentifier() and r[0].isupper() for r in READY_REASONS | FAILED_REASONS)


@pytest.mark.parametrize(("text", "expected"), [
    (f"main@sha1:{SHA}", Revision(ref="main", sha=SHA)),
    (f"sha1:{SHA}", Revision(ref=None, sha=SHA)),
    (f"sha1:{SHA.upper()}", Revision(ref=None, sha=SHA)),
    (f"refs/heads/feature/x@sha1:{SHA}", Revision(ref="feature/x", sha=SHA)),
    (f"refs/tags/v1.0.0@sha1:{SHA}", Revision(ref="refs/tags/v1.0.0", sha=SHA)),
    (f"v1.0.0@sha1:{SHA}", Revision(ref="v1.0.0", sha=SHA)),
    (f"main/{SHA}", Revision(ref="main", sha=SHA)),
    (f"lab-talent-aks/{SHA}", Revision(ref="lab-talent-aks", sha=SHA)),
    (f"feature/a/{SHA}", Revision(ref="feature/a", sha=SHA)),
    (f"latest@sha256:{'e' * 64}", Revision(ref="latest", sha="e" * 64)),
    (f"sha256:{'e' * 64}", Revision(ref=None, sha="e" * 64)),
    (f"6.0.0@sha256:{'f' * 64}", Revision(ref="6.0.0", sha="f" * 64)),
    (f" main@sha1:{SHA}\n", Revision(ref="main", sha=SHA)),
    ("6.0.0", None),
    ("", None),
    ("main", None),
    (SHA, None),
    ("sha1:abc", None),
    (f"sha1:{SHA}0", None),
    (f"sha256:{SHA}", None),
    (f"md5:{SHA}", None),
    (f"@sha1:{SHA}", None),
    (f"/{SHA}", None),
    (f"main/{SHA[:-1]}g", None),
    (f"ma in@sha1:{SHA}", None),
    (f"refs/heads/@sha1:{SHA}", None),
])
def test_revisions_in_every_format_flux_has_used(text: str, expected: Revision | None) -> None:
    assert parse_revision(text) == expected


def test_a_revision_knows_a_commit_from_a_digest() -> None:
    assert Revision(ref="main", sha=SHA).is_commit
    assert not Revision(ref="latest", sha="e" * 64).is_commit


@pytest.mark.parametrize(("message", "summary"), [
    ("Service/default/podinfo created\nDeployment/default/podinfo created\n"
     "HorizontalPodAutoscaler/default/podinfo created", "3 created"),
    ("Deployment/dev/podinfo configured\nService/dev/podinfo unchanged", "1 configured, 1 unchanged"),
    ("Deployment/a/x configured\nDeployment/a/y configured\nService/a/x configured\nConfigMap/a/c created",
     "3 configured, 1 created"),
    ("Secret/a/s deleted\nConfigMap/a/c created", "1 created, 1 deleted"),
    ("Namespace/apps created\nClusterRole/reader configured\r\n", "1 configured, 1 created"),
    ("Health check passed in 15.02311s", None),
    ("Reconciliation finished in 15.4s, next run in 10m0s", None),
    ("", None),
    ("Deployment/a/b/c configured", None),
    ("service/apps/webapp validation error: spec.type: Unsupported value: Ingress", None),
])
def test_the_change_set_in_a_progressing_message_is_counted(message: str, summary: str | None) -> None:
    assert change_set_summary(message) == summary
