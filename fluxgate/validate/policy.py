"""Policies every manifest set must pass before it leaves the machine.

- one object per identity: no duplicate (group, kind, namespace, name);
- no plaintext secrets: a `Secret` with `data`/`stringData` must be SOPS-encrypted;
- pinned images: every container image has a tag or digest, and the tag is not `latest`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fluxgate.objects import ObjectId, iter_pod_containers
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


def policy_problems(objects: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Policy breaches of rendered objects given as (path, object), each naming file and object."""
    problems: list[str] = []
    seen: dict[ObjectId, str] = {}
    for path, obj in objects:
        oid = ObjectId.of(obj)
        label = f"{path}: {oid}"
        if oid in seen:
            problems.append(f"{label}: rendered twice; templates and overlays must define each object once")
        seen.setdefault(oid, path)
        secret = _secret_problem(obj)
        if secret:
            problems.append(f"{label}: {secret}")
        problems.extend(f"{label}: {p}" for p in _image_problems(obj))
    return problems
