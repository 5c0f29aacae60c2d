"""`ci`: what happens to a push before the first stage, as one flow run.

    last build -> detect changes -> release -> check templates -> build (and push) -> record -> stage

Started by a push webhook or a CI job (`fluxgate ci`). Only the changed components are built; the
others keep the image of the last successful build. The last build is recorded only after every
image was built, so a failed run is simply retried by the next push.
"""

# No `from __future__ import annotations` here: Prefect validates the run's parameters against the
# flow's signature when a runner or worker loads it.
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from fluxgate.ci import CiOutcome, LastBuild, changes_markdown, release_markdown
from fluxgate.config import load_config
from tasks.ci import (
    build_release_images,
    check_release_templates,
    compute_ci_release,
    detect_component_changes,
    read_last_build,
    record_last_build,
    start_first_stage,
)

__all__ = ["ci"]


@flow(name="ci", log_prints=True)
def ci(
    config: str,
    head: str = "HEAD",
    version: str | None = None,
    push: bool = True,
    start_stage: bool = True,
) -> CiOutcome:
    log = get_run_logger()
    app = load_config(Path(config)).app

    last = read_last_build(app)
    changes = detect_component_changes(config, head, last.commit if last else None)
    create_markdown_artifact(
        changes_markdown(app, changes), key=_key(app, "changes"), description=f"{app}: changed components"
    )
    log.info("changed: %s", ", ".join(changes.changed) or "nothing")

    planned = compute_ci_release(config, changes, last.images if last else {}, version)
    rendered = check_release_templates(config, planned.release)
    log.info("templates render: %s", ", ".join(f"{env} ({n} objects)" for env, n in rendered.items()))

    build_release_images(config, planned, push)
    record_last_build(app, LastBuild(commit=changes.head, images=planned.release.images))

    stage_run = None
    if start_stage:
        stage_run = start_first_stage(config, planned.release, changes.head, planned.digest)
    outcome = CiOutcome.of(planned, stage_run)
    create_markdown_artifact(
        release_markdown(outcome), key=_key(app, "release"), description=f"{planned.release.name}"
    )
    return outcome


def _key(app: str, what: str) -> str:
    """An artifact key: lowercase letters, digits and dashes only."""
    return "".join(c if c.isalnum() else "-" for c in f"{app}-ci-{what}".lower())
