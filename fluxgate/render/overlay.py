"""Environment overlays: deep-merge partial objects onto rendered ones.

Mappings merge key by key, `null` deletes a key, lists of named items (containers, env, ports,
volumes) merge item by item on `name`, and any other list is replaced, the way a reviewer reading
the snippet expects.
"""

from __future__ import annotations

import copy
from typing import Any

from fluxgate.errors import ConfigError
from fluxgate.objects import is_cluster_scoped
from fluxgate.render.config_source import Overlay

__all__ = ["apply_overlays", "deep_merge"]


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def _merge_lists(base: list[Any], patch: list[Any]) -> list[Any]:
    if not (base and patch and _named(base) and _named(patch)):
        return copy.deepcopy(patch)
    merged = [copy.deepcopy(item) for item in base]
    index = {item["name"]: item for item in merged}
    for item in patch:
        if item["name"] in index:
            deep_merge(index[item["name"]], item)
        else:
            merged.append(copy.deepcopy(item))
    return merged


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge `patch` into `base` in place and return it."""
    for key, value in patch.items():
        current = base.get(key)
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(current, dict):
            deep_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list):
            base[key] = _merge_lists(current, value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def apply_overlays(objects: list[dict[str, Any]], overlays: list[Overlay], namespace: str | None) -> None:
    """Apply every overlay to its object; an overlay that matches nothing is a typo, not a no-op."""
    index: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        key = (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta.get("name", ""))
        index[key] = obj
    for overlay in overlays:
        ns = overlay.namespace or ("" if is_cluster_scoped(overlay.kind) else (namespace or ""))
        target = index.get((overlay.api_version, overlay.kind, ns, overlay.name))
        if target is None:
            shown = f"{ns}/{overlay.name}" if ns else overlay.name
            raise ConfigError(
                f"{overlay.where}: overlay targets {overlay.api_version} {overlay.kind} {shown}, "
                "which the templates do not render"
            )
        deep_merge(target, overlay.patch)
