"""The sandbox's commands: `fluxgate demo` (the whole product on this machine, on the embedded example
app) and `fluxgate sandbox github` (the emulated GitHub on its own, for local runs).

`fluxgate.cli` registers them when the sandbox is installed (`register`); the production image ships
without the sandbox, and its `fluxgate` has neither command. The demo starts a Prefect server, the
emulated GitHub, the connector, a `fluxgate serve` runner and a simulated Flux under one data folder,
then runs two releases through them (`fluxgate.sandbox.demo.scenario`). Everything stops at the end,
unless `--keep` leaves it running to explore the Prefect UI and the emulated GitHub's API.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fluxgate.errors import SettingsError, UsageError

__all__ = ["register"]

Command = Callable[..., Any]


def register(app: typer.Typer, user_errors: Callable[[Command], Command]) -> None:
    """Add `demo` and `sandbox github` to the `fluxgate` command line."""
    app.command()(user_errors(demo))
    sandbox = typer.Typer(
        help="Local stand-ins for GitHub (and later Flux), for tests and demos.", no_args_is_help=True
    )
    sandbox.command("github")(user_errors(github_command))
    app.add_typer(sandbox, name="sandbox")


def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave everything running at the end (Ctrl-C stops it).")
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder for the state and logs, kept afterwards (default: temporary)"),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a step of the story may take")] = 180,
    postgres: Annotated[
        str | None,
        typer.Option(
            "--postgres",
            help="A PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres; the role "
            "needs CREATEDB): Prefect and the connector run on databases made there, as in production.",
        ),
    ] = None,
    redis: Annotated[
        str | None,
        typer.Option(
            "--redis",
            help="With --postgres: Prefect in its HA shape (two API servers behind HAProxy, a services "
            "process, Redis messaging), e.g. redis://127.0.0.1:6379/0.",
        ),
    ] = None,
    kill_api_server: Annotated[
        bool,
        typer.Option("--kill-api-server", help="With --redis: kill -9 one Prefect API server mid-release."),
    ] = False,
) -> None:
    """Run two releases through the real pipeline: 1.0.0 to prod, 1.1.0 stopped in staging and rolled back."""
    from rich.console import Console
    from rich.live import Live

    from fluxgate.connector.store import describe_store
    from fluxgate.sandbox.demo.board import Board
    from fluxgate.sandbox.demo.github_view import github_summary
    from fluxgate.sandbox.demo.scenario import Story
    from fluxgate.sandbox.flux import clusters_of
    from fluxgate.sandbox.stack import TOKEN

    folder = data or Path(tempfile.mkdtemp(prefix="fluxgate-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    # the in-process parts (emulated GitHub, simulated Flux) log to a file, not over the board
    logging.basicConfig(filename=folder / "demo.log", level=logging.INFO, force=True,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # a log keeps the tables' lines whole
    started = time.monotonic()
    if kill_api_server and redis is None:
        raise SettingsError("--kill-api-server needs --redis (and --postgres): one server has no other")
    story = Story(folder, say=console.print, timeout=timeout, postgres=postgres,
                  keep_databases=keep or data is not None, redis=redis, kill_api=kill_api_server)  # fmt: skip
    succeeded = False
    console.print(f"[bold]fluxgate demo[/]: starting Prefect, GitHub (emulated), the connector, a runner and "
                  f"Flux (simulated) under {folder}")  # fmt: skip
    try:
        story.start(lambda config: Board(clusters_of(config), started))
        stack = story.stack
        assert stack is not None and stack.github is not None and story.config is not None
        console.print(f"up in {time.monotonic() - started:.0f} s; Prefect UI: {_ui(stack.prefect_url)}")
        for part, url in stack.databases.items():
            console.print(f"{part} on PostgreSQL: {describe_store(url)}")
        console.print()
        ending = _play(story, console, Live)
        console.print()
        envs = [e.name for e in story.config.environments]
        console.print(github_summary(stack.github.url, TOKEN, story.config.manifests.repo, envs))
        console.print()
        for line in ending.lines:
            console.print(f"[bold]*[/] {line}")
        console.print(
            f"\ndemo finished in {time.monotonic() - started:.0f} s ({ending.seconds:.0f} s of releases). "
            f"Prefect UI: {_ui(stack.prefect_url)}"
        )
        succeeded = True
        if keep:
            _linger(console, story)
    finally:
        story.close_client()
        story.stop()
        if data is None and succeeded:
            shutil.rmtree(folder, ignore_errors=True)
        elif not succeeded:
            console.print(f"logs of every process: {folder}/*.log")


def _ui(api_url: str) -> str:
    return api_url.removesuffix("/api")


def _play(story: Any, console: Any, live: Any) -> Any:
    from fluxgate.sandbox.demo.scenario import play

    if not console.is_terminal:
        return play(story)
    story.live = True
    with live(story.board, console=console, refresh_per_second=4, transient=False):
        story.say = console.print
        return play(story)


def _linger(console: Any, story: Any) -> None:
    stack = story.stack
    console.print(
        f"\n--keep: everything keeps running. Prefect UI {_ui(stack.prefect_url)}, emulated GitHub "
        f"{stack.github.url}, connector {stack.connector_url} (/deliveries lists what it did). "
        "Ctrl-C stops it all."
    )
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping")


def github_command(
    data: Annotated[Path, typer.Option("--data", help="Folder for the bare repositories and state.json.")],
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1.")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    token: Annotated[
        list[str] | None, typer.Option("--token", help="LOGIN=TOKEN accepted for API and git calls; repeat.")
    ] = None,
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", help="OWNER/NAME to create if missing (branch main); repeat."),
    ] = None,
    latency: Annotated[
        float, typer.Option("--latency", help="Seconds added to each API answer, like GitHub's (benchmarks).")
    ] = 0.0,
    record_bodies: Annotated[
        bool, typer.Option("--record-bodies", help="Keep answered JSON in the request log (benchmarks).")
    ] = False,
    secondary_limit: Annotated[
        list[str] | None,
        typer.Option(
            "--secondary-limit",
            help="COUNT/SECONDS: refuse a token's REST writes (POST, PATCH, PUT, DELETE) past COUNT in any "
            "SECONDS, as GitHub's secondary rate limit does; repeat. `github`: GitHub's 80/60 and 500/3600.",
        ),
    ] = None,
    secondary_limit_status: Annotated[
        int | None,
        typer.Option("--secondary-limit-status", help="403 (default, GitHub's usual answer) or 429."),
    ] = None,
) -> None:
    """Serve the emulated GitHub REST API and git over HTTP until interrupted."""
    from fluxgate.sandbox.github import Emulator, serve

    if not (1 <= port <= 65535):
        raise UsageError(f"--port {port}: must be between 1 and 65535")
    limits = _secondary_limits(secondary_limit or [])
    status = _secondary_status(secondary_limit_status, limits)
    emulator = Emulator(data)
    try:
        for item in token or []:
            login, sep, secret = item.partition("=")
            if not sep or not login or not secret:
                raise UsageError(f"--token {login or item}=…: expected LOGIN=TOKEN")
            emulator.add_token(secret, login)
        for name in repo or []:
            if name.lower() not in emulator.state.repos:
                try:
                    emulator.create_repo(name)
                except ValueError as exc:
                    raise UsageError(f"--repo {name}: {exc}") from None
    finally:
        emulator.close()
    typer.echo(f"GitHub emulator on http://{host}:{port} (data: {data})", err=True)
    serve(data, host, port, latency=latency, record_bodies=record_bodies, secondary_limits=limits,
          secondary_limit_status=status)


def _secondary_limits(values: list[str]) -> list[tuple[int, float]] | None:
    """The windows of every `--secondary-limit` (None without any: no secondary limits)."""
    from fluxgate.sandbox.github.rate_limits import parse_secondary_limit

    windows: list[tuple[int, float]] = []
    for value in values:
        try:
            windows.extend(parse_secondary_limit(value))
        except ValueError as exc:
            raise UsageError(f"--secondary-limit {value}: {exc}") from None
    return windows or None


def _secondary_status(status: int | None, limits: list[tuple[int, float]] | None) -> int:
    """`--secondary-limit-status`, checked: GitHub answers a secondary limit with 403 or 429, and the
    status means nothing without a limit to answer."""
    if status is None:
        return 403
    if status not in (403, 429):
        raise UsageError(f"--secondary-limit-status {status}: must be 403 or 429")
    if limits is None:
        raise UsageError(f"--secondary-limit-status {status}: needs --secondary-limit")
    return status
