"""`fluxgate demo`: what runs today, on the embedded example, with real git and real jsonnet.

Until the sandbox (GitHub emulator, simulated Flux, Prefect server) lands, the demo shows the render
stage the rest of the pipeline builds on: release 1.0.0 rendered and committed for every
environment of `examples/shop`, then release 1.1.0 compared with what each environment runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import git
import typer

from fluxgate.cli.app import app, user_errors
from fluxgate.config import load_config
from fluxgate.errors import ConfigError
from fluxgate.release import build_release
from fluxgate.render import make_validator, render_environment, write_tree
from fluxgate.summary import read_git_ref, summarize, to_markdown

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop" / "fluxgate.yaml"


@app.command()
@user_errors
def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep the demo manifests repository in this folder.")
    ] = None,
) -> None:
    """Render the example app for every environment into a real git repo and diff the next release."""
    if not EXAMPLE.is_file():
        raise ConfigError(f"{EXAMPLE}: the example app is missing; run the demo from a fluxgate checkout")
    config = load_config(EXAMPLE)
    validator = make_validator(config)
    typer.echo("fluxgate demo: the render stage on examples/shop (jsonnet, 3 environments)")
    typer.echo("(the full pipeline: PRs, Flux health and promotion, arrives with the sandbox)\n")
    with tempfile.TemporaryDirectory(prefix="fluxgate-demo-") as tmp:
        root = keep or Path(tmp)
        repo = git.Repo.init(root, initial_branch="main")
        writer = repo.config_writer()
        writer.set_value("user", "name", "fluxgate demo").set_value("user", "email", "demo@fluxgate.invalid")
        writer.release()
        first = build_release(config, {c: "1.0.0" for c in config.components})
        for env in config.environments:
            result = render_environment(config, env.name, first, validator=validator)
            write_tree(root, result.files(), result.folders())
            count = len(result.manifests.objects)
            typer.echo(f"  {first.name} -> {env.name}: {count} objects in {root / env.manifests_folder}")
        repo.git.add(A=True)
        repo.index.commit(f"{first.name}: all environments")
        typer.echo(f"\ncommitted {first.name} to {root} (branch main)\n")
        second = build_release(config, {"web": "1.1.0", "worker": "1.0.0"}, version="1.1.0")
        for env in config.environments:
            result = render_environment(config, env.name, second, validator=validator)
            current = read_git_ref(root, "main", env.manifests_folder)
            typer.echo(to_markdown(summarize(env.name, second.name, result.manifests.objects, current)))
    typer.echo("demo finished: every object was rendered, validated against Kubernetes schemas and diffed")
