"""`fluxgate sandbox github`: the emulated GitHub, for local runs of the whole pipeline.

It serves the REST subset fluxgate uses and git over HTTP at the same address; repositories and
tokens are set up through its `/_sandbox` admin API, or `--repo` / `--token` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fluxgate.cli.app import app
from fluxgate.errors import ConfigError

sandbox = typer.Typer(
    help="Local stand-ins for GitHub (and later Flux), for tests and demos.", no_args_is_help=True
)
app.add_typer(sandbox, name="sandbox")


@sandbox.command("github")
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
) -> None:
    """Serve the emulated GitHub REST API and git over HTTP until interrupted."""
    from fluxgate.cli.app import fail
    from fluxgate.sandbox.github import Emulator, serve

    if not (1 <= port <= 65535):
        fail(ConfigError(f"--port {port}: must be between 1 and 65535"))
    emulator = Emulator(data)
    try:
        for item in token or []:
            login, sep, secret = item.partition("=")
            if not sep or not login or not secret:
                fail(ConfigError(f"--token {login or item}=…: expected LOGIN=TOKEN"))
            emulator.add_token(secret, login)
        for name in repo or []:
            if name.lower() not in emulator.state.repos:
                try:
                    emulator.create_repo(name)
                except ValueError as exc:
                    fail(ConfigError(f"--repo {name}: {exc}"))
    finally:
        emulator.close()
    typer.echo(f"GitHub emulator on http://{host}:{port} (data: {data})", err=True)
    serve(data, host, port, latency=latency, record_bodies=record_bodies)
