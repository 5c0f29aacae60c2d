"""`SimulatedFlux`: Flux's source-, kustomize- and notification-controllers of one or more clusters.

Each cluster runs in its own daemon thread, as each real cluster runs its own Flux: every `interval`
it lists the manifests branch (`git ls-remote` against the emulated GitHub), fetches a moved head
and announces it (GitRepository `NewArtifact`), then reconciles each of its Kustomizations on a new
revision, and again every `repeat_every` seconds at the same one, like Flux's interval. A
reconciliation follows kustomize-controller's steps, each exit with Flux's reason: path found
(`ArtifactFailed`), build (`BuildFailed`), dry run (`ValidationFailed`), apply (`Progressing` with the
change set), health (`HealthCheckFailed`, or `Progressing` "Health check passed"), then
`ReconciliationSucceeded`. Every step's outcome is written to the Kustomization's status in an
optional `KubeApiEmulator`, so the connector's watchdog reads what the events said.

Workloads become healthy unless a container runs an image a test or the demo marked failing with
`fail_health`, which is how a bad release is simulated.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from fluxgate.config import PipelineConfig
from fluxgate.objects import ObjectId
from fluxgate.sandbox.flux.kustomize import (
    Failed,
    Manifest,
    build,
    change_set,
    dry_run,
    go_duration,
    not_ready,
)
from fluxgate.sandbox.flux.notify import Notifier, SentEvent, flux_event
from fluxgate.sandbox.flux.source import GitSource, SourceError, short_message
from fluxgate.sandbox.kube import KubeApiEmulator, flux_object
from fluxgate.validate import SchemaValidator

__all__ = ["FluxCluster", "SimulatedFlux", "clusters_of"]

log = logging.getLogger("fluxgate.sandbox.flux")

_NAMESPACE = "flux-system"
_SOURCE = {"kind": "GitRepository", "apiVersion": "source.toolkit.fluxcd.io/v1", "name": "flux-system"}
_KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"
_ROLLOUT = 0.1  # seconds a healthy rollout of changed workloads takes
_versions = itertools.count(41000)  # resourceVersions: they only ever grow


@dataclass(frozen=True)
class FluxCluster:
    """One cluster of one environment, and the Kustomizations (`name` or `namespace/name`) it runs."""

    app: str
    env: str
    cluster: str
    folder: str  # the environment's folder in the manifests repo, e.g. "dev"
    kustomizations: tuple[str, ...]
    branch: str | None = None  # None: the branch SimulatedFlux was given (an env may have its own)


def clusters_of(config: PipelineConfig) -> list[FluxCluster]:
    """A FluxCluster per (environment, cluster) of fluxgate.yaml, in promotion order."""
    return [
        FluxCluster(config.app, env.name, cluster.name, env.manifests_folder, tuple(cluster.kustomizations),
                    env.branch)
        for env in config.environments
        for cluster in env.clusters
    ]  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


def _repository(image: str) -> str:
    """`ghcr.io/acme/web` of `ghcr.io/acme/web:1.0@sha256:...` (a registry port is not a tag)."""
    image = image.split("@", 1)[0]
    head, slash, last = image.rpartition("/")
    return f"{head}{slash}{last.split(':', 1)[0]}"


@dataclass
class _Kustomization:
    """What one Kustomization remembers between runs: its inventory and the revisions it reached."""

    namespace: str
    name: str
    uid: str
    inventory: dict[ObjectId, Manifest] = field(default_factory=dict)
    attempted: str | None = None  # last revision (sha) reconciled, whatever the outcome
    applied: str | None = None  # last revision applied and healthy
    healthy: bool = False
    next_run: float = 0.0


class _ClusterFlux:
    """The three controllers of one cluster, run by one thread."""

    def __init__(self, flux: SimulatedFlux, cluster: FluxCluster) -> None:
        self.flux, self.cluster = flux, cluster
        self.branch = cluster.branch or flux.branch
        cache = flux.data / cluster.env / cluster.cluster / "source.git"
        self.source = GitSource(f"{flux.git_url}/{flux.repo}.git", self.branch, flux.token, cache)
        self.artifact: str | None = None
        self.source_failing = False
        self.kustomizations: list[_Kustomization] = []
        for listed in cluster.kustomizations:
            namespace, _, name = listed.rpartition("/")
            namespace = namespace or _NAMESPACE
            uid = self._uid("Kustomization", namespace, name)
            self.kustomizations.append(_Kustomization(namespace, name, uid))
        self.thread = threading.Thread(target=self._run, name=f"flux {cluster.cluster}", daemon=True)

    def _uid(self, kind: str, namespace: str, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flux:{self.cluster.cluster}/{kind}/{namespace}/{name}"))

    def _instance(self, controller: str) -> str:
        """A pod name like `kustomize-controller-7c7b47f5f-8bhrp`, stable per cluster."""
        digest = hashlib.sha256(f"{self.cluster.cluster}/{controller}".encode()).hexdigest()
        return f"{controller}-{digest[:9]}-{digest[9:14]}"

    def revision(self, sha: str) -> str:
        return f"{self.branch}@sha1:{sha}"

    # -- events and status ------------------------------------------------------------------------
    def _emit(
        self,
        obj: dict[str, str],
        controller: str,
        severity: str,
        reason: str,
        message: str,
        sha: str | None,
        extra: dict[str, str] | None = None,
    ) -> None:
        cluster = self.cluster
        metadata = {"revision": self.revision(sha)} if sha else {}
        metadata |= extra or {}
        # the Alert's eventMetadata labels every event with where it comes from
        metadata |= {"env": cluster.env, "cluster": cluster.cluster, "app": cluster.app}
        involved = {**obj, "resourceVersion": str(next(_versions))}
        event = flux_event(
            involved, severity, reason, message, metadata, controller, self._instance(controller), _now()
        )
        seen = SentEvent(
            cluster.cluster, cluster.env, obj["kind"], obj["name"], reason, severity, message, sha or "",
            delivered=False,
        )  # fmt: skip
        level = logging.WARNING if severity == "error" else logging.INFO
        first_line = message.split("\n", 1)[0]
        where = f"{obj['kind']} {obj['namespace']}/{obj['name']}"
        log.log(level, "%s: %s %s at %s: %s", cluster.cluster, where, reason, (sha or "-")[:12], first_line)
        self.flux._notifier.submit(event, seen)

    def _source_event(
        self, severity: str, reason: str, message: str, sha: str | None, extra: dict[str, str] | None = None
    ) -> None:
        kind, name = _SOURCE["kind"], _SOURCE["name"]
        uid = self._uid(kind, _NAMESPACE, name)
        obj = {"kind": kind, "namespace": _NAMESPACE, "name": name, "uid": uid,
               "apiVersion": _SOURCE["apiVersion"]}  # fmt: skip
        self._emit(obj, "source-controller", severity, reason, message, sha, extra)

    def _event(
        self, k: _Kustomization, severity: str, reason: str, message: str, sha: str,
        extra: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        obj = {"kind": "Kustomization", "namespace": k.namespace, "name": k.name, "uid": k.uid,
               "apiVersion": _KUSTOMIZATION_API}  # fmt: skip
        self._emit(obj, "kustomize-controller", severity, reason, message, sha, extra)

    def _status(self, k: _Kustomization, ready: str, reason: str, message: str, sha: str) -> None:
        """The Kustomization's status as kustomize-controller writes it (nothing without a Kube API)."""
        kube = self.flux.kube
        if kube is None:
            return
        at = _now().strftime("%Y-%m-%dT%H:%M:%SZ")
        applied = self.revision(k.applied) if k.applied else None
        obj: dict[str, Any] = flux_object(
            "Kustomization", k.namespace, k.name, ready, reason, message, self.revision(sha), applied, at
        )
        obj["metadata"] |= {"uid": k.uid, "resourceVersion": str(next(_versions))}
        obj["spec"] = {
            "interval": go_duration(self.flux.repeat_every),
            "path": f"./{self.cluster.folder.strip('/')}",
            "prune": True,
            "wait": True,
            "timeout": go_duration(self.flux.health_timeout),
            "sourceRef": {"kind": _SOURCE["kind"], "name": _SOURCE["name"]},
        }
        kube.put(self.cluster.cluster, obj)

    def _finish(self, k: _Kustomization, sha: str, outcome: Failed | str) -> None:
        """Every end of a reconciliation: the status, then the event, and the next run scheduled.

        `outcome` is the failure, or the success event's message ("Reconciliation finished in ...").
        """
        k.attempted, k.next_run = sha, time.monotonic() + self.flux.repeat_every
        if isinstance(outcome, Failed):
            self._status(k, "False", outcome.reason, outcome.message, sha)
            self._event(k, "error", outcome.reason, outcome.message, sha)
            return
        k.applied = sha
        self._status(k, "True", "ReconciliationSucceeded", f"Applied revision: {self.revision(sha)}", sha)
        self._event(k, "info", "ReconciliationSucceeded", outcome, sha, {"commit_status": "update"})

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        stop = self.flux._stop
        while not stop.is_set():
            try:
                self._poll_source()
                for k in self.kustomizations:
                    due = k.attempted != self.artifact or time.monotonic() >= k.next_run
                    if self.artifact is not None and due and not stop.is_set():
                        self._reconcile(k, self.artifact)
            except Exception:  # a bug here must not silently end this cluster's Flux
                log.exception("%s: simulated Flux failed; trying again", self.cluster.cluster)
            stop.wait(self.flux.interval)

    def _poll_source(self) -> None:
        """source-controller: announce a new head once, and a failure when listing starts failing."""
        try:
            if self.source.head() == self.artifact:
                self.source_failing = False
                return
            sha = self.source.fetch()
            subject, digest = short_message(self.source.subject(sha)), self.source.digest(sha)
        except SourceError as exc:
            if not self.source_failing:
                self._source_event("error", "GitOperationFailed", str(exc), None)
            self.source_failing = True
            return
        self.source_failing = False
        self.artifact = sha
        stored = f"stored artifact for commit '{subject}'"
        self._source_event("info", "NewArtifact", stored, sha, {"digest": digest})

    def _reconcile(self, k: _Kustomization, sha: str) -> None:
        """kustomize-controller at `sha`: every exit goes through `_finish`, except a stop mid-way."""
        started = time.perf_counter()
        self._status(k, "Unknown", "Progressing", "Reconciliation in progress", sha)
        try:
            if not self._apply(k, sha):
                return  # stopping
        except Failed as failed:
            self._finish(k, sha, failed)
            return
        took, every = go_duration(time.perf_counter() - started), go_duration(self.flux.repeat_every)
        self._finish(k, sha, f"Reconciliation finished in {took}, next run in {every}")

    def _apply(self, k: _Kustomization, sha: str) -> bool:
        """Build, dry-run, apply (announcing the change set) and wait for health; False when stopping."""
        try:
            files = self.source.files(sha, self.cluster.folder)
        except SourceError as exc:
            raise Failed("ArtifactFailed", str(exc)) from None
        if files is None:
            path = f"/tmp/kustomization-{k.uid[:8]}/{self.cluster.folder.strip('/')}"
            missing = f"kustomization path not found: stat {path}: no such file or directory"
            raise Failed("ArtifactFailed", missing)
        objects = build(files)
        dry_run(objects, self.flux.validator)
        changes = change_set(k.inventory, objects)
        k.inventory = {m.id: m for m in objects}
        changed = any(action != "unchanged" for _, action in changes)
        if changed:
            self._event(k, "info", "Progressing", "\n".join(f"{s} {a}" for s, a in changes), sha)
        return self._health(k, objects, sha, changed)

    def _health(self, k: _Kustomization, objects: list[Manifest], sha: str, changed: bool) -> bool:
        """Wait for the workloads like `wait: true`; Failed on timeout, False when Flux is stopping."""
        started = time.perf_counter()
        stuck = not_ready(objects, self.flux._failing(self.cluster.env))
        if stuck:
            if self.flux._stop.wait(self.flux.health_timeout):
                return False
            k.healthy = False
            waited = ", ".join(f"{subject} status: 'InProgress'" for subject in stuck)
            after = go_duration(time.perf_counter() - started)
            timeout = f"health check failed after {after}: timeout waiting for: [{waited}]"
            raise Failed("HealthCheckFailed", timeout)
        if changed and self.flux._stop.wait(_ROLLOUT):
            return False
        if not k.healthy or (changed and k.applied != sha):  # recovered, or a new revision changed things
            passed = f"Health check passed in {go_duration(time.perf_counter() - started)}"
            self._event(k, "info", "Progressing", passed, sha)
        k.healthy = True
        return True


class SimulatedFlux:
    """Flux v2 on every cluster in `clusters`, reconciling `repo`@`branch` from the emulated GitHub at
    `git_url` and notifying `receiver` (the connector's `/flux/events`) signed with `hmac_key`.

    `data` holds each cluster's git cache; `validator` is the API server's schema check (default: the
    newest Kubernetes version fluxgate knows, strict; pass `make_validator(config)` to follow
    fluxgate.yaml); `on_event` hears of every event once delivered or dropped (from the sender thread).
    """

    def __init__(
        self,
        *,
        git_url: str,
        repo: str,
        branch: str,
        token: str,
        clusters: list[FluxCluster],
        receiver: str,
        hmac_key: str,
        data: Path,
        interval: float = 1.0,
        repeat_every: float = 30.0,
        health_timeout: float = 2.0,
        kube: KubeApiEmulator | None = None,
        on_event: Callable[[SentEvent], None] | None = None,
        validator: SchemaValidator | None = None,
    ) -> None:
        self.git_url, self.repo, self.branch, self.token = git_url.rstrip("/"), repo, branch, token
        self.data, self.interval, self.repeat_every = data, interval, repeat_every
        self.health_timeout, self.kube, self._on_event = health_timeout, kube, on_event
        self.validator = validator or SchemaValidator()
        self._lock = threading.Lock()
        self._sent: list[SentEvent] = []
        self._rules: set[tuple[str, str | None]] = set()
        self._stop = threading.Event()
        self._notifier = Notifier(receiver, hmac_key, self._record)
        self._clusters = [_ClusterFlux(self, cluster) for cluster in clusters]
        self._started = False

    def __repr__(self) -> str:  # never shows the token or the key
        return f"SimulatedFlux({self.repo}@{self.branch}, {len(self._clusters)} clusters)"

    # -- control ----------------------------------------------------------------------------------
    def fail_health(self, image: str, env: str | None = None) -> None:
        """Workloads running `image` (with tag; without one, any tag) never become ready in `env` (None:
        in every environment): their Kustomization fails its health check after `health_timeout`."""
        with self._lock:
            self._rules.add((image, env))

    def _failing(self, env: str) -> Callable[[str], bool]:
        with self._lock:
            images = {image for image, where in self._rules if where in (None, env)}

        def failing(image: str) -> bool:
            return image in images or _repository(image) in images

        return failing

    def start(self) -> SimulatedFlux:
        with self._lock:
            if self._started:
                return self
            if self._stop.is_set():
                raise RuntimeError("a stopped SimulatedFlux cannot start again; make a new one")
            self._started = True
        self.data.mkdir(parents=True, exist_ok=True)
        self._notifier.start()
        for cluster in self._clusters:
            cluster.thread.start()
        return self

    def stop(self) -> None:
        """Stop every cluster (a health check under way ends without an event), then deliver the queue."""
        self._stop.set()
        for cluster in self._clusters:
            if cluster.thread.is_alive():
                cluster.thread.join(timeout=30)
        if self._started:
            self._notifier.close()

    def __enter__(self) -> SimulatedFlux:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        self.stop()

    # -- what happened ----------------------------------------------------------------------------
    def _record(self, event: SentEvent) -> None:
        with self._lock:
            self._sent.append(event)
        if self._on_event is not None:
            self._on_event(event)

    @property
    def sent(self) -> list[SentEvent]:
        """Every event sent so far (delivered or dropped), in the order they were sent."""
        with self._lock:
            return list(self._sent)

    @property
    def dropped(self) -> int:
        """Events the receiver never accepted after Flux's retries."""
        return self._notifier.dropped

    def applied(self, cluster: str) -> str | None:
        """The last commit every Kustomization of `cluster` applied with a passing health check (Flux's
        `lastAppliedRevision`: it stays while a later revision fails), or None: none yet, or its
        Kustomizations disagree mid-rollout."""
        mine = [c for c in self._clusters if c.cluster.cluster == cluster]
        if not mine:
            known = ", ".join(sorted({c.cluster.cluster for c in self._clusters}))
            raise ValueError(f"unknown cluster {cluster!r}; the simulated Flux runs {known}")
        shas = {k.applied for c in mine for k in c.kustomizations}
        return shas.pop() if len(shas) == 1 else None
