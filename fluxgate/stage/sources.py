"""What a stage renders, fetched by commit: `fluxgate.yaml` and the templates from the code repository
at the release's commit, and each config repository the environment reads at the commit pinned
when the stage was created.

Whoever creates a stage run pins first (`pin_request`): the CLI, the connector's triggers, the CI
flow, a promotion and a rollback all go through it, so a run's parameters already name every
commit it renders, and a retry renders the same bytes however the branches moved since. The flow
pins again only what a request made by hand left open.

Fetching goes through a `SourceFetcher` (the GitHub gateway: an authenticated shallow fetch into
its cache, served from the cache when the commit is already there), so this module needs neither
GitHub nor Prefect and is tested with a local git repository.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fluxgate.config import PipelineConfig, load_config
from fluxgate.errors import ConfigError, FluxgateError
from fluxgate.release import Release, Source
from fluxgate.render.digest import template_digest
from fluxgate.stage.naming import StageRequest

__all__ = [
    "FetchedTree",
    "SourceFetcher",
    "StageSources",
    "load_pipeline",
    "load_sources",
    "pin_request",
    "pinned",
    "repo_path",
    "resolve_source",
]


class FetchedTree(Protocol):
    commit: str
    root: Path


class SourceFetcher(Protocol):
    def source(self, repo: str, ref: str) -> FetchedTree:
        """The files of `repo` at `ref` (a full commit sha, a branch or a tag) on local disk."""
        ...


@dataclass(frozen=True)
class StageSources:
    """A stage's config (read from the code commit) and the folder of each pinned config repository."""

    config: PipelineConfig
    checkouts: dict[str, Path]


def _relabel(error: FluxgateError, root: Path, where: str) -> FluxgateError:
    """The same error, naming `repo@commit path` where it named the file in the cache folder."""
    message = error.message.replace(f"{root.resolve()}/", f"{where} ").replace(f"{root}/", f"{where} ")
    return type(error)(message)


def load_pipeline(fetcher: SourceFetcher, source: Source) -> PipelineConfig:
    """`fluxgate.yaml` as the code repository holds it at the source commit.

    Raises:
        GitHubNotFound / GitHubAuthError: no such commit, or the credentials cannot read the repo.
        ConfigError: no `fluxgate.yaml` at that path and commit, or it is invalid.
    """
    tree = fetcher.source(source.repo, source.commit)
    file = tree.root / source.path
    where = f"{source.repo}@{source.commit[:12]}"
    if not file.is_file():
        raise ConfigError(f"{where}: no {source.path} at this commit")
    try:
        return load_config(file).within(tree.root)
    except ConfigError as error:
        raise _relabel(error, tree.root, where) from None


def resolve_source(
    fetcher: SourceFetcher, config: PipelineConfig, ref: str | None, digest: str | None = None
) -> tuple[Source, PipelineConfig]:
    """`ref` of the app's code repository (a branch, tag or commit; default: `triggers.branch`),
    resolved to a commit once, and the config as that commit holds it.

    `config` is the local copy that says where to look (`code_repo`, and the file's place in its
    checkout); everything else is read at the commit.
    """
    if config.code_repo is None:
        raise ConfigError(
            f"{config.file.name}: code_repo is not set: stages render fluxgate.yaml and the templates "
            "at a commit of the code repository (e.g. code_repo: acme/shop)"
        )
    tree = fetcher.source(config.code_repo, ref or config.triggers.branch)
    source = Source(repo=config.code_repo, commit=tree.commit, path=repo_path(config.file), digest=digest)
    return source, load_pipeline(fetcher, source)


def _config_pins(fetcher: SourceFetcher, config: PipelineConfig, env_name: str) -> dict[str, str]:
    """The environment's config repository at its `ref` (default: the repository's default branch),
    resolved to a commit now."""
    source = config.environment(env_name).config
    if source is None or source.repo is None:
        return {}
    return {source.repo: fetcher.source(source.repo, source.ref or "HEAD").commit}


def pin_request(
    fetcher: SourceFetcher,
    release: Release,
    env: str,
    *,
    force: bool = False,
    rollback_from: str | None = None,
) -> StageRequest:
    """The stage request of `release` into `env`, every source pinned: the config is read at the
    release's commit (so the environment must exist there), the template digest is computed from
    it unless CI recorded one, and the environment's config repository is resolved to a commit."""
    assert release.source is not None, "a release to deliver names its source commit"
    config = load_pipeline(fetcher, release.source)
    config.environment(env)
    source = release.source
    if source.digest is None:
        source = source.model_copy(update={"digest": template_digest(config)})
    request = StageRequest.of(release.model_copy(update={"source": source}), env, force=force)
    request = request.model_copy(update={"configs": _config_pins(fetcher, config, env)})
    return request.model_copy(update={"rollback_from": rollback_from}) if rollback_from else request


def pinned(fetcher: SourceFetcher, request: StageRequest) -> StageRequest:
    """`request` with its environment's config repository pinned and its template digest computed,
    where it had none (a promotion pins the next environment's config; a run made by hand may have
    neither); a request that has both comes back as it is, without a fetch."""
    if request.configs and request.source.digest:
        return request
    config = load_pipeline(fetcher, request.source)
    configs = request.configs or _config_pins(fetcher, config, request.env)
    source = request.source
    if source.digest is None:
        source = source.model_copy(update={"digest": template_digest(config)})
    return request.model_copy(update={"configs": configs, "source": source})


def load_sources(fetcher: SourceFetcher, request: StageRequest) -> StageSources:
    """Everything the stage renders, from the cache (fetched once per commit and machine).

    Raises:
        ConfigError: the environment reads a config repository the request did not pin.
    """
    config = load_pipeline(fetcher, request.source)
    env = config.environment(request.env)
    wanted = env.config.repo if env.config is not None else None
    if wanted is not None and wanted not in request.configs:
        raise ConfigError(f"environment {env.name!r} reads config repo {wanted}: the stage pinned no commit")
    checkouts = {repo: fetcher.source(repo, commit).root for repo, commit in request.configs.items()}
    return StageSources(config=config, checkouts=checkouts)


def repo_path(config_file: Path) -> str:
    """Where `config_file` sits in its repository (`deploy/fluxgate.yaml`), read from the git work tree
    it is in; `fluxgate.yaml` (the repository's root) when it is in none."""
    try:
        prefix = subprocess.run(
            ["git", "-C", str(config_file.resolve().parent), "rev-parse", "--show-prefix"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return config_file.name
    return f"{prefix}{config_file.name}"
