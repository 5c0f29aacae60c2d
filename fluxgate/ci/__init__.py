"""What CI does before the first stage, without Prefect: plain data and functions the CI flow composes.

`detect_changes` (which components a push changed since the last build) -> `compute_release`
(version, one image per component, what to build, template digest) -> `check_templates` (every
environment renders) -> `build_images` (build and push only what changed).
"""

from fluxgate.ci.build import BuiltImage, DockerApi, RegistryCredentials, build_images, registry_of
from fluxgate.ci.changes import ComponentChange, ComponentChanges, detect_changes
from fluxgate.ci.release import CiRelease, compute_release, template_digest
from fluxgate.ci.report import (
    CiOutcome,
    LastBuild,
    changes_markdown,
    last_build_name,
    outcome_lines,
    release_markdown,
)
from fluxgate.ci.templates import check_templates

__all__ = [
    "BuiltImage",
    "CiOutcome",
    "CiRelease",
    "ComponentChange",
    "ComponentChanges",
    "DockerApi",
    "LastBuild",
    "RegistryCredentials",
    "build_images",
    "changes_markdown",
    "check_templates",
    "compute_release",
    "detect_changes",
    "last_build_name",
    "outcome_lines",
    "registry_of",
    "release_markdown",
    "template_digest",
]
