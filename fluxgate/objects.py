"""Kubernetes objects as plain dicts: identity, scope, containers and the flattening of template output.

Shared by render, validate and summary, so it sits below all three.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from fluxgate.errors import TemplateError

__all__ = [
    "Location",
    "ObjectId",
    "collect_objects",
    "is_cluster_scoped",
    "iter_pod_containers",
    "locate_objects",
    "with_origin",
]

# Built-in kinds that have no namespace; anything named Cluster* (ClusterIssuer, ...) is too.
_CLUSTER_SCOPED = frozenset(
    {
        "APIService", "CertificateSigningRequest", "ComponentStatus", "CSIDriver", "CSINode",
        "CustomResourceDefinition", "FlowSchema", "IngressClass", "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace", "Node",
        "PersistentVolume", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass",
        "StorageClass", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration", "VolumeAttachment",
    }
)  # fmt: skip


def is_cluster_scoped(kind: str) -> bool:
    return kind in _CLUSTER_SCOPED or kind.startswith("Cluster")


class ObjectId(NamedTuple):
    """What identifies an object in a cluster: API group (not version), kind, namespace, name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectId:
        api_version = str(obj.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        meta = obj.get("metadata") or {}
        return cls(
            group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


def with_origin(path: str, origin: str | None) -> str:
    """How a problem names a rendered object: `dev/web.yaml (from deploy/app.yaml:12)`."""
    return f"{path} (from {origin})" if origin else path


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and "apiVersion" in value and "kind" in value


Location = tuple[str | int, ...]  # keys and indexes from the top of template output to an object


def locate_objects(output: Any, where: str) -> list[tuple[Location, dict[str, Any]]]:
    """Kubernetes objects from template output, each with its location in that output.

    The same flattening as `collect_objects`; the location (`("web", "deployment")`,
    `(2, "items", 0)`) lets an engine that knows positions in its source name the object's line.
    """
    found: list[tuple[Location, dict[str, Any]]] = []

    def walk(value: Any, path: str, loc: Location) -> None:
        if value is None:
            return
        if _is_object(value):
            if value["kind"] == "List" or (str(value["kind"]).endswith("List") and "items" in value):
                walk(value.get("items") or [], f"{path}.items", (*loc, "items"))
            else:
                found.append((loc, value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}", (*loc, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", (*loc, index))
        else:
            shown = path.lstrip(".") or "the top level"
            raise TemplateError(
                f"{where}: expected Kubernetes objects, found {type(value).__name__} at {shown}"
            )

    walk(output, "", ())
    return found


def collect_objects(output: Any, where: str) -> list[dict[str, Any]]:
    """Kubernetes objects from template output: an object, a list, a `List`, or nested mappings.

    Jsonnet apps commonly return `{web: {deployment: {...}, service: {...}}}`; every shape is
    flattened in document order, and anything that is not an object is an error naming its path.
    """
    return [obj for _, obj in locate_objects(output, where)]


_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def iter_pod_containers(obj: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every container spec in an object, wherever its pod template sits (CRDs included)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in _CONTAINER_LISTS and isinstance(value, list):
                for index, container in enumerate(value):
                    if isinstance(container, dict) and "image" in container:
                        yield f"{path}.{key}[{index}]".lstrip("."), container
            else:
                yield from iter_pod_containers(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for index, item in enumerate(obj):
            yield from iter_pod_containers(item, f"{path}[{index}]")
