"""The CI flow's steps: thin wrappers over `fluxgate.ci` plus the Prefect state CI keeps.

Each task takes the config's path (what a deployment's parameters hold) and loads it itself. The
last successful build lives in a Prefect Variable (`fluxgate_ci_<app>`), visible and editable in
the UI: delete it and the next run builds everything.
"""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.variables import Variable
from pydantic import ValidationError

from blocks import registry_credentials
from fluxgate.ci import (
    BuiltImage,
    CiRelease,
    ComponentChanges,
    DockerApi,
    LastBuild,
    build_images,
    check_templates,
    compute_release,
    detect_changes,
    last_build_name,
)
from fluxgate.config import load_config
from fluxgate.prefect_api import connect
from fluxgate.release import Release
from fluxgate.runs import create_stage_run
from fluxgate.stage import pin_request, resolve_source
from tasks.context import gateway

__all__ = [
    "build_release_images",
    "check_release_templates",
    "compute_ci_release",
    "detect_component_changes",
    "docker_api",
    "read_last_build",
    "record_last_build",
    "start_first_stage",
]


def docker_api() -> DockerApi | None:
    """The engine images are built with; None: the one `DOCKER_HOST` (or the default socket) names."""
    return None


@task(name="read-last-build")
def read_last_build(app: str) -> LastBuild | None:
    """The commit and images of `app`'s last successful CI run, or None before the first one.

    Example:
        `read_last_build("shop")` -> `LastBuild(commit="9f2c...", images={"web": "ghcr.io/acme/web:9f2c1ab"})`
    """
    value = Variable.get(last_build_name(app))
    if value is None:
        return None
    try:
        return LastBuild.model_validate(value)
    except ValidationError:
        get_run_logger().warning(
            "variable %s is not a last build ({commit, images}): building everything", last_build_name(app)
        )
        return None


@task(name="detect-changes")
def detect_component_changes(config: str, head: str, base: str | None) -> ComponentChanges:
    """Which components changed between `base` (None: the first build) and `head` of the code repo."""
    return detect_changes(load_config(Path(config)), head, base)


@task(name="compute-release")
def compute_ci_release(
    config: str, changes: ComponentChanges, previous: dict[str, str], version: str | None
) -> CiRelease:
    """The release of `changes.head`: new tags for changed components, `previous` images for the rest."""
    return compute_release(load_config(Path(config)), changes, previous=previous, version=version)


@task(name="check-templates")
def check_release_templates(config: str, release: Release) -> dict[str, int]:
    """Render `release` for every environment, dry. Returns environment -> number of objects."""
    return check_templates(load_config(Path(config)), release)


@task(name="build-images")
def build_release_images(config: str, ci: CiRelease, push: bool) -> list[BuiltImage]:
    """Build (and push) the images of `ci.built`, streaming the engine's lines into the run's log.

    Registry logins come from the optional `fluxgate-registry` block. Nothing to build: no engine
    is asked at all.
    """
    if not ci.built:
        return []
    log = get_run_logger()
    credentials = registry_credentials() if push else []
    return build_images(
        load_config(Path(config)),
        ci,
        credentials=credentials,
        on_log=log.info,
        push=push,
        client=docker_api(),
    )


@task(name="record-last-build")
def record_last_build(app: str, build: LastBuild) -> None:
    """Remember `build` as `app`'s last successful one: the next run compares with its commit."""
    Variable.set(last_build_name(app), build.model_dump(), tags=["fluxgate", "ci"], overwrite=True)


@task(name="start-stage")
def start_first_stage(config: str, release: Release, commit: str, digest: str) -> str:
    """Start the first environment's `deploy-stage` run for `release`, rendering the code repository
    at `commit` (the one just built; it must be pushed) with the template digest CI computed.
    Returns the run's id.

    Raises:
        SettingsError: the Prefect server has no `deploy-stage` deployment.
        GitHubNotFound: the commit is not in the code repository on GitHub.
    """
    gw = gateway()
    source, cfg = resolve_source(gw, load_config(Path(config).resolve()), commit, digest)
    request = pin_request(gw, release.model_copy(update={"source": source}), cfg.environments[0].name)
    with connect(check=False) as api:
        run = create_stage_run(api, request)
    return str(run.id)
