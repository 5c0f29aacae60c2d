"""The release a CI run produces: its version, one image per component, what to build, and a digest
of the templates it was validated with.

Pure planning for the CI flow, between `detect_changes` and `build_images`: a changed component
gets the new tag; an unchanged one keeps the image of the last release (`previous`, as read back
from wherever the flow keeps it), so a push that touches one service builds one image. An
unchanged component without a usable previous image is built anyway: the release must name an
image for every component.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from fluxgate.ci.changes import ComponentChanges
from fluxgate.config import Component, PipelineConfig
from fluxgate.errors import CiError
from fluxgate.release import ImageRef, Release, build_release
from fluxgate.render.digest import template_digest

__all__ = ["CiRelease", "compute_release", "template_digest"]

# Docker's tag and digest grammar, for the images kept from the previous release.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
# A version that is both a Docker tag and a release version: it tags the images that are built.
_NEW_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_SHORT_SHA = 7  # the length the connector's workflow_run trigger tags images with


class CiRelease(BaseModel):
    """The release to deliver, which of its images still have to be built, and why."""

    model_config = ConfigDict(frozen=True)

    release: Release
    built: list[str] = Field(description="components to build and push, sorted")
    reasons: dict[str, str] = Field(description="component -> why it is built")
    digest: str = Field(description="sha256:<hex> of the template files")


def _reusable(component: Component, ref: str) -> bool:
    """Whether a previous image still fits: the component's repository, pinned (not `latest`)."""
    parsed = ImageRef.parse(ref)
    return (
        parsed.repository == component.image
        and parsed.pinned
        and (parsed.tag is None or bool(_TAG.fullmatch(parsed.tag)))
        and (parsed.digest is None or bool(_DIGEST.fullmatch(parsed.digest)))
    )


def _why_changed(changes: ComponentChanges, name: str) -> str | None:
    """Why the component's source needs a new image, or None when it did not change."""
    change = changes.components.get(name)
    if change is None:
        return "not compared (a new component)"
    if changes.first_build:
        return "first build"
    if change.changed:
        more = f" and {len(change.files) - 1} more" if len(change.files) > 1 else ""
        return f"changed: {change.files[0]}{more}"
    return None


def compute_release(
    config: PipelineConfig,
    changes: ComponentChanges,
    previous: Mapping[str, str] | None = None,
    version: str | None = None,
) -> CiRelease:
    """The release of `changes.head`: changed components get the new tag, the others keep theirs.

    Args:
        config: the pipeline config.
        changes: what `detect_changes` found between the last build and this commit.
        previous: component -> full image reference of the last release (e.g. its `images`).
        version: the release version, also the new image tag; default: the head's short sha.

    Raises:
        CiError: `version` cannot be a Docker image tag.
        ConfigError: a template path of the config does not exist (from `template_digest`).
    """
    tag = version if version is not None else changes.head[:_SHORT_SHA]
    if not _NEW_TAG.fullmatch(tag):
        raise CiError(
            f"version {tag!r} cannot tag images: use up to 100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    previous = previous or {}
    images: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for name, component in sorted(config.components.items()):
        reason = _why_changed(changes, name)
        kept = previous.get(name)
        if reason is None and kept and _reusable(component, kept):
            images[name] = kept
            continue
        if reason is None:
            reason = (
                f"unchanged, but the previous image {kept} is not a pinned image of {component.image}"
                if kept
                else "unchanged, but there is no previous image"
            )
        images[name] = f"{component.image}:{tag}"
        reasons[name] = reason
    release = build_release(config, images, tag)
    return CiRelease(release=release, built=sorted(reasons), reasons=reasons, digest=template_digest(config))
