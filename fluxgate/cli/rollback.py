"""`fluxgate rollback` and `fluxgate release-hold`: taking a release back as a reviewed Git change.

A rollback is a stage run like any other (PR, merge, Flux, verification), so Git and the cluster
never disagree; it also holds automatic promotion into the environment until a person lifts the
hold, so the next release does not walk straight back into what was just rolled back.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fluxgate.cli.app import ConfigOpt, EnvOpt, _config, app, user_errors
from fluxgate.errors import UsageError
from fluxgate.prefect_api import connect, run_url
from fluxgate.runs import release_hold, rollback_request, stage_runs, start_rollback

__all__: list[str] = []


@app.command()
@user_errors
def rollback(
    env: EnvOpt,
    to: Annotated[
        str | None,
        typer.Option("--to", help="APP@VERSION to restore; default: the last verified one before."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Open the PR that restores an environment to an earlier verified release, and hold promotion into it."""
    cfg = _config(config)
    env_name = cfg.environment(env).name
    version = None
    if to is not None:
        app_name, _, version = to.partition("@")
        if app_name != cfg.app or not version:
            raise UsageError(f"--to {to!r}: expected {cfg.app}@VERSION")
    with connect() as api:
        runs = stage_runs(api, cfg.app, env=env_name)
        if not runs:
            raise UsageError(f"{cfg.app} was never deployed to {env_name}: nothing to roll back")
        current = runs[0].request.version
        request = rollback_request(api, cfg.app, env_name, current, version)
        run = start_rollback(api, request)
    typer.echo(f"{request.run_name}: {run_url(run.id)}")
    typer.echo(f"automatic promotion into {env_name} is held until `fluxgate release-hold --env {env_name}`")


@app.command("release-hold")
@user_errors
def release_hold_command(env: EnvOpt, config: ConfigOpt = None) -> None:
    """Let automatic promotion into an environment go on again after a rollback."""
    cfg = _config(config)
    env_name = cfg.environment(env).name
    with connect() as api:
        hold = release_hold(api, cfg.app, env_name)
    if hold is None:
        typer.echo(f"{env_name} is not held")
    else:
        typer.echo(f"released the hold on {env_name} (held since {hold.since}: {hold.reason})")
