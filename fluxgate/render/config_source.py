"""An environment's config source: its values file and overlay snippets.

The source is a folder of the code repo, or of a separate config repo that the caller has checked
out (`checkouts` maps `owner/name` to a local folder); fluxgate never guesses where that is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from fluxgate.config import Environment, PipelineConfig
from fluxgate.errors import ConfigError
from fluxgate.yamlfile import display_path, load_documents, load_mapping, to_plain

__all__ = ["EnvConfig", "Overlay", "load_env_config"]


@dataclass(frozen=True)
class Overlay:
    """A partial object deep-merged onto the rendered object with the same identity."""

    where: str  # file:line, for errors
    api_version: str
    kind: str
    name: str
    namespace: str | None
    patch: dict[str, Any]


@dataclass(frozen=True)
class EnvConfig:
    """What the config source contributes to one environment's render."""

    folder: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)
    values_file: Path | None = None
    overlays: list[Overlay] = field(default_factory=list)


def _overlay(doc: Any, where: str) -> Overlay:
    if not isinstance(doc, CommentedMap):
        raise ConfigError(f"{where}: an overlay must be a mapping (a partial Kubernetes object)")
    plain = to_plain(doc)
    meta = plain.get("metadata")
    for key, value in (("apiVersion", plain.get("apiVersion")), ("kind", plain.get("kind"))):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: overlay needs {key} to find the object it changes")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ConfigError(f"{where}: overlay needs metadata.name to find the object it changes")
    return Overlay(
        where=where,
        api_version=plain["apiVersion"],
        kind=plain["kind"],
        name=meta["name"],
        namespace=meta.get("namespace"),
        patch=plain,
    )


def _folder(config: PipelineConfig, env: Environment, checkouts: Mapping[str, Path]) -> Path | None:
    source = env.config
    if source is None:
        return None
    if source.repo is None:
        base = config.root
    elif source.repo in checkouts:
        base = checkouts[source.repo]
    else:
        raise ConfigError(
            f"environment {env.name!r}: config repo {source.repo} is not checked out; "
            f"pass --config-repo {source.repo}=DIR"
        )
    folder = base / source.path
    if not folder.is_dir():
        raise ConfigError(f"environment {env.name!r}: config folder {display_path(folder)} not found")
    return folder


def load_env_config(
    config: PipelineConfig, env: Environment, checkouts: Mapping[str, Path] | None = None
) -> EnvConfig:
    folder = _folder(config, env, checkouts or {})
    if folder is None or env.config is None:
        return EnvConfig()
    source = env.config
    values: dict[str, Any] = {}
    values_file: Path | None = folder / source.values
    if values_file is not None and values_file.is_file():
        values = to_plain(load_mapping(values_file, ConfigError, empty_ok=True))
    elif "values" in source.model_fields_set:
        raise ConfigError(
            f"environment {env.name!r}: values file {display_path(folder / source.values)} not found"
        )
    else:
        values_file = None
    overlays: list[Overlay] = []
    overlay_dir = folder / source.overlays
    if overlay_dir.is_dir():
        for path in sorted(overlay_dir.rglob("*")):
            if path.suffix not in (".yaml", ".yml") or not path.is_file():
                continue
            for doc in load_documents(path, ConfigError):
                line = doc.lc.line + 1 if isinstance(doc, CommentedMap) else 1
                overlays.append(_overlay(doc, f"{display_path(path)}:{line}"))
    elif "overlays" in source.model_fields_set:
        raise ConfigError(f"environment {env.name!r}: overlay folder {display_path(overlay_dir)} not found")
    return EnvConfig(folder=folder, values=values, values_file=values_file, overlays=overlays)
