"""`fluxgate`: render and diff today; deploy, promote, rollback, status and serve as they land.

Every user error is a `FluxgateError`: printed as one line per problem on stderr, exit code 2,
never a traceback. A traceback means a bug in fluxgate.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from fluxgate.config import PipelineConfig, find_config, load_config
from fluxgate.errors import FluxgateError, UsageError
from fluxgate.release import Release, build_release
from fluxgate.render import RenderResult, make_validator, render_environment, write_tree
from fluxgate.summary import deployed_images, read_current, summarize, to_markdown

app = typer.Typer(
    name="fluxgate",
    help="Multistage GitOps delivery for Flux v2 and GitHub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Pipeline config; default: fluxgate.yaml here or in a parent folder."
    ),
]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment name from fluxgate.yaml.")]
ImageOpt = Annotated[
    list[str] | None,
    typer.Option("--image", "-i", help="COMPONENT=TAG or COMPONENT=IMAGE_REF; repeat per component."),
]
VersionOpt = Annotated[
    str | None, typer.Option("--version", help="Release version; default: the images' shared tag.")
]
ConfigRepoOpt = Annotated[
    list[str] | None,
    typer.Option("--config-repo", help="OWNER/NAME=DIR: a local checkout of an environment's config repo."),
]
RefOpt = Annotated[
    str | None,
    typer.Option(
        "--ref",
        help="Branch, tag or commit of code_repo to read fluxgate.yaml and the templates at (from GitHub, "
        "like a stage); default for deploy: triggers.branch. Resolved to a commit once, at the start.",
    ),
]
ConfigRefOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--config-ref",
        help="OWNER/NAME=COMMIT: an environment's config repo at a commit (with --ref; default: its ref).",
    ),
]


def fail(error: FluxgateError) -> None:
    for line in error.lines():
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(error.exit_code)


def user_errors(func: F) -> F:
    """Turn FluxgateError into one line per problem and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FluxgateError as error:
            fail(error)

    return wrapper  # type: ignore[return-value]


def _config(path: Path | None) -> PipelineConfig:
    return load_config(path if path is not None else find_config())


def _checkouts(items: list[str] | None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for item in items or []:
        repo, sep, folder = item.partition("=")
        if not sep or not Path(folder).is_dir():
            raise UsageError(f"--config-repo {item!r}: expected OWNER/NAME=DIR with an existing DIR")
        out[repo] = Path(folder)
    return out


def _render(
    config: PipelineConfig, env: str, release: Release, config_repos: list[str] | None
) -> RenderResult:
    return render_environment(
        config, env, release, checkouts=_checkouts(config_repos), validator=make_validator(config)
    )


def _at_commit(
    local: PipelineConfig,
    env: str,
    ref: str,
    image: list[str] | None,
    version: str | None,
    config_ref: list[str] | None,
) -> tuple[PipelineConfig, Release, dict[str, Path]]:
    """The config, release and config checkouts of a render from GitHub at `ref`."""
    from fluxgate.cli.sources import source_gateway
    from fluxgate.stage import StageRequest, load_sources, pinned, resolve_source

    gw = source_gateway("fluxgate render --ref")
    source, cfg = resolve_source(gw, local, ref)
    cfg.environment(env)
    release = build_release(cfg, image or [], version).model_copy(update={"source": source})
    configs: dict[str, str] = {}
    for item in config_ref or []:
        repo, sep, commit = item.partition("=")
        if not sep or not repo or not commit:
            raise UsageError(f"--config-ref {item!r}: expected OWNER/NAME=COMMIT")
        configs[repo] = gw.source(repo, commit).commit
    request = pinned(gw, StageRequest.of(release, env, configs=configs))
    return cfg, release, load_sources(gw, request).checkouts


@app.command()
@user_errors
def render(
    env: EnvOpt,
    image: ImageOpt = None,
    version: VersionOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Manifests-repo folder to write <env>/...; default: print to stdout."
        ),
    ] = None,
    config: ConfigOpt = None,
    config_repo: ConfigRepoOpt = None,
    ref: RefOpt = None,
    config_ref: ConfigRefOpt = None,
) -> None:
    """Render one environment's manifests: one validated object per file.

    With --ref, from GitHub at that commit (and --config-ref commits) exactly as a stage renders it:
    `fluxgate status APP@VERSION` prints the command that repeats a deployed stage.
    """
    cfg = _config(config)
    if ref is not None:
        cfg, release, checkouts = _at_commit(cfg, env, ref, image, version, config_ref)
        result = render_environment(cfg, env, release, checkouts=checkouts, validator=make_validator(cfg))
    else:
        if config_ref:
            raise UsageError("--config-ref needs --ref: it pins a config repo for a render from GitHub")
        cfg.environment(env)
        release = build_release(cfg, image or [], version)
        result = _render(cfg, env, release, config_repo)
    files = result.files()
    if out is None:
        for path, text in files.items():
            sys.stdout.write(f"---\n# Source: {path}\n{text}")
    else:
        write_tree(out, files, result.folders())
    target = f" into {out / result.manifests.folder}" if out is not None else ""
    note = (
        f"; not schema-validated (no schema): {', '.join(result.unvalidated)}" if result.unvalidated else ""
    )
    typer.echo(
        f"rendered {len(result.manifests.objects)} objects of {release.name} for {env}{target}{note}",
        err=True,
    )


@app.command()
@user_errors
def diff(
    env: EnvOpt,
    against: Annotated[
        str,
        typer.Option("--against", "-a", help="A manifests-repo checkout (DIR) or a git ref in --repo."),
    ],
    repo: Annotated[
        Path, typer.Option("--repo", help="Manifests repository for a git ref in --against.")
    ] = Path("."),
    image: ImageOpt = None,
    version: VersionOpt = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="markdown (as in the PR body) or json.")
    ] = "markdown",
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when there are changes, like git diff.")
    ] = False,
    config: ConfigOpt = None,
    config_repo: ConfigRepoOpt = None,
) -> None:
    """Show what a release would change in an environment: resources and images.

    Components without --image keep the image they run now in --against.
    """
    if output_format not in ("markdown", "json"):
        raise UsageError(f"--format {output_format!r}: use markdown or json")
    cfg = _config(config)
    folder = cfg.environment(env).manifests_folder
    current = read_current(against, folder, repo)
    images = {**deployed_images(cfg, current), **dict(i.partition("=")[::2] for i in image or [] if "=" in i)}
    bad = [i for i in image or [] if "=" not in i]
    release = build_release(cfg, bad or images, version)
    result = _render(cfg, env, release, config_repo)
    summary = summarize(env, release.name, result.manifests.objects, current)
    if output_format == "json":
        typer.echo(summary.model_dump_json(indent=2))
    else:
        typer.echo(to_markdown(summary), nl=False)
    if exit_code and not summary.empty:
        raise typer.Exit(1)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"fluxgate {package_version('fluxgate')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Multistage GitOps delivery for Flux v2 and GitHub."""


def main() -> None:
    app()


__all__ = ["app", "main", "user_errors"]
