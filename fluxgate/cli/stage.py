"""`fluxgate deploy`, `fluxgate promote`, `fluxgate status`: stage runs from the terminal.

Each command creates or reads runs of the `deploy-stage` deployment on the Prefect server
(`PREFECT_API_URL`); the runs themselves are executed by `fluxgate serve` or a Prefect worker.
Approval is not a command: it is the review of the manifests PR in GitHub.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from uuid import UUID

import typer

from fluxgate.cli.app import ConfigOpt, EnvOpt, ImageOpt, RefOpt, VersionOpt, _config, app, user_errors
from fluxgate.cli.sources import source_gateway
from fluxgate.errors import PrefectUnavailable, UsageError
from fluxgate.prefect_api import PrefectApi, check_health, connect, load_flow, run_url
from fluxgate.release import build_release
from fluxgate.runs import completed_stages, create_stage_run, read_hold, stage_runs
from fluxgate.stage import FLOW_NAME, RunState, StageRequest, StageRun, pin_request, pinned, resolve_source
from fluxgate.warm_start import serve_flow, use_forkserver

WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Follow the run until it ends; exit 1 unless it completes.")
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Deploy again although the environment runs it.")]


def _already_deployed(api: PrefectApi, request: StageRequest) -> StageRun | None:
    """A completed stage of exactly this release (images, code and config commits) in its environment:
    the same version rendered from new config is a new release, not a repeat."""
    done = completed_stages(api, request.app, request.version, request.env)
    return next((run for run in done if run.request.same_release(request)), None)


def _start(request: StageRequest, wait: bool) -> None:
    typer.echo(f"{request.label} renders " + "; ".join(request.sources()))
    with connect() as api:
        done = None if request.force else _already_deployed(api, request)
        if done is not None:
            raise UsageError(
                f"{request.label} is already deployed to {request.env} from these commits "
                f"({run_url(done.id)}); use --force to deploy it again"
            )
        run = create_stage_run(api, request)
        typer.echo(f"{request.run_name}: {run_url(run.id)}")
        if wait:
            _follow(api, run.id)


def _follow(api: PrefectApi, run_id: UUID, poll: float = 1.0) -> None:
    """Print each change of the run's state until it ends; the exit code says how it ended."""
    last = None
    while True:
        run = api.read_run(run_id)
        now = run.describe()
        if now != last:
            typer.echo(f"  {time.strftime('%H:%M:%S')}  {now}")
            last = now
        if run.ended:
            if run.state != RunState.COMPLETED:
                raise typer.Exit(1)
            return
        time.sleep(poll)


@app.command()
@user_errors
def deploy(
    env: EnvOpt,
    image: ImageOpt = None,
    version: VersionOpt = None,
    ref: RefOpt = None,
    wait: WaitOpt = False,
    force: ForceOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Start a stage run for one environment: render, PR, merge, Flux, verification, promotion.

    The stage renders fluxgate.yaml and the templates of code_repo at --ref (resolved to a commit
    now), and the environment's config repository at the commit its ref names now.
    """
    local = _config(config)
    local.environment(env)  # cheap mistakes first: the environment, then Prefect, then GitHub
    check_health()
    gw = source_gateway("fluxgate deploy")
    source, cfg = resolve_source(gw, local, ref)
    cfg.environment(env)
    release = build_release(cfg, image or [], version).model_copy(update={"source": source})
    _start(pin_request(gw, release, env, force=force), wait)


@app.command()
@user_errors
def promote(
    release: Annotated[str, typer.Argument(help="APP@VERSION, e.g. shop@1.4.2")],
    to: Annotated[str, typer.Option("--to", help="The environment to promote to.")],
    wait: WaitOpt = False,
    force: ForceOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Promote a release that passed the previous environment (for environments promoted by hand).

    It renders the code commit the release passed with; the environment's config at its ref now.
    """
    cfg = _config(config)
    app_name, _, version = release.partition("@")
    if app_name != cfg.app or not version:
        raise UsageError(f"{release!r}: expected {cfg.app}@VERSION")
    names = [e.name for e in cfg.environments]
    index = names.index(cfg.environment(to).name)
    with connect() as api:
        if index == 0:
            raise UsageError(f"{to} is the first environment: use `fluxgate deploy --env {to}`")
        previous = names[index - 1]
        passed = completed_stages(api, cfg.app, version, previous)
        if not passed:
            raise UsageError(f"{release} has not passed {previous} yet: nothing to promote to {to}")
        request = passed[0].request.to(to)
    request = pinned(source_gateway("fluxgate promote"), request)  # the same code commit; to's config now
    _start(request.model_copy(update={"force": force}), wait)


def _render_command(request: StageRequest) -> str:
    """The one command that renders a stage's manifests again, byte for byte."""
    images = " ".join(f"--image {name}={ref}" for name, ref in sorted(request.images.items()))
    configs = "".join(f" --config-ref {repo}={commit}" for repo, commit in sorted(request.configs.items()))
    return (
        f"fluxgate render --env {request.env} --ref {request.source.commit} {images} "
        f"--version {request.version}{configs}"
    )


def _duration(run: StageRun) -> str:
    seconds = run.run_time.total_seconds()
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


@app.command()
@user_errors
def status(
    release: Annotated[
        str | None, typer.Argument(help="APP@VERSION; default: the app's latest runs.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """A table of environments: the latest stage run's state, PR, revision and run time; then the
    commits each one rendered and the command that renders it again."""
    from rich.console import Console
    from rich.table import Table

    cfg = _config(config)
    version = release.partition("@")[2] if release else None
    table = Table("environment", "release", "state", "pull request", "revision", "run time")
    latest: list[tuple[str, StageRun]] = []
    with connect() as api:
        for env in cfg.environments:
            runs = stage_runs(api, cfg.app, version, env.name)
            tags = runs[0].stage if runs else None
            if tags is None:
                table.add_row(env.name, "—", "not deployed", "", "", "")
                continue
            if runs[0].renders_by_commit:
                latest.append((env.name, runs[0]))
            table.add_row(
                env.name,
                tags.release,
                runs[0].describe(),
                str(tags.pr or ""),
                (tags.sha or "")[:12],
                _duration(runs[0]),
            )
        holds = [h for env in cfg.environments if (h := read_hold(api, cfg.app, env.name)) is not None]
    Console(width=160).print(table)
    for env_name, run in latest:
        typer.echo(f"{env_name}: {run.request.label} rendered from")
        for line in run.request.sources():
            typer.echo(f"  {line}")
        typer.echo(f"  again: {_render_command(run.request)}")
    for hold in holds:
        lift = f"`fluxgate release-hold --env {hold.env}`"
        typer.echo(f"{hold.env} is held since {hold.since} ({hold.reason}): {lift} lifts it")


@app.command()
@user_errors
def serve(
    poll: Annotated[
        float,
        typer.Option("--poll", help="Seconds between looks for runs Prefect did not announce (a fallback)."),
    ] = 2.0,
    limit: Annotated[int, typer.Option("--limit", help="Stage runs executing at once.")] = 10,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="Seconds to wait for the Prefect server to answer (one starting alongside); 0: not at all.",
        ),
    ] = 0.0,
) -> None:
    """Serve the deploy-stage deployment from this machine (a local runner; no work pool needed).

    Waiting stages hold no process: the runner starts one per run, and again when a run is resumed.
    """
    if not poll > 0:
        raise UsageError(f"--poll {poll:g}: must be more than 0 seconds")
    if limit < 1:
        raise UsageError(f"--limit {limit}: must be 1 or more")
    if not wait >= 0:
        raise UsageError(f"--wait {wait:g}: must be 0 seconds or more")
    flow: Any = load_flow("flows.deploy_stage:deploy_stage")
    use_forkserver(["fluxgate.cli", "flows.deploy_stage"])  # what the `fluxgate` script imports, and the flow
    _healthy_within(wait)  # one clear line when the server is down, before the runner's own retries
    serve_flow(flow, FLOW_NAME, limit=limit, poll=poll)


def _healthy_within(seconds: float) -> None:
    """`check_health`, asked again until `seconds` have passed: a server starting with the runner."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check_health()
            return
        except PrefectUnavailable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
