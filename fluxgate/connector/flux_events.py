"""Flux notification-controller events as typed facts, and what each one says about a rollout.

The connector's Flux endpoint calls `parse_flux_event` on every (already verified) body, then
`classify` to learn whether the object is progressing, ready, failed or waiting, and `fingerprint` to
drop the repeats Flux sends. Pure functions, no I/O: the same body always gives the same answer.

Flux's wire format, as the `generic` / `generic-hmac` providers send it:
`involvedObject{kind, namespace, name, uid, apiVersion}`, `severity` (info | error), `reason`,
`message`, `timestamp`, `metadata` (may be absent), `reportingController`. Metadata keys arrive
un-prefixed (`revision`) or controller-prefixed (`kustomize.toolkit.fluxcd.io/revision`); both read
the same here. Revisions come as `main@sha1:<hex>`, `sha1:<hex>`, `refs/heads/main@sha1:<hex>`,
`latest@sha256:<digest>` (OCI) or the legacy `main/<hex>`; a HelmRelease sends its chart version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fluxgate.connector.errors import EventRejected, json_object, rejected_from

__all__ = [
    "FAILED_REASONS",
    "KNOWN_REASONS",
    "MAX_MESSAGE",
    "MAX_METADATA_KEYS",
    "NEW_ARTIFACT_REASONS",
    "PROGRESSING_REASONS",
    "READY_REASONS",
    "SOURCE_KINDS",
    "WAITING_REASONS",
    "WORKLOAD_KINDS",
    "EventRejected",
    "FluxEvent",
    "FluxObject",
    "Outcome",
    "Revision",
    "change_set_summary",
    "classify",
    "parse_flux_event",
    "parse_revision",
]

MAX_MESSAGE = 4000
MAX_METADATA_KEYS = 64
MAX_METADATA_VALUE = 4000


class Outcome(StrEnum):
    """Where a Flux object stands after an event (what `classify` says, and the store keeps)."""

    PROGRESSING = "progressing"
    READY = "ready"
    FAILED = "failed"
    WAITING = "waiting"
    IGNORED = "ignored"  # the event says nothing about a rollout: never stored


# Kinds whose events say whether workloads run; sources only say whether an artifact was fetched.
WORKLOAD_KINDS = frozenset({"Kustomization", "HelmRelease"})
SOURCE_KINDS = frozenset({"GitRepository", "OCIRepository", "Bucket", "HelmChart", "HelmRepository"})

# The closed vocabulary: every reason fluxgate acts on by name. Any other reason counts as failed when
# it ends in "Failed" or comes with severity error (Flux adds reasons over time), and is ignored otherwise.
READY_REASONS = frozenset(
    {
        "ReconciliationSucceeded",
        "InstallSucceeded",
        "UpgradeSucceeded",
        "TestSucceeded",
    }
)
PROGRESSING_REASONS = frozenset({"Progressing"})  # a workload applying a revision
NEW_ARTIFACT_REASONS = frozenset({"NewArtifact"})  # a source fetched a revision
WAITING_REASONS = frozenset({"DependencyNotReady"})
FAILED_REASONS = frozenset(
    {
        # kustomize-controller
        "HealthCheckFailed",
        "BuildFailed",
        "ValidationFailed",
        "ReconciliationFailed",
        "ArtifactFailed",
        "PruneFailed",
        # helm-controller; a rollback or uninstall that succeeded is a remediation: the release did not land
        "InstallFailed",
        "UpgradeFailed",
        "TestFailed",
        "RollbackFailed",
        "UninstallFailed",
        "InitFailed",
        "GetLastReleaseFailed",
        "RollbackSucceeded",
        "UninstallSucceeded",
        # source-controller
        "GitOperationFailed",
        "AuthenticationFailed",
        "StorageOperationFailed",
        "ChartPullFailed",
        "ChartPackageFailed",
        "IndexationFailed",
        "OCIPullFailed",
    }
)

KNOWN_REASONS = READY_REASONS | PROGRESSING_REASONS | NEW_ARTIFACT_REASONS | WAITING_REASONS | FAILED_REASONS

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_WIRE = ConfigDict(strict=True, extra="ignore")

# --- revisions -------------------------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-fA-F]+")
_REF = re.compile(r"[^\s\x00-\x1f\x7f]+")
_DIGEST_LENGTHS = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128, "blake3": 64}
_LEGACY_LENGTHS = (40, 64)
_MAX_REVISION = 1024


class Revision(BaseModel):
    """What Flux applied: a branch or tag (`ref`, None when Flux did not say) and the commit or digest."""

    model_config = _FROZEN

    ref: str | None
    sha: str

    @property
    def is_commit(self) -> bool:
        """A git commit (40 hex), not an OCI or bucket digest."""
        return len(self.sha) == 40


def _ref(text: str) -> str | None:
    if not _REF.fullmatch(text):
        return None
    return text.removeprefix("refs/heads/") or None


def parse_revision(text: str) -> Revision | None:
    """The revision in a Flux `revision` string, or None when it is not one (a chart version, garbage)."""
    if not isinstance(text, str) or len(text) > _MAX_REVISION:
        return None
    text = text.strip()
    head, at, digest = text.rpartition("@")
    algorithm, colon, hexdigits = digest.partition(":")
    if colon:
        if _DIGEST_LENGTHS.get(algorithm) != len(hexdigits) or not _HEX.fullmatch(hexdigits):
            return None
        if not at:
            return Revision(ref=None, sha=hexdigits.lower())
        ref = _ref(head)
        return Revision(ref=ref, sha=hexdigits.lower()) if ref else None
    head, slash, hexdigits = text.rpartition("/")  # legacy `<branch>/<sha>`; the branch may hold "/"
    if slash and len(hexdigits) in _LEGACY_LENGTHS and _HEX.fullmatch(hexdigits):
        ref = _ref(head)
        return Revision(ref=ref, sha=hexdigits.lower()) if ref else None
    return None


# --- events ----------------------------------------------------------------------------------------


class FluxObject(BaseModel):
    """The Flux object an event is about."""

    model_config = _FROZEN

    kind: str
    namespace: str
    name: str
    api_version: str | None = None
    uid: str | None = None


class FluxEvent(BaseModel):
    """One notification-controller event, normalised: metadata keys un-prefixed, values strings."""

    model_config = _FROZEN

    object: FluxObject
    severity: str
    reason: str
    message: str
    timestamp: datetime | None
    revision: Revision | None
    metadata: dict[str, str] = Field(default_factory=dict)
    controller: str | None = None

    @property
    def env(self) -> str | None:
        """The environment an Alert's `eventMetadata` labelled the event with (`env` or `environment`)."""
        return self.metadata.get("env") or self.metadata.get("environment") or None

    @property
    def cluster(self) -> str | None:
        """The cluster an Alert's `eventMetadata` labelled the event with."""
        return self.metadata.get("cluster") or None

    def fingerprint(self) -> str:
        """The dedupe key: equal for a re-delivered event, different when anything Flux reported differs.

        The Alert's labels (`env`, `cluster`, `app`) are part of it: two clusters running the same
        Kustomization can report the same thing in the same second, and both reports count.
        """
        parts = [
            self.object.kind,
            self.object.namespace,
            self.object.name,
            self.reason,
            self.metadata.get("revision", ""),
            self.message,
            self.timestamp.isoformat() if self.timestamp else "",
            self.metadata.get("app", ""),
            self.env or "",
            self.cluster or "",
        ]
        return hashlib.sha256(json.dumps(parts).encode("ascii")).hexdigest()


class _WireObject(BaseModel):
    model_config = _WIRE

    # Kubernetes' own limits: a longer kind, namespace or name is not an object a cluster can hold.
    kind: str = Field(min_length=1, max_length=63)
    namespace: str = Field(max_length=63)
    name: str = Field(min_length=1, max_length=253)
    apiVersion: str | None = Field(None, max_length=253)  # the wire names, so errors name fields as Flux does
    uid: str | None = Field(None, max_length=128)


class _WireEvent(BaseModel):
    model_config = _WIRE

    involvedObject: _WireObject
    severity: str = Field(max_length=16)
    reason: str = Field(max_length=128)  # an Event's reason is at most 128 characters
    message: str
    timestamp: str | None = None
    metadata: dict[str, Any] | None = None
    reportingController: str | None = None


_CONTROLLER_PREFIX = re.compile(r"[a-z0-9.-]*\.toolkit\.fluxcd\.io/")
# Kept first when a body carries more than MAX_METADATA_KEYS keys: the ones fluxgate reads.
_KEEP_FIRST = (
    "revision",
    "env",
    "environment",
    "cluster",
    "app",
    "commit_status",
    "digest",
    "token",
    "summary",
)


def _text(key: str, value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError, RecursionError):
            raise EventRejected(f"metadata.{key}: not a JSON value") from None
    return text[:MAX_METADATA_VALUE]


def _metadata(raw: Mapping[str, Any]) -> dict[str, str]:
    """Un-prefixed keys (the generic provider's own form wins over a controller-prefixed twin)."""
    merged: dict[str, Any] = {k: v for k, v in raw.items() if not _CONTROLLER_PREFIX.match(k)}
    for key, value in raw.items():
        match = _CONTROLLER_PREFIX.match(key)
        if match:
            merged.setdefault(key[match.end() :], value)
    order = [k for k in _KEEP_FIRST if k in merged] + [k for k in merged if k not in _KEEP_FIRST]
    return {key: _text(key, merged[key]) for key in order[:MAX_METADATA_KEYS]}


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise EventRejected("timestamp: expected an RFC 3339 time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_flux_event(body: bytes | str | Mapping[str, Any]) -> FluxEvent:
    """The event in a Flux notification body; EventRejected naming the field when it is not one."""
    data = json_object(body)
    try:
        wire = _WireEvent.model_validate(data)
    except ValidationError as exc:
        raise rejected_from(exc) from None
    metadata = _metadata(wire.metadata or {})
    revision_text = metadata.get("revision")
    obj = wire.involvedObject
    return FluxEvent(
        object=FluxObject(
            kind=obj.kind, namespace=obj.namespace, name=obj.name, api_version=obj.apiVersion, uid=obj.uid
        ),
        severity=wire.severity,
        reason=wire.reason,
        message=_truncate(wire.message, MAX_MESSAGE),
        timestamp=_timestamp(wire.timestamp),
        revision=parse_revision(revision_text) if revision_text is not None else None,
        metadata=metadata,
        controller=wire.reportingController,
    )


# --- what an event means ---------------------------------------------------------------------------


def classify(event: FluxEvent) -> Outcome:
    """Where the object stands after this event; "ignored" for kinds and reasons that say nothing."""
    kind, reason = event.object.kind, event.reason
    error = event.severity.lower() == "error"
    if kind in WORKLOAD_KINDS:
        if reason in FAILED_REASONS:
            return Outcome.FAILED
        if reason in READY_REASONS:
            return Outcome.READY
        if reason in PROGRESSING_REASONS:
            return Outcome.PROGRESSING
        if reason in WAITING_REASONS:
            return Outcome.WAITING
        return Outcome.FAILED if error or reason.endswith("Failed") else Outcome.IGNORED
    if kind in SOURCE_KINDS:
        if reason in FAILED_REASONS or reason.endswith("Failed") or error:
            return Outcome.FAILED
        return Outcome.PROGRESSING if reason in NEW_ARTIFACT_REASONS else Outcome.IGNORED
    return Outcome.IGNORED


_CHANGE = re.compile(
    r"[A-Za-z][A-Za-z0-9]*/(?:[^/\s]+/)?[^/\s]+ (?P<action>created|configured|deleted|unchanged|skipped)"
)


def change_set_summary(message: str) -> str | None:
    """Counts of a Progressing message's `Kind/ns/name action` lines ("3 configured, 1 created"), or None."""
    counts = Counter(
        match.group("action") for line in message.splitlines() if (match := _CHANGE.fullmatch(line.strip()))
    )
    if not counts:
        return None
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {action}" for action, count in ordered)
