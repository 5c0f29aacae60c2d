"""`fluxgate ci`: build what a push changed and start the first stage, as a run of the `ci` flow.

Runs the flow in this process (the run shows up on the server at PREFECT_API_URL, with its logs and
artifacts). `--dry-run` needs no Prefect and no Docker: it prints what would be built and the
release, checks that the templates render, and records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fluxgate.cli.app import ConfigOpt, _config, app, user_errors
from fluxgate.errors import FluxgateError
from fluxgate.prefect_api import check_health, connect, load_flow, run_url, server_configured

if TYPE_CHECKING:  # imported by the command itself: every other command starts without the CI stack
    from fluxgate.ci import ComponentChanges, LastBuild
    from fluxgate.config import PipelineConfig

__all__: list[str] = []

_FLOW_ENTRYPOINT = "flows.ci:ci"


class _NoUserErrorTraceback(logging.Filter):
    """Prefect logs a failed task with its traceback; for a user error the one line is the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, FluxgateError):
            record.exc_info, record.exc_text = None, None
        return True


@contextmanager
def _user_errors_without_tracebacks() -> Iterator[None]:
    loggers = [logging.getLogger(), *(
        logging.getLogger(name) for name in logging.root.manager.loggerDict if name.startswith("prefect")
    )]
    handlers = {h for lg in loggers for h in lg.handlers if isinstance(h, logging.StreamHandler)}
    quiet = _NoUserErrorTraceback()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def _changes_line(changes: ComponentChanges) -> str:
    since = f"since {changes.base[:12]}" if changes.base else "first build"
    return f"changed ({since}): {', '.join(changes.changed) or 'nothing'}"


def _recorded(cfg: PipelineConfig) -> LastBuild | None:
    """The last build the `ci` flow recorded, when a Prefect server is configured; else none."""
    from fluxgate.ci import LastBuild, last_build_name

    if not server_configured():
        return None
    with connect() as api:
        value = api.variable(last_build_name(cfg.app))
    return LastBuild.model_validate(value) if value is not None else None


def _dry_run(cfg: PipelineConfig, head: str, version: str | None, base: str | None) -> None:
    from fluxgate.ci import CiOutcome, check_templates, compute_release, detect_changes, outcome_lines

    last = None if base is not None else _recorded(cfg)
    changes = detect_changes(cfg, head, base if base is not None else (last.commit if last else None))
    planned = compute_release(cfg, changes, previous=last.images if last else None, version=version)
    rendered = check_templates(cfg, planned.release)
    typer.echo(_changes_line(changes))
    for line in outcome_lines(CiOutcome.of(planned)):
        typer.echo(line)
    typer.echo(f"templates render for {', '.join(rendered)}; dry run: nothing built or recorded")


@app.command("ci")
@user_errors
def ci_command(
    config: ConfigOpt = None,
    head: Annotated[str, typer.Option("--head", help="The commit to build.")] = "HEAD",
    version: Annotated[
        str | None, typer.Option("--version", help="Release version and image tag; default: short sha.")
    ] = None,
    push: Annotated[bool, typer.Option("--push/--no-push", help="Push the built images.")] = True,
    stage: Annotated[
        bool, typer.Option("--stage/--no-stage", help="Start the first environment's stage run.")
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print the changes and the release: no build, no record.")
    ] = False,
    base: Annotated[
        str | None,
        typer.Option("--base", help="With --dry-run: compare with this commit, not the last recorded build."),
    ] = None,
) -> None:
    """Build the components a push changed, record the build and start the first stage."""
    from fluxgate.ci import CiOutcome, outcome_lines

    cfg = _config(config)
    if dry_run:
        _dry_run(cfg, head, version, base)
        return
    check_health()  # one line now if the server is not there, not a failed flow later
    # By entrypoint, as a deployment would: the CLI sits below the flows layer and never imports it.
    flow: Any = load_flow(_FLOW_ENTRYPOINT)
    with _user_errors_without_tracebacks():
        outcome = CiOutcome.model_validate(
            flow(config=str(cfg.file.resolve()), head=head, version=version, push=push, start_stage=stage)
        )
    for line in outcome_lines(outcome):
        typer.echo(line)
    if outcome.stage_run:
        typer.echo(f"stage run: {run_url(outcome.stage_run)}")
