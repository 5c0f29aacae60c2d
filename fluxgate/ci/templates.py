"""Render a CI release for every environment, dry, so broken templates fail CI and not a stage.

The same render and validation as `fluxgate render` and the stage flow (`render_environment`),
with nothing written: CI learns at the push that introduced it that a template no longer
evaluates or an object breaks the schema, instead of when the release reaches that environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fluxgate.config import PipelineConfig
from fluxgate.release import Release
from fluxgate.render import make_validator, render_environment

__all__ = ["check_templates"]


def check_templates(
    config: PipelineConfig, release: Release, checkouts: Mapping[str, Path] | None = None
) -> dict[str, int]:
    """The number of objects each environment renders to; raises the first environment's failure.

    Args:
        config: the pipeline config.
        release: the release CI is about to build (its images are what the templates see).
        checkouts: config repo (owner/name) -> checkout folder, for environments configured there.

    Raises:
        TemplateError, ValidationFailed, RenderError, ConfigError: as `fluxgate render` would.
    """
    validator = make_validator(config)
    return {
        env.name: len(
            render_environment(
                config, env.name, release, checkouts=checkouts, validator=validator
            ).manifests.objects
        )
        for env in config.environments
    }
