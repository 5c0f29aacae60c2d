"""A release: one version of the app with an image reference per component, and the commit of the
code repository it was built from.

Built from what CI produced (`--image web=ghcr.io/acme/web:1.4.2` or just `web=1.4.2`) and checked
against the config, so a component can never be rendered without an image. Its `Source` is what a
stage renders: `fluxgate.yaml` and the templates at that commit, never a checkout on some disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fluxgate.config import PipelineConfig
from fluxgate.errors import UsageError

__all__ = ["ImageRef", "Release", "Source", "build_release", "is_commit", "is_repo"]

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


class ImageRef(BaseModel):
    """`repository[:tag][@digest]`, split so policies and summaries can reason about it."""

    model_config = ConfigDict(frozen=True)

    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        rest, _, digest = text.partition("@")
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            repository, tag = rest[:colon], rest[colon + 1 :]
        else:
            repository, tag = rest, ""
        return cls(repository=repository, tag=tag or None, digest=digest or None)

    @property
    def pinned(self) -> bool:
        """Pinned by digest, or by a tag other than `latest` (which moves under your feet)."""
        return bool(self.digest) or (bool(self.tag) and self.tag != "latest")

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


_COMMIT = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


def is_repo(text: str) -> bool:
    """`owner/name`, as GitHub spells repositories (nothing a URL or a path could be made of)."""
    return bool(_REPO.fullmatch(text)) and ".." not in text


def is_commit(text: str) -> bool:
    """A full commit sha as git prints it (40 lower-case hex digits)."""
    return bool(_COMMIT.fullmatch(text))


class Source(BaseModel):
    """Where a release's config and templates come from: `fluxgate.yaml` at `path` in `repo` at
    `commit`. `digest` is the template digest `fluxgate ci` computed (`sha256:...`), once known."""

    model_config = ConfigDict(frozen=True)

    repo: str = Field(pattern=_REPO.pattern, description="the code repository, owner/name")

    @field_validator("repo")
    @classmethod
    def _a_repository(cls, value: str) -> str:
        if not is_repo(value):
            raise ValueError(f"{value!r} is not a repository (owner/name)")
        return value
    commit: str = Field(pattern=_COMMIT.pattern, description="the full commit sha")
    path: str = Field(default="fluxgate.yaml", description="fluxgate.yaml's path in the repository")
    digest: str | None = Field(default=None, description="sha256:<hex> of the template files")

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        posix = PurePosixPath(value)
        if not value or posix.is_absolute() or ".." in posix.parts or "\0" in value:
            raise ValueError(f"{value!r} must be a relative path inside the repository")
        return str(posix)

    def __str__(self) -> str:
        return f"{self.repo}@{self.commit[:12]}"


class Release(BaseModel):
    """What is being delivered: app, version, the full image reference of every component, and the
    code commit it was built from (None only while it is being planned)."""

    model_config = ConfigDict(frozen=True)

    app: str
    version: str
    images: dict[str, str] = Field(description="component name -> full image reference")
    source: Source | None = None

    @property
    def name(self) -> str:
        return f"{self.app}@{self.version}"


def _image_for(config: PipelineConfig, component: str, value: str) -> str:
    """`1.4.2`, `@sha256:...` or a full reference -> a full, checked reference."""
    repository = config.components[component].image
    if _TAG.fullmatch(value):
        return f"{repository}:{value}"
    if value.startswith("@") and _DIGEST.fullmatch(value[1:]):
        return f"{repository}{value}"
    ref = ImageRef.parse(value)
    if (ref.tag and not _TAG.fullmatch(ref.tag)) or (ref.digest and not _DIGEST.fullmatch(ref.digest)):
        raise UsageError(f"--image {component}={value}: not a valid image reference")
    if not ref.tag and not ref.digest:
        raise UsageError(f"--image {component}={value}: give a tag or digest, e.g. {value}:1.0.0")
    return str(ref)


def build_release(
    config: PipelineConfig,
    images: Mapping[str, str] | Iterable[str],
    version: str | None = None,
) -> Release:
    """A release from `component=ref` pairs (CLI style) or a mapping; every component needs one."""
    pairs: dict[str, str] = {}
    if isinstance(images, Mapping):
        pairs = dict(images)
    else:
        for item in images:
            component, sep, value = item.partition("=")
            if not sep or not component or not value:
                raise UsageError(f"--image {item!r}: expected COMPONENT=IMAGE, e.g. web=1.4.2")
            if component in pairs:
                raise UsageError(f"--image {component}: given twice")
            pairs[component] = value
    known = sorted(config.components)
    for component in pairs:
        if component not in config.components:
            raise UsageError(
                f"--image {component}: no such component; {config.file.name} defines {', '.join(known)}"
            )
    missing = [c for c in known if c not in pairs]
    if missing:
        raise UsageError(
            f"component {missing[0]!r} has no image tag: pass --image {missing[0]}=<tag or image ref>"
        )
    resolved = {c: _image_for(config, c, pairs[c]) for c in known}
    if version is None:
        tags = {ImageRef.parse(ref).tag for ref in resolved.values()}
        if len(tags) != 1 or None in tags:
            raise UsageError("the images do not share one tag: pass --version for the release")
        version = tags.pop()
    if version is None or not _VERSION.fullmatch(version):
        raise UsageError(f"--version {version!r}: use letters, digits, '.', '_', '+' or '-'")
    return Release(app=config.app, version=version, images=resolved)
