"""The change summary a reviewer reads: resources added, changed, removed and images moved.

Objects are matched by identity (group, kind, namespace, name), not by file, so a layout change
is not reported as remove + add; changed fields are listed as paths, with named list items shown
by name (`spec.template.spec.containers[web].image`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from fluxgate.config import PipelineConfig
from fluxgate.objects import ObjectId, iter_pod_containers
from fluxgate.release import ImageRef

__all__ = [
    "ChangeSummary",
    "ImageChange",
    "ResourceChange",
    "changed_fields",
    "deployed_images",
    "summarize",
]

MAX_FIELDS = 6


class ResourceChange(BaseModel):
    action: Literal["added", "changed", "removed"]
    kind: str
    namespace: str
    name: str
    path: str
    fields: list[str] = []


class ImageChange(BaseModel):
    kind: str
    namespace: str
    name: str
    container: str
    old: str | None
    new: str | None


class ChangeSummary(BaseModel):
    """Structured result: the CLI prints it, the PR body renders it, tasks publish it."""

    env: str
    release: str
    changes: list[ResourceChange]
    images: list[ImageChange]
    unchanged: int
    # Files of the environment's folder changed by hand since fluxgate last wrote it (see
    # `fluxgate.summary.drift`), e.g. `dev/shop/deployment-web.yaml (changed)`; never makes `empty` false.
    drift: list[str] = []
    folder: str = ""  # the environment's folder, named by the drift warning

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def empty(self) -> bool:
        return not self.changes

    def headline(self) -> str:
        return (
            f"{self.count('added')} added, {self.count('changed')} changed, "
            f"{self.count('removed')} removed, {self.unchanged} unchanged"
        )


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def changed_fields(old: Any, new: Any, path: str = "") -> list[str]:
    """Leaf paths whose values differ between two objects."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            if key not in old or key not in new:
                out.append(sub)
            elif old[key] != new[key]:
                out.extend(changed_fields(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and _named(old) and _named(new):
        before = {i["name"]: i for i in old}
        after = {i["name"]: i for i in new}
        out = []
        for name in sorted(set(before) | set(after)):
            sub = f"{path}[{name}]"
            if name not in before or name not in after:
                out.append(sub)
            elif before[name] != after[name]:
                out.extend(changed_fields(before[name], after[name], sub))
        if not out and [i["name"] for i in old] != [i["name"] for i in new]:
            out.append(f"{path} (order)")
        return out
    return [] if old == new else [path or "(whole object)"]


def _images(obj: dict[str, Any] | None) -> dict[str, str]:
    if obj is None:
        return {}
    return {str(c.get("name", p)): str(c["image"]) for p, c in iter_pod_containers(obj)}


def summarize(
    env: str,
    release: str,
    rendered: Mapping[str, dict[str, Any]],
    current: Mapping[str, dict[str, Any]],
) -> ChangeSummary:
    """Compare a rendered manifest set with what the environment's folder holds now."""
    new_by_id = {ObjectId.of(o): (p, o) for p, o in rendered.items()}
    old_by_id = {ObjectId.of(o): (p, o) for p, o in current.items()}
    changes: list[ResourceChange] = []
    images: list[ImageChange] = []
    unchanged = 0
    for oid in sorted(set(new_by_id) | set(old_by_id)):
        new_path, new = new_by_id.get(oid, (None, None))
        old_path, old = old_by_id.get(oid, (None, None))
        path = new_path or old_path or ""
        ident = {"kind": oid.kind, "namespace": oid.namespace, "name": oid.name}
        if old is None:
            changes.append(ResourceChange(action="added", path=path, fields=[], **ident))
        elif new is None:
            changes.append(ResourceChange(action="removed", path=path, fields=[], **ident))
        elif old != new:
            fields = changed_fields(old, new)
            shown = fields[:MAX_FIELDS] + (
                [f"... {len(fields) - MAX_FIELDS} more"] if len(fields) > MAX_FIELDS else []
            )
            changes.append(ResourceChange(action="changed", path=path, fields=shown, **ident))
        else:
            unchanged += 1
        before, after = _images(old), _images(new)
        for container in sorted(set(before) | set(after)):
            if before.get(container) != after.get(container):
                images.append(
                    ImageChange(
                        container=container, old=before.get(container), new=after.get(container), **ident
                    )
                )
    order = {"added": 0, "changed": 1, "removed": 2}
    changes.sort(key=lambda c: (order[c.action], c.kind, c.namespace, c.name))
    return ChangeSummary(env=env, release=release, changes=changes, images=images, unchanged=unchanged)


def deployed_images(config: PipelineConfig, current: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """The image each component runs now, found by its repository in the deployed objects."""
    found: dict[str, str] = {}
    by_repo = {c.image: name for name, c in config.components.items()}
    for _path, obj in sorted(current.items()):
        for _where, container in iter_pod_containers(obj):
            image = str(container["image"])
            component = by_repo.get(ImageRef.parse(image).repository)
            if component and component not in found:
                found[component] = image
    return found
