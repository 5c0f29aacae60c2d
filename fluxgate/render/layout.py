"""Where each rendered object lives in the manifests repo: `<env>/<namespace>/<kind>-<name>.yaml`.

Paths are lower-case and built from sanitised segments, so no object name, however hostile
(`../x`, `a/b`, `.git`), can produce a path outside the environment's folder. Names and namespaces
Kubernetes would refuse are refused here too, not renamed: the sanitised path is a second guard.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from fluxgate.errors import RenderError
from fluxgate.objects import ObjectId, is_cluster_scoped

__all__ = ["CLUSTER_SCOPE", "object_path", "safe_segment", "set_default_namespace"]

CLUSTER_SCOPE = "_cluster"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")  # a DNS-1123 subdomain, at most 253
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # a DNS-1123 label, at most 63: namespaces
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def safe_segment(text: str) -> str:
    """One path segment: lower-case, no separators, never `.`/`..`/hidden, never empty."""
    segment = _UNSAFE.sub("-", text.lower()).strip(".")
    return segment or "_"


def set_default_namespace(obj: dict[str, Any], namespace: str | None, where: str) -> None:
    """Give namespaced objects without one the environment's namespace, so Flux applies them there."""
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise RenderError(f"{where}: {obj.get('kind')}: metadata must be a mapping")
    if is_cluster_scoped(str(obj.get("kind"))) or meta.get("namespace"):
        return
    if not namespace:
        raise RenderError(
            f"{where}: {ObjectId.of(obj)} has no metadata.namespace and the environment sets none"
        )
    meta["namespace"] = namespace


def object_path(obj: dict[str, Any], folder: str, layout: str) -> str:
    """The repo path of one object; invalid Kubernetes names are refused, not silently renamed."""
    oid = ObjectId.of(obj)
    if not oid.kind:
        raise RenderError(f"an object of apiVersion {obj.get('apiVersion')!r} has no kind")
    if not oid.name or len(oid.name) > 253 or not _NAME.fullmatch(oid.name):
        raise RenderError(
            f"{oid.kind} {oid.name!r}: metadata.name must be a lower-case DNS name "
            "(letters, digits, '-', '.')"
        )
    if oid.namespace and (len(oid.namespace) > 63 or not _LABEL.fullmatch(oid.namespace)):
        raise RenderError(
            f"{oid.kind} {oid.name}: metadata.namespace {oid.namespace!r} must be a DNS label "
            "(lower-case letters, digits and '-', at most 63 characters, "
            "starting and ending with a letter or digit)"
        )
    namespace = oid.namespace if oid.namespace else CLUSTER_SCOPE
    relative = layout.format(
        namespace=safe_segment(namespace) if oid.namespace else namespace,
        kind=safe_segment(oid.kind),
        name=safe_segment(oid.name),
        group=safe_segment(oid.group or "core"),
    )
    path = PurePosixPath(folder) / relative
    if path.is_absolute() or ".." in path.parts:
        raise RenderError(f"{oid}: layout produced {path}, which is outside the environment folder")
    return str(path)
