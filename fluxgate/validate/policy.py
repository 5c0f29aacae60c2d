"""Policies every manifest set must pass before it leaves the machine.

- one object per identity: no duplicate (group, kind, namespace, name);
- no plaintext secrets: a `Secret` with `data`/`stringData` must be SOPS-encrypted;
- pinned images: every container image has a tag or digest, and the tag is not `latest`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fluxgate.objects import ObjectId, iter_pod_containers, with_origin
from fluxgate.release import ImageRef

__all__ = ["policy_problems"]


def _sops_encrypted(obj: dict[str, Any]) -> bool:
    if not isinstance(obj.get("sops"), dict):
        return False
    for key in ("data", "stringData"):
        for value in (obj.get(key) or {}).values():
            if not (isinstance(value, str) and value.startswith("ENC[")):
                return False
    return True


def _secret_problem(obj: dict[str, Any]) -> str | None:
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return None
    if not (obj.get("data") or obj.get("stringData")) or _sops_encrypted(obj):
        return None
    return "Secret carries plaintext data/stringData; encrypt it with SOPS or use an external secret"


def _image_problems(obj: dict[str, Any]) -> list[str]:
    out = []
    for path, container in iter_pod_containers(obj):
        image = container.get("image")
        if not isinstance(image, str) or not image:
            out.append(f"{path}.image is empty")
        elif not ImageRef.parse(image).pinned:
            out.append(f"{path}.image {image!r} is not pinned: use a version tag or a digest")
    return out


def policy_problems(
    objects: Iterable[tuple[str, dict[str, Any]]], origins: Mapping[int, str] | None = None
) -> list[str]:
    """Policy breaches of rendered objects given as (path, object), each naming file and object.

    `origins` says where each object came from (`deploy/app.yaml:12`), keyed by `id(object)`;
    problems then name the template too: `dev/web.yaml (from deploy/app.yaml:12): Deployment ...`.
    """
    origins = origins or {}
    problems: list[str] = []
    seen: dict[ObjectId, str | None] = {}
    for path, obj in objects:
        oid = ObjectId.of(obj)
        origin = origins.get(id(obj))
        label = f"{with_origin(path, origin)}: {oid}"
        if oid in seen:
            first = seen[oid]
            also = f" (first from {first})" if first and first != origin else ""
            problems.append(
                f"{label}: rendered twice{also}; templates and overlays must define each object once"
            )
        seen.setdefault(oid, origin)
        secret = _secret_problem(obj)
        if secret:
            problems.append(f"{label}: {secret}")
        problems.extend(f"{label}: {p}" for p in _image_problems(obj))
    return problems
