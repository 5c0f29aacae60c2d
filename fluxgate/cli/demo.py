"""`fluxgate demo`: the whole product on this machine, on the embedded example app.

A Prefect server, the emulated GitHub, the connector, a `fluxgate serve` runner and a simulated
Flux start under one data folder; then two releases run through them (see
`fluxgate.sandbox.demo.scenario`). Everything stops at the end, unless `--keep` leaves it running to
explore the Prefect UI and the emulated GitHub's API.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from fluxgate.cli.app import app, user_errors


@app.command()
@user_errors
def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave everything running at the end (Ctrl-C stops it).")
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder for the state and logs, kept afterwards (default: temporary)"),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a step of the story may take")] = 180,
) -> None:
    """Run two releases through the real pipeline: 1.0.0 to prod, 1.1.0 stopped in staging and rolled back."""
    from rich.console import Console
    from rich.live import Live

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
    story = Story(folder, say=console.print, timeout=timeout)
    succeeded = False
    console.print(f"[bold]fluxgate demo[/]: starting Prefect, GitHub (emulated), the connector, a runner and "
                  f"Flux (simulated) under {folder}")  # fmt: skip
    try:
        story.start(lambda config: Board(clusters_of(config), started))
        stack = story.stack
        assert stack is not None and stack.github is not None and story.config is not None
        console.print(f"up in {time.monotonic() - started:.0f} s; Prefect UI: {_ui(stack.prefect_url)}\n")
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
