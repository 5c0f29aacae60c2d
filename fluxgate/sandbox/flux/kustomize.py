"""The simulated kustomize-controller's pure part: what one revision of a folder would do to a cluster.

`build` reads the folder's YAML as kustomize would (a generated kustomization.yaml listing every
file), `dry_run` stands in for the API server's server-side-apply dry run (Kubernetes schemas through
fluxgate's own validator), `change_set` compares with what the Kustomization applied last, and
`not_ready` says which workloads a health check would wait on in vain. Each failure is a `Failed`
carrying Flux's reason and a message worded like Flux's. No I/O, no clock: the controller module
runs these and turns them into events and status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from fluxgate.objects import ObjectId, is_cluster_scoped, iter_pod_containers
from fluxgate.validate import SchemaValidator

__all__ = [
    "DRY_RUN_FAILED",
    "WORKLOADS",
    "Failed",
    "Manifest",
    "build",
    "change_set",
    "dry_run",
    "go_duration",
    "not_ready",
]

# The brief's name for a refused dry run; kustomize-controller 1.x reports it as ReconciliationFailed.
DRY_RUN_FAILED = "ValidationFailed"
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})

# Apply order: ssa applies cluster definitions first, then the rest by kind (Helm's install order).
_ORDER = [
    "CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding", "NetworkPolicy",
    "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount", "Secret", "ConfigMap",
    "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "Role", "RoleBinding", "Service",
    "DaemonSet", "Pod", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
    "CronJob", "IngressClass", "Ingress", "APIService",
]  # fmt: skip
_RANK = {kind: rank for rank, kind in enumerate(_ORDER)}


class Failed(Exception):
    """A reconciliation that stops here: Flux's `reason` and its one-paragraph `message`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Manifest:
    """One object of the build: its identity, `Kind/namespace/name` as Flux prints it, and its body."""

    id: ObjectId
    subject: str
    body: dict[str, Any]

    @property
    def apply_order(self) -> tuple[int, str, str, str]:
        return (_RANK.get(self.id.kind, len(_ORDER)), self.id.kind, self.id.namespace, self.id.name)


def _manifest(obj: dict[str, Any]) -> Manifest:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if not (obj.get("apiVersion") and obj.get("kind") and meta and meta.get("name")):
        shown = json.dumps(obj, default=str, separators=(",", ":"))[:300]
        raise Failed("BuildFailed", f"failed to decode Kubernetes apiVersion, kind and name from: {shown}")
    kind = str(obj["kind"])
    namespace = "" if is_cluster_scoped(kind) else str(meta.get("namespace") or "default")
    oid = ObjectId(str(obj["apiVersion"]).rpartition("/")[0], kind, namespace, str(meta["name"]))
    subject = f"{kind}/{namespace}/{oid.name}" if namespace else f"{kind}/{oid.name}"
    return Manifest(oid, subject, obj)


def _documents(path: str, data: bytes) -> list[Any]:
    try:
        return [doc for doc in YAML(typ="safe").load_all(data.decode("utf-8")) if doc is not None]
    except UnicodeDecodeError:
        problem = "invalid UTF-8"
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = f"{line}{exc.problem or exc.context or 'invalid YAML'}"
    except YAMLError as exc:
        problem = str(exc).splitlines()[0]
    raise Failed(
        "BuildFailed",
        f"kustomize build failed: accumulating resources from '{path}': MalformedYAMLError: yaml: {problem}",
    )


def _flatten(doc: Any) -> Iterable[Any]:
    if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        for item in doc.get("items") or []:
            yield from _flatten(item)
    else:
        yield doc


def build(files: dict[str, bytes]) -> list[Manifest]:
    """The objects of a folder (path -> content), in apply order; BuildFailed like `kustomize build`.

    A kustomization.yaml of the folder is not interpreted: fluxgate writes plain objects, which is
    what Flux builds when the folder has none.
    """
    seen: dict[ObjectId, str] = {}
    built: list[Manifest] = []
    for path, data in files.items():
        if path.rsplit("/", 1)[-1] in ("kustomization.yaml", "kustomization.yml"):
            continue
        for doc in _documents(path, data):
            for obj in _flatten(doc):
                if not isinstance(obj, dict):
                    raise Failed("BuildFailed", f"failed to decode Kubernetes apiVersion, kind and name "
                                                f"from: {json.dumps(obj, default=str)[:300]}")
                manifest = _manifest(obj)
                if manifest.id in seen:
                    raise Failed("BuildFailed", "kustomize build failed: may not add resource with an "
                                                f"already registered id: {manifest.subject}")
                seen[manifest.id] = path
                built.append(manifest)
    return sorted(built, key=lambda m: m.apply_order)


def dry_run(objects: list[Manifest], validator: SchemaValidator) -> None:
    """Refuses the first object the API server would refuse, with Flux's `dry-run failed` wording."""
    for manifest in objects:
        problems = validator.problems(manifest.body)
        if problems:
            group = f".{manifest.id.group}" if manifest.id.group else ""
            what = f'{manifest.id.kind}{group} "{manifest.id.name}" is invalid'
            raise Failed(DRY_RUN_FAILED, f"{manifest.subject} dry-run failed: {what}: {'; '.join(problems)}")


def change_set(before: dict[ObjectId, Manifest], after: list[Manifest]) -> list[tuple[str, str]]:
    """(subject, action) per object: created, configured or unchanged in apply order, then deleted."""
    changes = []
    for manifest in after:
        old = before.get(manifest.id)
        action = "created" if old is None else "unchanged" if old.body == manifest.body else "configured"
        changes.append((manifest.subject, action))
    kept = {m.id for m in after}
    gone = sorted((m for oid, m in before.items() if oid not in kept), key=lambda m: m.apply_order)
    return changes + [(m.subject, "deleted") for m in gone]


def not_ready(objects: list[Manifest], failing: Callable[[str], bool]) -> list[str]:
    """Subjects of the workloads that never become ready: one of their containers runs a failing image."""
    return [
        m.subject
        for m in objects
        if m.id.kind in WORKLOADS and any(failing(str(c["image"])) for _, c in iter_pod_containers(m.body))
    ]


def _fraction(value: int, unit: int) -> str:
    whole, part = divmod(value, unit)
    digits = str(part).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def go_duration(seconds: float) -> str:
    """A duration as Go's `time.Duration.String()` prints it (Flux's messages): 1.5s, 312.5ms, 1m0s."""
    ns = round(seconds * 1e9)
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns" if ns else "0s"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = f"{_fraction(rest, 10**9)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    return f"{sign}{minutes}m{text}" if minutes else sign + text
