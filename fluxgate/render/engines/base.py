"""What every engine receives, and the helpers engines that shell out to a binary share."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from fluxgate.config import Templates
from fluxgate.errors import TemplateError, ToolMissing
from fluxgate.objects import collect_objects
from fluxgate.yamlfile import display_path

__all__ = ["Rendered", "TemplateRequest", "find_tool", "parse_yaml_stream", "run_tool"]

TOOL_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class TemplateRequest:
    """One engine invocation: the templates, the repo root they live in, and the context."""

    root: Path
    templates: Templates
    context: dict[str, Any]
    values_file: Path | None = None
    image_repositories: dict[str, str] = field(default_factory=dict)  # as written in templates
    boundary: Path | None = None  # what templates may read (the repository's root); default: root

    @property
    def inside(self) -> Path:
        """The folder no template may read outside of: the repository, never the worker's disk."""
        return (self.boundary or self.root).resolve()

    @property
    def entry(self) -> Path:
        return self.root / self.templates.path

    def show(self, path: Path) -> str:
        return display_path(path, self.root)


@dataclass(frozen=True)
class Rendered:
    """What an engine returns: the objects in document order and, parallel to them, where each
    came from (`file:line` when the engine knows the line, else the file or folder). The origins
    stay beside the objects, never in them: objects are written to the manifests repo as they are.
    """

    objects: list[dict[str, Any]]
    origins: list[str]

    def __post_init__(self) -> None:
        if len(self.objects) != len(self.origins):
            raise ValueError(f"{len(self.objects)} objects but {len(self.origins)} origins")

    @classmethod
    def from_one_place(cls, objects: list[dict[str, Any]], where: str) -> Rendered:
        """Objects an engine can only trace back to one file or folder (jsonnet, kustomize, helm)."""
        return cls(objects, [where] * len(objects))


def find_tool(*candidates: str, engine: str) -> str:
    """The first of `candidates` on PATH, or an error that names what to install."""
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    wanted = " or ".join(f"`{c}`" for c in candidates)
    raise ToolMissing(f"the {engine} engine needs {wanted} on PATH; none was found")


def run_tool(argv: list[str], what: str, cwd: Path | None = None) -> str:
    """Run an engine binary; its last stderr line becomes the error when it fails."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TemplateError(f"{what}: timed out after {TOOL_TIMEOUT_S:.0f}s") from exc
    except OSError as exc:
        raise ToolMissing(f"{what}: cannot run {argv[0]}: {exc.strerror}") from exc
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise TemplateError(f"{what}: {reason}")
    return done.stdout


def parse_yaml_stream(text: str, where: str) -> list[dict[str, Any]]:
    """Objects from a multi-document YAML stream printed by kustomize or helm."""
    try:
        docs = list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError as exc:
        raise TemplateError(f"{where}: printed invalid YAML: {str(exc).splitlines()[0]}") from exc
    return collect_objects([d for d in docs if d is not None], where)
