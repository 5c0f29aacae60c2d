"""The render stage: templates + release + environment config -> a validated manifest set.

    engine output -> default namespaces -> overlays -> layout -> policies + schemas -> ManifestSet

Pure planning: nothing is written here (see `fluxgate.render.write`), so the same result can go
to a folder, to stdout, or into a Git commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fluxgate.config import Environment, PipelineConfig
from fluxgate.errors import RenderError, ValidationFailed
from fluxgate.objects import ObjectId, with_origin
from fluxgate.release import Release
from fluxgate.render.config_source import load_env_config
from fluxgate.render.emit import dump
from fluxgate.render.engines import ENGINES, TemplateRequest
from fluxgate.render.layout import object_path, set_default_namespace
from fluxgate.render.overlay import apply_overlays
from fluxgate.validate import SchemaValidator, policy_problems

__all__ = ["ManifestSet", "RenderResult", "make_validator", "render_environment", "template_context"]


@dataclass(frozen=True)
class ManifestSet:
    """The whole content of an environment's folder: repo path -> object, sorted by path."""

    folder: str
    objects: dict[str, dict[str, Any]]

    def files(self) -> dict[str, str]:
        return {path: dump(obj) for path, obj in self.objects.items()}


@dataclass(frozen=True)
class RenderResult:
    env: Environment
    release: Release
    manifests: ManifestSet
    hld: dict[str, str] = field(default_factory=dict)  # path -> text, when manifests.hld is set
    unvalidated: list[str] = field(default_factory=list)  # kinds without a schema

    def files(self) -> dict[str, str]:
        return {**self.manifests.files(), **self.hld}

    def folders(self) -> list[str]:
        """The folders this result owns whole: stale files in them are removed on write."""
        return [self.manifests.folder, *{str(PurePosixPath(p).parent) for p in self.hld}]


def template_context(
    config: PipelineConfig, env: Environment, release: Release, values: Mapping[str, Any]
) -> dict[str, Any]:
    """What every template engine sees; the same keys for jsonnet, YAML, kustomize and helm."""
    return {
        "app": config.app,
        "version": release.version,
        "env": {
            "name": env.name,
            "namespace": env.namespace,
            "clusters": [c.name for c in env.clusters],
        },
        "images": dict(release.images),
        "values": dict(values),
    }


def make_validator(config: PipelineConfig) -> SchemaValidator:
    settings = config.kubernetes
    return SchemaValidator(
        version=settings.version,
        strict=settings.strict,
        missing=settings.missing_schemas,
        schema_dirs=[config.root / d for d in settings.schema_dirs],
    )


def _place(
    objects: list[dict[str, Any]], env: Environment, layout: str, origins: Mapping[int, str]
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """Each object's repo path; `origins` (by `id(object)`) is where each came from, for problems."""
    placed: list[tuple[str, dict[str, Any]]] = []
    problems: list[str] = []
    owners: dict[str, tuple[ObjectId, str]] = {}
    for obj in objects:
        origin = origins[id(obj)]
        try:
            path = object_path(obj, env.manifests_folder, layout)
        except RenderError as exc:
            problems.append(f"{origin}: {exc.message}")
            continue
        oid = ObjectId.of(obj)
        if path in owners and owners[path][0] != oid:
            (first, first_origin), second = owners[path], oid
            groups = f"(groups {first.group or 'core'}, {second.group or 'core'})"
            both = first_origin if first_origin == origin else f"{first_origin} and {origin}"
            problems.append(
                f"{with_origin(path, both)}: {first} and {second} {groups} map to the same file; "
                "add {group} to manifests.layout or rename one"
            )
            continue
        owners.setdefault(path, (oid, origin))
        placed.append((path, obj))
    return placed, problems


def render_environment(
    config: PipelineConfig,
    env_name: str,
    release: Release,
    *,
    checkouts: Mapping[str, Path] | None = None,
    validator: SchemaValidator | None = None,
) -> RenderResult:
    """Render and validate one environment; raises ValidationFailed listing every problem."""
    env = config.environment(env_name)
    env_config = load_env_config(config, env, checkouts)
    context = template_context(config, env, release, env_config.values)
    request = TemplateRequest(
        root=config.root,
        templates=config.templates,
        context=context,
        values_file=env_config.values_file,
        image_repositories={name: c.image for name, c in config.components.items()},
        boundary=config.repo_root,
    )
    rendered = ENGINES[config.templates.engine](request)
    objects = rendered.objects
    # Where each object came from (`deploy/app.yaml:12`), beside the objects, never inside them:
    # overlays change objects in place, so their ids hold until the result is built.
    origins = {id(obj): origin for obj, origin in zip(objects, rendered.origins, strict=True)}
    for obj in objects:
        set_default_namespace(obj, env.namespace, origins[id(obj)])
    apply_overlays(objects, env_config.overlays, env.namespace)

    placed, problems = _place(objects, env, config.manifests.layout, origins)
    problems += policy_problems(placed, origins)
    validator = validator or make_validator(config)
    for path, obj in placed:
        label = f"{with_origin(path, origins[id(obj)])}: {ObjectId.of(obj)}"
        problems += [f"{label}: {p}" for p in validator.problems(obj)]
    if problems:
        raise ValidationFailed.from_problems(problems)

    hld: dict[str, str] = {}
    if config.manifests.hld:
        hld_path = PurePosixPath(config.manifests.hld, env.manifests_folder, "release.yaml")
        hld[str(hld_path)] = dump({**context, "engine": config.templates.engine})
    return RenderResult(
        env=env,
        release=release,
        manifests=ManifestSet(env.manifests_folder, dict(sorted(placed))),
        hld=hld,
        unvalidated=sorted(validator.skipped),
    )
